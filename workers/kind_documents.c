/*
 * The notices of a newly assigned case (集约启动): `documents` makes the enforcement notice, the
 * order to report property with its declaration form and the risk notice as PDFs from the
 * templates of workflows/templates/, each party's documents a service item on the delivery route
 * of its address (workflows/routes/yanshi.yaml), and `service` (集约送达) serves the items of all
 * the cases on one route in one trip, with the delivery system's outcome per item.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/mask.h"
#include "base/path.h"
#include "core/caseno.h"
#include "core/workflow.h"
#include "workers/adapter.h"
#include "workers/docfields.h"
#include "workers/pdf.h"
#include "workers/delivery.h"
#include "workers/worker.h"

/* ---- documents ---- */

/* Loaded once by init and only read afterwards, so that handler threads share it. */
typedef struct documents {
    cf_template **templates;
    size_t ntemplates;
    json_t *post_titles;  /* post id: title, from the workflows */
    char *dir;            /* documents_dir, absolute */
    cf_delivery **routes; /* per court of cfg->courts (its routes, else service.routes): the
                             delivery route of each party's address */
    size_t nroutes;
} documents;

static void documents_fini(cf_worker_ctx *ctx)
{
    documents *d = ctx->state;
    if (!d)
        return;
    for (size_t i = 0; i < d->ntemplates; i++)
        cf_template_free(d->templates[i]);
    free(d->templates);
    json_decref(d->post_titles);
    for (size_t i = 0; i < d->nroutes; i++)
        cf_delivery_free(d->routes[i]);
    free(d->routes);
    free(d->dir);
    free(d);
    ctx->state = NULL;
}

/* Creates `path` and the folders above it that are missing.  Returns 0 or CF_EIO. */
static int make_dirs(char *path, char *err, size_t errsz)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int bad = mkdir(path, 0750) != 0 && errno != EEXIST;
        *p = c;
        if (bad)
            return cf_errf(err, errsz, CF_EIO, "cannot create %s: %s", path, strerror(errno));
        if (!c)
            return 0;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.yaml of the templates folder, in the order of their file names. */
static int load_templates(documents *d, const char *dirname, char *err, size_t errsz)
{
    DIR *dir = opendir(dirname);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;

    if (!dir)
        return cf_errf(err, errsz, CF_EIO, "%s: cannot open the templates' folder: %s", dirname,
                       strerror(errno));
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        char **more;
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0 || e->d_name[0] == '.')
            continue;
        if (!(more = realloc(names, (n + 1) * sizeof *names)) || !(more[n] = strdup(e->d_name))) {
            names = more ? more : names;
            rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            goto out;
        }
        names = more;
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, by_name);
    if (!(d->templates = calloc(n + 1, sizeof *d->templates))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        cf_template *t;
        if (snprintf(path, sizeof path, "%s/%s", dirname, names[i]) >= (int)sizeof path) {
            rc = cf_errf(err, errsz, CF_ERANGE, "%s/%s: the path is too long", dirname, names[i]);
            goto out;
        }
        if (!(t = cf_template_load(path, err, errsz))) {
            rc = CF_EINVAL;
            goto out;
        }
        d->templates[d->ntemplates++] = t;
        for (size_t k = 0; k + 1 < d->ntemplates; k++)
            if (strcmp(d->templates[k]->name, t->name) == 0) {
                rc = cf_errf(err, errsz, CF_EINVAL,
                             "%s: the document '%s' has a template already: %s", path, t->name,
                             d->templates[k]->path);
                goto out;
            }
    }
    if (d->ntemplates == 0)
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "%s: no templates (*.yaml)", dirname);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dir);
    return rc;
}

/*
 * The titles of the posts (team_3: 执行三团队), from the workflow definitions, to name the handler
 * on the documents.  A workflow that does not load leaves its posts known by their ids.
 */
static json_t *post_titles(const cf_config *cfg)
{
    json_t *titles = json_object();
    for (size_t i = 0; titles && i < cfg->nworkflows; i++) {
        cf_diags diags;
        cf_workflow *wf;
        cf_diags_init(&diags);
        wf = cf_workflow_load(cfg->workflows[i], &diags);
        if (!wf)
            cf_warn("documents: %s: %s; posts are named by their ids", cfg->workflows[i],
                    diags.count ? diags.lines[0] : "cannot load");
        for (size_t k = 0; wf && k < wf->nposts; k++)
            json_object_set_new(titles, wf->posts[k].id, json_string(wf->posts[k].title));
        cf_workflow_free(wf);
        cf_diags_free(&diags);
    }
    return titles;
}

static int documents_init(cf_worker_ctx *ctx, char *err, size_t errsz)
{
    documents *d = calloc(1, sizeof *d);
    char *dir = NULL, templates[PATH_MAX];
    int rc;

    if (!d)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    ctx->state = d;
    cf_path_find(ctx->cfg->doc_templates, templates, sizeof templates);
    if ((rc = load_templates(d, templates, err, errsz)))
        goto fail;
    if (!(dir = strdup(ctx->cfg->documents_dir)) || !*dir) {
        rc = cf_errf(err, errsz, dir ? CF_EINVAL : CF_ENOMEM, "documents_dir is not set");
        goto fail;
    }
    if ((rc = make_dirs(dir, err, errsz)))
        goto fail;
    /* Results name the files by absolute paths: the engine and staff need not know the worker's
     * current folder. */
    if (!(d->dir = realpath(dir, NULL))) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(d->routes = calloc(ctx->cfg->ncourts + 1, sizeof *d->routes))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < ctx->cfg->ncourts || i == 0; i++, d->nroutes++) {
        const char *file = i < ctx->cfg->ncourts && ctx->cfg->courts[i].routes
                               ? ctx->cfg->courts[i].routes
                               : ctx->cfg->service_routes;
        char routes[sizeof templates];
        cf_path_find(file, routes, sizeof routes);
        if ((rc = cf_delivery_load(routes, &d->routes[i], err, errsz)))
            goto fail;
    }
    if (!(d->post_titles = post_titles(ctx->cfg))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto fail;
    }
    if (!*ctx->cfg->doc_account_number || !*ctx->cfg->doc_account_bank || !*ctx->cfg->doc_phone)
        cf_warn("documents: document.account_number, document.account_bank or document.phone is "
                "not set: the notices will say 未配置 there");
    cf_info("documents: %zu templates from %s, files under %s", d->ntemplates, templates, d->dir);
    free(dir);
    return 0;
fail:
    free(dir);
    documents_fini(ctx);
    return rc;
}

/*
 * Writes a name that is safe as one path component: "(2026)豫0381执1234号" becomes
 * "2026-豫0381执1234号".  Returns 0, or CF_EINVAL for a name that leaves nothing usable.
 */
static int file_safe(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (const char *s = in; *s && o + 4 < n;) {
        if (*s == '(' || strncmp(s, "（", 3) == 0) {
            s += *s == '(' ? 1 : 3;
        } else if (*s == ')' || strncmp(s, "）", 3) == 0) {
            if (o > 0)
                out[o++] = '-';
            s += *s == ')' ? 1 : 3;
        } else if ((unsigned char)*s < 0x20 || strchr("/\\:*?\"<>| ", *s)) {
            out[o++] = '_';
            s++;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return o == 0 || out[0] == '.' ? CF_EINVAL : 0;
}

static const cf_template *find_template(const documents *d, const char *name)
{
    for (size_t i = 0; i < d->ntemplates; i++)
        if (strcmp(d->templates[i]->name, name) == 0)
            return d->templates[i];
    return NULL;
}

/*
 * The service items of the documents made: for each party of `role` ("applicants" or
 * "respondents") the documents served on that role, and the delivery route of the party's
 * address.  Each becomes a service task of its own with its own outcome; the party is named by
 * its role and place ("respondent_2"), never by its name, which is personal.
 */
static void add_items(const documents *d, const cf_delivery *routes, const json_t *data,
                      const json_t *wanted, const char *role, json_t *items)
{
    json_t *docs = json_array(), *v, *p;
    size_t i;

    json_array_foreach (wanted, i, v) {
        const cf_template *tpl = find_template(d, json_string_value(v));
        if (tpl && strcmp(tpl->served_on, role) == 0)
            json_array_append(docs, v);
    }
    json_array_foreach (json_array_size(docs) ? json_object_get(data, role) : NULL, i, p) {
        char party[64];
        snprintf(party, sizeof party, "%.*s_%zu", (int)strlen(role) - 1, role, i + 1);
        json_array_append_new(
            items,
            json_pack("{s:s, s:s, s:I, s:O, s:s}", "party", party, "role", role, "index",
                      (json_int_t)i, "documents", docs, "route",
                      cf_delivery_route(routes, json_string_value(json_object_get(p, "address")))));
    }
    json_decref(docs);
}

/* The delivery routes of the court of case `case_no` (its own, else service.routes). */
static const cf_delivery *routes_of(const cf_config *cfg, const documents *d, const char *case_no,
                                    const json_t *data)
{
    char code[32];
    const char *c = cf_caseno_court(case_no, json_string_value(json_object_get(data, "court")),
                                    code, sizeof code);
    for (size_t i = 0; c && i < d->nroutes && i < cfg->ncourts; i++)
        if (strcmp(cfg->courts[i].code, c) == 0)
            return d->routes[i];
    return d->routes[0];
}

static json_t *service_items(const cf_config *cfg, const documents *d, const char *case_no,
                             const json_t *data, const json_t *wanted)
{
    const cf_delivery *routes = routes_of(cfg, d, case_no, data);
    json_t *items = json_array();
    add_items(d, routes, data, wanted, "applicants", items);
    add_items(d, routes, data, wanted, "respondents", items);
    return items;
}

static int documents_handle(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                            size_t errsz)
{
    const documents *d = ctx->state;
    const json_t *wanted = json_object_get(t->params, "documents"), *v;
    json_t *fields = NULL, *made = NULL;
    char safe[512], dir[PATH_MAX], now[64];
    cf_caseno cn;
    size_t i;
    int rc, year;

    if (!json_is_array(wanted) || json_array_size(wanted) == 0)
        return cf_errf(err, errsz, CF_EINVAL, "params.documents must list the documents to make");
    json_array_foreach (wanted, i, v)
        if (!json_is_string(v) || !find_template(d, json_string_value(v)))
            return cf_errf(err, errsz, CF_ENOTFOUND, "no template for the document '%s' in %s",
                           json_is_string(v) ? json_string_value(v) : "(not a text)",
                           ctx->cfg->doc_templates);
    if (cf_caseno_parse(t->case_no, &cn, err, errsz) != 0 ||
        file_safe(t->case_no, safe, sizeof safe) != 0)
        return cf_errf(err, errsz, CF_EINVAL, "the case number cannot name a folder");
    year = cn.year;
    snprintf(dir, sizeof dir, "%s/%d/%s", d->dir, year, safe);
    if ((rc = make_dirs(dir, err, errsz)))
        return rc;
    if ((rc = cf_docfields_build(ctx->cfg, t->case_no, t->data, t->params, d->post_titles, &fields,
                                 err, errsz)))
        return rc;
    if (!(made = json_array())) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach (wanted, i, v) {
        const cf_template *tpl = find_template(d, json_string_value(v));
        char file[PATH_MAX + 600], name[512];
        cf_pdf_info info;
        if ((rc = file_safe(tpl->name, name, sizeof name))) {
            cf_errf(err, errsz, rc, "%s: the name '%s' cannot name a file", tpl->path, tpl->name);
            goto out;
        }
        snprintf(file, sizeof file, "%s/%s.pdf", dir, name);
        /* The date in the PDF is the document's date, never the clock's: a redone task writes
         * the same bytes. */
        if ((rc = cf_pdf_render(tpl, fields, json_string_value(json_object_get(fields, "date_iso")),
                                file, &info, err, errsz)))
            goto out;
        json_array_append_new(made, json_pack("{s:s, s:s, s:s, s:i}", "name", tpl->name, "file",
                                              file, "sha256", info.sha256, "pages", info.pages));
    }
    *result = json_pack("{s:O, s:o, s:s}", "documents", made, "service",
                        service_items(ctx->cfg, d, t->case_no, t->data, wanted), "made_at",
                        cf_worker_now(now, sizeof now));
    if (!*result)
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    else
        cf_case_info(t->case_no, "made %zu documents in %s", json_array_size(made), dir);
out:
    json_decref(made);
    json_decref(fields);
    return rc;
}

const cf_worker_kind cf_kind_documents = {
    .name = "documents",
    .init = documents_init,
    .handle = documents_handle,
    .fini = documents_fini,
};

/* ---- service ---- */

/*
 * The recipients of a service item, as the outside delivery system needs them: the parties of
 * the item's role (all of them, or the one at `index`), with names and addresses.  Personal data:
 * it goes in the request and nowhere else.
 */
static json_t *recipients(const cf_task *t, int masked)
{
    const char *role = json_string_value(json_object_get(t->params, "role"));
    const json_t *index = json_object_get(t->params, "index"), *p;
    json_t *out = json_array();
    size_t i;

    json_array_foreach (json_object_get(t->data, role ? role : "respondents"), i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        char buf[256];
        if (json_is_integer(index) && (json_int_t)i != json_integer_value(index))
            continue;
        if (masked)
            json_array_append_new(out, json_string(cf_mask_name(name, buf, sizeof buf)));
        else
            json_array_append_new(out, json_pack("{s:s?, s:O?}", "name", name, "address",
                                                 json_object_get(p, "address")));
    }
    return out;
}

/* The item of a task: its party ("respondent_1"), or "all" for a task of the old shape that
 * serves every respondent at once (a result of notices_manual). */
static const char *item_of(const cf_task *t)
{
    const char *party = json_string_value(json_object_get(t->params, "party"));
    return party ? party : "all";
}

/* The answer of the outside system for one item of the trip, or NULL. */
static const json_t *answer_for(const json_t *resp, const cf_task *t)
{
    const json_t *a;
    size_t k;
    json_array_foreach (json_object_get(resp, "results"), k, a) {
        const char *c = json_string_value(json_object_get(a, "case"));
        const char *item = json_string_value(json_object_get(a, "item"));
        if (c && strcmp(c, t->case_no) == 0 && item && strcmp(item, item_of(t)) == 0)
            return a;
    }
    return NULL;
}

/*
 * The result of one item from its answer: served (with the method: 直接送达, 邮寄送达, 电子送达
 * ...) or unreachable (the party cannot be found at the address: the workflow serves a
 * respondent by announcement).  An answer without one of these outcomes is the outside system's
 * mistake, never something to guess: CF_EPARSE, a lasting failure that becomes an incident.
 */
static int item_result(const cf_task *t, const json_t *a, const char *route, const char *now,
                       json_t **result, char *err, size_t errsz)
{
    const char *outcome = json_string_value(json_object_get(a, "outcome"));
    const char *method = json_string_value(json_object_get(a, "method"));

    if (!outcome || (strcmp(outcome, "served") != 0 && strcmp(outcome, "unreachable") != 0))
        return cf_errf(err, errsz, CF_EPARSE,
                       "the delivery system answered for %s %s (route %s) without an outcome: "
                       "'outcome' must be served or unreachable, not %s",
                       t->case_no, item_of(t), route, outcome ? outcome : "missing");
    if (strcmp(outcome, "served") == 0 && !method)
        return cf_errf(err, errsz, CF_EPARSE,
                       "the delivery system answered served for %s %s (route %s) without the "
                       "'method' of service",
                       t->case_no, item_of(t), route);
    *result = json_pack("{s:s, s:s?, s:s, s:s, s:O?, s:s, s:O?, s:o, s:O?}", "outcome", outcome,
                        "method", method, "answered_at", now, "party", item_of(t), "role",
                        json_object_get(t->params, "role"), "route", route, "documents",
                        json_object_get(t->params, "documents"), "recipient", recipients(t, 1),
                        "reason", json_object_get(a, "reason"));
    return *result ? 0 : cf_errf(err, errsz, CF_ENOMEM, "out of memory");
}

/*
 * One trip on one delivery route with the service items of all its cases: a party's documents,
 * for each.  The request names each item's documents and its recipients' names and addresses (a
 * real delivery service needs them; personal data, so never logged).  The delivery system
 * answers per item (case and item) with its outcome; the simulator draws one (workers/adapter.c),
 * the HTTP adapter asks the court's delivery platform.
 */
static int service_batch(cf_worker_ctx *ctx, const cf_task *tasks, size_t n, json_t **results,
                         int *codes, char (*errs)[256])
{
    const char *route = json_string_value(json_object_get(tasks[0].params, "route"));
    json_t *resp = NULL, *cases = json_array(), *req;
    char now[64], trip[256];
    size_t nserved = 0;
    int rc;

    if (!route)
        route = "";
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cases,
                              json_pack("{s:s, s:s, s:s, s:O?, s:o}", "case", tasks[i].case_no,
                                        "item", item_of(&tasks[i]), "category", "service",
                                        "documents", json_object_get(tasks[i].params, "documents"),
                                        "recipients", recipients(&tasks[i], 0)));
    snprintf(trip, sizeof trip, "%s:%s:%zu", route, tasks[0].task_id, n);
    req = json_pack("{s:s, s:s, s:s, s:i, s:o}", "route", route, "trip", trip, "case",
                    tasks[0].case_no, "attempt", tasks[0].attempt, "cases", cases);
    if (!req)
        return cf_errf(errs[0], 256, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(ctx->adapter, "serve", req, &resp, errs[0], 256);
    json_decref(req);
    if (rc)
        return rc;
    cf_worker_now(now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = answer_for(resp, &tasks[i]);
        if (!a) {
            /* The trip said nothing about this item: worth trying again with the next trip. */
            codes[i] = cf_errf(errs[i], 256, CF_EIO,
                               "the service on route %s gave no answer for "
                               "%s",
                               route, item_of(&tasks[i]));
            continue;
        }
        codes[i] = item_result(&tasks[i], a, route, now, &results[i], errs[i], 256);
        nserved += codes[i] == 0 &&
                   strcmp(json_string_value(json_object_get(results[i], "outcome")), "served") == 0;
    }
    cf_info("service on route %s: %zu of %zu items served in one trip", route, nserved, n);
    json_decref(resp);
    return 0;
}
/* A service task that comes alone is a trip with one case. */
static int service_one(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                       size_t errsz)
{
    char errs[1][256] = {""};
    int code = 0;
    int rc = service_batch(ctx, t, 1, result, &code, errs);

    if (rc == 0)
        rc = code;
    if (rc)
        cf_errf(err, errsz, rc, "%s", errs[0]);
    return rc;
}

const cf_worker_kind cf_kind_service = {
    .name = "service",
    .handle = service_one,
    .handle_batch = service_batch,
};
