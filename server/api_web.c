/*
 * The routes the web workplace needs beyond the queue and case routes: a task's completion form,
 * a case's documents and their download, and the administrator's accounts (list, add, disable,
 * enable, new password).  The queue's event stream is stream.c's.
 *
 * A document is downloaded by its place in the case's list: the file's path comes from what the
 * documents worker recorded in the database, never from the request, and is served only when it
 * lies inside documents_dir and its bytes still have the SHA-256 the worker recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "core/caseno.h"
#include "engine/cases.h"
#include "engine/taskform.h"
#include "internal.h"

/* The largest document served. */
#define MAX_DOCUMENT (64 * 1024 * 1024)

void cf_h_task_form(cf_srv *s, cf_req *r)
{
    char err[512] = "";
    int rc = 0;
    PGconn *db = cf_req_db(s, r);
    json_t *v;

    if (!db)
        return;
    v = cf_task_form(db, s->reg, r->params[0], cf_req_reach(r), &rc, err, sizeof err);
    if (!v)
        cf_reply_error(r, rc ? rc : CF_ENOMEM, err);
    else
        cf_reply_json(r, 200, v);
}

void cf_h_case_documents(cf_srv *s, cf_req *r)
{
    char err[512] = "";
    int rc = 0;
    PGconn *db = cf_req_db(s, r);
    json_t *v;

    if (!db)
        return;
    v = cf_case_documents(db, cf_req_case(r), cf_req_reach(r), &rc, err, sizeof err);
    if (!v)
        cf_reply_error(r, rc ? rc : CF_ENOMEM, err);
    else
        cf_reply_json(r, 200, json_pack("{s:s, s:o}", "case", r->params[0], "documents", v));
}

/* Reads the file at `path` (at most MAX_DOCUMENT bytes) into a new buffer; NULL when it cannot. */
static char *read_whole(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_DOCUMENT &&
        (buf = malloc((size_t)st.st_size + 1))) {
        if ((got = cf_read_full(fd, buf, (size_t)st.st_size)) != (size_t)st.st_size) {
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    *len = got;
    return buf;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* "filename*=UTF-8''" with the name percent-encoded (RFC 6266, RFC 8187). */
static void disposition(char *out, size_t n, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = (size_t)snprintf(out, n, "inline; filename=\"document.pdf\"; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 4 < n; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.') {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    if (k + 5 < n)
        memcpy(out + k, ".pdf", 5);
    else
        out[k] = '\0';
}

void cf_h_case_document(cf_srv *s, cf_req *r)
{
    char err[512] = "", real[PATH_MAX], sum[65];
    const char *case_no = cf_req_case(r);
    cf_document d;
    char *end, *buf;
    size_t len = 0, root = strlen(s->docs);
    long index = strtol(r->params[1], &end, 10);
    int rc;

    if (*end || end == r->params[1] || index < 0 || index > 100000) {
        cf_reply_problem(r, 404, "not-found", "a document is named by its number in the list",
                         NULL);
        return;
    }
    if (!cf_req_db(s, r))
        return;
    if ((rc = cf_case_document(r->db, case_no, cf_req_reach(r), (int)index, &d, err, sizeof err)) !=
        0) {
        cf_reply_error(r, rc, err);
        return;
    }
    /* The recorded path must lead into the documents folder, links resolved. */
    if (!root || !realpath(d.path, real) || strncmp(real, s->docs, root) != 0 ||
        real[root] != '/') {
        cf_warn("case %s: document %ld is not in documents_dir", case_no, index);
        cf_reply_problem(r, 404, "document-missing",
                         "the document's file is not in this server's documents folder", NULL);
        return;
    }
    if (!(buf = read_whole(real, &len))) {
        cf_reply_problem(r, 404, "document-missing", "the document's file cannot be read", NULL);
        return;
    }
    sha256_hex(buf, len, sum);
    if (d.sha256[0] && strcmp(sum, d.sha256) != 0) {
        free(buf);
        cf_warn("case %s: document %ld no longer has the SHA-256 the worker recorded", case_no,
                index);
        cf_reply_problem(r, 409, "document-changed",
                         "the file changed since the documents worker made it", NULL);
        return;
    }
    disposition(r->disposition, sizeof r->disposition, d.name);
    r->cache = "private, no-store";
    cf_reply_text(r, 200, "application/pdf", buf, len);
}

/* ---- accounts (admin) ----------------------------------------------------------------------- */

void cf_h_accounts(cf_srv *s, cf_req *r)
{
    char err[512];
    json_t *v;

    if (!cf_req_db(s, r))
        return;
    if (!(v = cf_account_list(r->db, err, sizeof err)))
        cf_reply_error(r, CF_EDB, err);
    else
        cf_reply_json(r, 200, json_pack("{s:o}", "accounts", v));
}

/* Answers 422 naming `field` for rc CF_EINVAL, 409 for CF_EDUP, 404 and others as usual. */
static void account_refused(cf_req *r, int rc, const char *err, const char *field)
{
    if (rc == CF_EINVAL)
        cf_reply_problem(r, 422, "invalid-field", err, json_pack("{s:s}", "field", field));
    else if (rc == CF_EDUP)
        cf_reply_problem(r, 409, "account-exists", err, json_pack("{s:s}", "field", "/name"));
    else
        cf_reply_error(r, rc, err);
}

void cf_h_account_add(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r);
    const char *name, *role_text, *post, *password, *court;
    char err[512];
    cf_role role;
    int rc;

    if (!body)
        return;
    name = json_string_value(json_object_get(body, "name"));
    role_text = json_string_value(json_object_get(body, "role"));
    post = json_string_value(json_object_get(body, "post"));
    password = json_string_value(json_object_get(body, "password"));
    court = json_string_value(json_object_get(body, "court"));
    if (post && !*post)
        post = NULL;
    if (!name || cf_account_check_name(name, err, sizeof err) != 0) {
        account_refused(r, CF_EINVAL, name ? err : "name is required (a string)", "/name");
    } else if (!role_text || cf_role_parse(role_text, &role) != 0 || role == CF_ROLE_INGEST) {
        /* Service accounts get tokens on the database host (caseflow tokens add), once. */
        account_refused(r, CF_EINVAL, "role is staff, lead, auditor or admin", "/role");
    } else if ((role == CF_ROLE_STAFF) != (post != NULL)) {
        account_refused(r, CF_EINVAL, "staff need a post; the other roles have none", "/post");
    } else if (post && !cf_post_known(s->reg, post)) {
        account_refused(r, CF_EINVAL, "no workflow declares this post", "/post");
    } else if (court && !cf_config_court(s->cfg, court)) {
        account_refused(r, CF_EINVAL, "this installation does not serve that court", "/court");
    } else if (!password || cf_account_check_password(password, err, sizeof err) != 0) {
        account_refused(r, CF_EINVAL, password ? err : "password is required (a string)",
                        "/password");
    } else if (cf_req_db(s, r)) {
        rc = cf_account_add(r->db, name, role, post, court, password, err, sizeof err);
        if (rc == 0) {
            cf_info("account %s (%s) added by %s", name, role_text, r->who.name);
            cf_reply_json(r, 201,
                          json_pack("{s:{s:s, s:s, s:s?, s:s?, s:b}}", "account", "name", name,
                                    "role", role_text, "post", post, "court", court, "disabled",
                                    0));
        } else {
            account_refused(r, rc, err, "/name");
        }
    }
    json_decref(body);
}

static void set_disabled(cf_srv *s, cf_req *r, int disable)
{
    const char *name = r->params[0];
    char err[512];
    cf_account a;
    int rc;

    if (!cf_req_db(s, r))
        return;
    if (disable && strcmp(name, r->who.name) == 0) {
        cf_reply_problem(r, 409, "own-account",
                         "an administrator cannot disable their own account here", NULL);
        return;
    }
    /* Service accounts are the database host's (caseflow tokens). */
    rc = cf_account_get(r->db, name, &a, err, sizeof err);
    if (rc == 0 && a.role == CF_ROLE_INGEST)
        rc = cf_errf(err, sizeof err, CF_ENOTFOUND, "there is no account %s", name);
    if (rc == 0)
        rc = cf_account_disable(r->db, name, disable, err, sizeof err);
    if (rc != 0) {
        cf_reply_error(r, rc, err);
        return;
    }
    cf_info("account %s %s by %s", name, disable ? "disabled" : "enabled", r->who.name);
    cf_reply_json(r, 200, json_pack("{s:s, s:b}", "name", name, "disabled", disable));
}

void cf_h_account_disable(cf_srv *s, cf_req *r)
{
    set_disabled(s, r, 1);
}

void cf_h_account_enable(cf_srv *s, cf_req *r)
{
    set_disabled(s, r, 0);
}

void cf_h_account_password(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r);
    const char *password;
    char err[512];
    cf_account a;
    int rc;

    if (!body)
        return;
    password = json_string_value(json_object_get(body, "password"));
    if (!password || cf_account_check_password(password, err, sizeof err) != 0) {
        account_refused(r, CF_EINVAL, password ? err : "password is required (a string)",
                        "/password");
    } else if (cf_req_db(s, r)) {
        rc = cf_account_get(r->db, r->params[0], &a, err, sizeof err);
        if (rc == 0 && a.role == CF_ROLE_INGEST)
            rc = cf_errf(err, sizeof err, CF_ENOTFOUND, "there is no account %s", r->params[0]);
        if (rc == 0)
            rc = cf_account_passwd(r->db, r->params[0], password, err, sizeof err);
        if (rc == 0) {
            cf_info("account %s: new password set by %s", r->params[0], r->who.name);
            cf_reply_json(r, 200,
                          json_pack("{s:s, s:b}", "name", r->params[0], "sessions_ended", 1));
        } else {
            account_refused(r, rc, err, "/password");
        }
    }
    json_decref(body);
}

/* ---- the workflows, for drawing and naming ------------------------------------------------- */

/* Adds the edge from -> to to `edges` unless it is there. */
static void add_edge(json_t *edges, const char *from, const char *to)
{
    json_t *e;
    size_t i;
    json_array_foreach (edges, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "from")), from) == 0 &&
            strcmp(json_string_value(json_object_get(e, "to")), to) == 0)
            return;
    }
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", from, "to", to));
}

static json_t *workflow_json(const cf_workflow *wf)
{
    json_t *states = json_array(), *edges = json_array(), *posts = json_array();

    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *st = &wf->states[i];
        json_array_append_new(states,
                              json_pack("{s:s, s:s, s:b}", "name", st->name, "title",
                                        st->title ? st->title : st->name, "final", st->final));
        for (size_t t = 0; t < st->non; t++)
            if (st->on[t].to_index >= 0 && st->on[t].to_index != (int)i)
                add_edge(edges, st->name, wf->states[st->on[t].to_index].name);
    }
    /* Transitions of any state: drawn from "*". */
    for (size_t t = 0; t < wf->nany; t++)
        if (wf->any[t].to_index >= 0)
            add_edge(edges, "*", wf->states[wf->any[t].to_index].name);
    for (size_t p = 0; p < wf->nposts; p++)
        json_array_append_new(posts,
                              json_pack("{s:s, s:s}", "id", wf->posts[p].id, "title",
                                        wf->posts[p].title ? wf->posts[p].title : wf->posts[p].id));
    return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o, s:o}", "name", wf->name, "version",
                     wf->version, "title", wf->title ? wf->title : wf->name, "initial",
                     wf->initial >= 0 ? wf->states[wf->initial].name : "", "states", states,
                     "edges", edges, "posts", posts);
}

void cf_h_workflows(cf_srv *s, cf_req *r)
{
    json_t *list = json_array();

    for (size_t w = 0; list && w < s->reg->n; w++)
        json_array_append_new(list, workflow_json(s->reg->wf[w]));
    cf_reply_json(r, 200, json_pack("{s:o}", "workflows", list));
}
