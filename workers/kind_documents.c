/*
 * The notices of a newly assigned case (集约启动): `documents` makes the enforcement notice, the
 * order to report property with its declaration form and the risk notice as PDFs from the
 * templates of workflows/templates/, and `service` (集约送达) serves the documents of all the
 * cases on one delivery route in one trip, with a delivery result per case.
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
#include "workers/worker.h"

/* ---- documents ---- */

/* Loaded once by init and only read afterwards, so that handler threads share it. */
typedef struct documents {
    cf_template **templates;
    size_t ntemplates;
    json_t *post_titles; /* post id: title, from the workflows */
    char *dir;           /* documents_dir, absolute */
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
    *result = json_pack("{s:O, s:s}", "documents", made, "made_at", cf_worker_now(now, sizeof now));
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
 * How the simulated trip went for one case.  The route's clerk serves directly (直接送达) the
 * parties found at home; for the others the documents go by post (邮寄送达), and about one in five
 * of those comes back unserved (a wrong or empty address): overall a few percent, which the
 * workflow hands to the handler as an incident.  A party who agreed to electronic service
 * (电子送达, drawn for one in five cases) is served that way.
 */
static void simulate(unsigned long long seed, const char *case_no, int found, int *served,
                     const char **method)
{
    if (cf_adapter_draw(seed, case_no, "service", "electronic", 0) < 0.2) {
        *served = 1;
        *method = "电子送达";
    } else if (found) {
        *served = 1;
        *method = "直接送达";
    } else {
        *served = cf_adapter_draw(seed, case_no, "service", "returned", 0) >= 0.2;
        *method = "邮寄送达";
    }
}

/* The recipients (the respondents) masked: a delivery result is read by every post. */
static json_t *recipients(const json_t *data)
{
    json_t *out = json_array(), *p;
    size_t i;
    json_array_foreach (json_object_get(data, "respondents"), i, p) {
        char masked[256];
        json_array_append_new(
            out, json_string(cf_mask_name(json_string_value(json_object_get(p, "name")), masked,
                                          sizeof masked)));
    }
    return out;
}

/* The answer of the outside system for one case of the trip, or NULL. */
static const json_t *answer_for(const json_t *resp, const char *case_no)
{
    const json_t *a;
    size_t k;
    json_array_foreach (json_object_get(resp, "results"), k, a) {
        const char *c = json_string_value(json_object_get(a, "case"));
        if (c && strcmp(c, case_no) == 0)
            return a;
    }
    return NULL;
}

/*
 * One trip on one delivery route with the documents of all its cases.  The request names each
 * case's documents and its recipients' names and addresses (a real delivery service needs them;
 * personal data, so never logged).  An HTTP endpoint may answer per case "served" and "method";
 * the simulator's "found" says whether the party was met at home.
 */
static int service_batch(cf_worker_ctx *ctx, const cf_task *tasks, size_t n, json_t **results,
                         int *codes, char (*errs)[256])
{
    const char *route = json_string_value(json_object_get(tasks[0].params, "route"));
    json_t *resp = NULL;
    char now[64];
    size_t nserved = 0;
    int rc;

    if (ctx->adapter) {
        json_t *cases = json_array(), *req;
        for (size_t i = 0; i < n; i++) {
            json_t *to = json_array(), *p;
            size_t k;
            json_array_foreach (json_object_get(tasks[i].data, "respondents"), k, p)
                json_array_append_new(to,
                                      json_pack("{s:O?, s:O?}", "name", json_object_get(p, "name"),
                                                "address", json_object_get(p, "address")));
            json_array_append_new(
                cases, json_pack("{s:s, s:s, s:O?, s:o}", "case", tasks[i].case_no, "category",
                                 "service", "documents",
                                 json_object_get(tasks[i].params, "documents"), "recipients", to));
        }
        req = json_pack("{s:s, s:s, s:i, s:o}", "route", route ? route : "", "case",
                        tasks[0].case_no, "attempt", tasks[0].attempt, "cases", cases);
        if (!req)
            return cf_errf(errs[0], 256, CF_ENOMEM, "out of memory");
        rc = cf_adapter_call(ctx->adapter, "serve", req, &resp, errs[0], 256);
        json_decref(req);
        if (rc)
            return rc;
    }
    cf_worker_now(now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = resp ? answer_for(resp, tasks[i].case_no) : NULL;
        const char *method = NULL;
        int served;
        if (resp && !a) {
            /* The trip said nothing about this case: worth trying again with the next trip. */
            codes[i] = cf_errf(errs[i], 256, CF_EIO, "the service on route %s gave no answer",
                               route ? route : "");
            continue;
        }
        simulate(ctx->seed, tasks[i].case_no,
                 a ? json_is_true(json_object_get(a, "found"))
                   : cf_adapter_draw(ctx->seed, tasks[i].case_no, "service", "home", 0) < 0.75,
                 &served, &method);
        if (a && json_is_boolean(json_object_get(a, "served")))
            served = json_is_true(json_object_get(a, "served"));
        if (a && json_is_string(json_object_get(a, "method")))
            method = json_string_value(json_object_get(a, "method"));
        if (!served) {
            /* Not served is the end of this task: the workflow's task.failed path gives the
             * handler an incident to find another way. */
            codes[i] = cf_errf(errs[i], 256, CF_ENOTFOUND,
                               "未能送达：%s未成功（送达路线：%s），请承办人另行送达", method,
                               route ? route : "");
            continue;
        }
        results[i] = json_pack("{s:b, s:s, s:s, s:o, s:s?, s:O?}", "served", 1, "method", method,
                               "served_at", now, "recipient", recipients(tasks[i].data), "route",
                               route, "documents", json_object_get(tasks[i].params, "documents"));
        if (!results[i])
            codes[i] = cf_errf(errs[i], 256, CF_ENOMEM, "out of memory");
        else
            nserved++;
    }
    cf_info("service on route %s: %zu of %zu cases served in one trip", route ? route : "?",
            nserved, n);
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
