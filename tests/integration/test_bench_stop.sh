#!/usr/bin/env bash
# bench/run stopped while its benchmark runs, with SIGTERM and with SIGINT to its process group
# (what Ctrl-C sends): the stack it started comes down (its PostgreSQL and Kafka gone, its folder
# removed), and so does every process of the benchmark (which starts `caseflow serve` and
# engines).  It runs the sanitizer build's binaries (BENCH_BUILD_DIR) on a stack of its own.
# Run by ctest through tests/stack-fixture.
set -euo pipefail
set -m # job control: a job of its own process group, which gets SIGINT as from a terminal
root=${CASEFLOW_SOURCE_DIR:?run through ctest}
build=$(dirname "${CASEFLOW_BIN:?run through ctest}")
failures=0
ok() { echo "ok:   $*"; }
bad() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# Whether process $1 has ended (a zombie not yet reaped by its parent counts), given 10 s.
gone() {
  for _ in $(seq 1 20); do
    kill -0 "$1" 2>/dev/null || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.5
  done
  return 1
}
# Whatever a failed check leaves running is stopped when this script ends.
run= stack=
cleanup() {
  [ -n "$run" ] && kill -TERM "$run" 2>/dev/null && wait "$run" 2>/dev/null
  [ -n "$stack" ] && [ -e "$stack" ] && "$root/scripts/stack" down "$stack" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT

for sig in TERM INT; do
  out=$(mktemp)
  BENCH_BUILD_DIR=$build "$root/bench/run" api 1000000 >"$out" 2>&1 &
  run=$!
  bench=
  for _ in $(seq 1 240); do
    bench=$(pgrep -P "$run" -f bench_api || true)
    [ -n "$bench" ] && break
    sleep 0.5
  done
  stack=$(sed -n 's/^bench\/run: the stack is in //p' "$out")
  if [ -z "$bench" ] || [ -z "$stack" ]; then
    bad "SIG$sig: the benchmark did not start"; cat "$out" >&2; kill -- "-$run" 2>/dev/null || true
    continue
  fi
  pg=$(head -1 "$stack/pg/postmaster.pid" 2>/dev/null || echo 0)
  kafka=$(cat "$stack/kafka.pid" 2>/dev/null || echo 0)
  sleep 3 # the benchmark at work: its server started, tasks being stored
  if [ "$sig" = INT ]; then kill -INT -- "-$run"; else kill -TERM "$run"; fi
  rc=0
  wait "$run" || rc=$?
  run=
  echo "bench/run after SIG$sig: exit $rc; its output:"; sed 's/^/  | /' "$out"
  [ "$rc" -ne 0 ] && ok "SIG$sig: exit status $rc" || bad "SIG$sig: exit status 0"
  grep -q 'bringing the stack down' "$out" && ok "SIG$sig: it says it brings the stack down" ||
    bad "SIG$sig: no word of bringing the stack down"
  [ ! -e "$stack" ] && ok "SIG$sig: $stack removed" || bad "SIG$sig: $stack is still there"
  gone "$pg" && ok "SIG$sig: its PostgreSQL ($pg) stopped" || bad "SIG$sig: its PostgreSQL ($pg) runs"
  gone "$kafka" && ok "SIG$sig: its Kafka ($kafka) stopped" || bad "SIG$sig: its Kafka ($kafka) runs"
  left=
  for p in $(pgrep -g "$bench" || true); do gone "$p" || left="$left $p"; done
  left=${left# }
  [ -z "$left" ] && ok "SIG$sig: no process of the benchmark left" ||
    bad "SIG$sig: the benchmark's processes still run: $(ps -o pid=,args= -p "${left// /,}")"
  rm -f "$out"
done
[ "$failures" = 0 ] && echo "bench/run leaves nothing behind when stopped" || exit 1
