#!/usr/bin/env bash
# The stack's PostgreSQL asks every client for its password, and the stack's secrets, data and
# socket are its owner's alone: DIR/env (the passwords) is 0600, the Kafka data and the
# PostgreSQL socket folder are closed to group and others; a connection without the password,
# or with a wrong one, is refused on 127.0.0.1 and on the unix socket.
# Run by ctest through tests/stack-fixture (CASEFLOW_STACK_DIR and DIR/env's variables set).
set -euo pipefail
dir=${CASEFLOW_STACK_DIR:?run through ctest: tests/stack-fixture sets CASEFLOW_STACK_DIR}
failures=0
ok() { echo "ok:   $*"; }
bad() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Octal mode of PATH (following links: the PostgreSQL files may live in /tmp, linked).
mode() { stat -L -c %a "$1"; }
closed_to() { # PATH MASK: no bit of MASK (octal) is set in PATH's mode
  local m
  m=$(mode "$1")
  if (((8#$m & 8#$2) == 0)); then ok "$1 is $m"; else bad "$1 is $m (no bit of $2 may be set)"; fi
}

[ "$(mode "$dir/env")" = 600 ] && ok "$dir/env is 600" || bad "$dir/env is $(mode "$dir/env"), not 600"
closed_to "$dir/kafka" 077
closed_to "$dir/kafka/data" 077
closed_to "$dir/run" 077
closed_to "$dir/pg" 077
grep -q '^CASEFLOW_PG=postgresql://caseflow_engine:[0-9a-f]\{32\}@' "$dir/env" &&
  ok "DIR/env carries the engine's password" || bad "DIR/env has no engine's password"
grep -q '^CASEFLOW_PG_OWNER=postgresql://caseflow_owner:[0-9a-f]\{32\}@' "$dir/env" &&
  ok "DIR/env carries the owner's password" || bad "DIR/env has no owner's password"
if grep -qw trust "$(readlink -f "$dir/pg")/pg_hba.conf" 2>/dev/null; then
  bad "pg_hba.conf still trusts someone"
fi

psql=$(command -v psql)
port=$(sed -n 's|^CASEFLOW_PG=postgresql://[^@]*@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$dir/env")
[ -n "$port" ] || { bad "no port in $dir/env"; exit 1; }
# No password from anywhere but what each attempt says: no ~/.pgpass, no PGPASSWORD, no prompt.
export PGPASSFILE=$dir/no-such-pgpass PGCONNECT_TIMEOUT=10
unset PGPASSWORD

refused() { # WHAT CONNINFO...: the connection must fail for want of a (right) password
  local what=$1 out
  shift
  if out=$("$psql" -X -w -At "$@" -c 'select 1' 2>&1); then
    bad "$what: connected (${out})"
  elif grep -Eq 'no password supplied|password authentication failed' <<<"$out"; then
    ok "$what: refused ($(head -n 1 <<<"$out" | sed 's/.*FATAL: *//'))"
  else
    bad "$what: failed, but not for the password: $out"
  fi
}

refused "TCP, engine's role, no password" "postgresql://caseflow_engine@127.0.0.1:$port/caseflow"
refused "TCP, owner, no password" "postgresql://caseflow_owner@127.0.0.1:$port/caseflow"
refused "TCP, superuser, no password" "$(sed -n 's|^CASEFLOW_PG_ADMIN=postgresql://\([^:]*\):.*|postgresql://\1|p' "$dir/env")@127.0.0.1:$port/postgres"
refused "TCP, engine's role, wrong password" "postgresql://caseflow_engine:wrong@127.0.0.1:$port/caseflow"
if [ -S "$dir/run/.s.PGSQL.$port" ]; then
  refused "socket, engine's role, no password" -h "$dir/run" -p "$port" -U caseflow_engine -d caseflow
  refused "socket, superuser, no password" -h "$dir/run" -p "$port" \
    -U "$(sed -n 's|^CASEFLOW_PG_ADMIN=postgresql://\([^:]*\):.*|\1|p' "$dir/env")" -d postgres
  # Another user of the machine does not even reach the socket.
  if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    if out=$(runuser -u nobody -- "$psql" -X -w -h "$dir/run" -p "$port" -U caseflow_engine \
      -d caseflow -c 'select 1' 2>&1); then
      bad "nobody connected through the socket"
    elif grep -qi 'permission denied' <<<"$out"; then
      ok "nobody cannot reach the socket (permission denied)"
    else
      bad "nobody: failed, but not for permissions: $out"
    fi
  fi
else
  echo "note: no unix socket in $dir/run (path too long?), socket checks skipped"
fi

# With the password from DIR/env, each role gets in.
for var in CASEFLOW_PG CASEFLOW_PG_OWNER CASEFLOW_PG_ADMIN; do
  if out=$("$psql" -X -w -At "${!var}" -c 'select current_user' 2>&1); then
    ok "$var connects as $out"
  else
    bad "$var does not connect: $out"
  fi
done

if ((failures)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
