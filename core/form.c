/*
 * A staff task's completion form and a decision's form: the fields its workflow declares
 * (`result:`, `fields:`) as JSON for the web workplace, and the check made of what is filled in
 * before anything is sent.
 */
#include "form.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {"yes_no", "text", "choice", "amount",
                                         "post",   "date", "number"};

/* Whether post `id` may be chosen at court `court` (a view of `wf`): unless it is one of `wf`'s
 * teams that the court does not have. */
static int offered(const cf_workflow *wf, const cf_workflow *court, const char *id)
{
    int team = 0;

    if (!wf || !court || court->teams == wf->teams)
        return 1;
    for (size_t i = 0; i < wf->nteams && !team; i++)
        team = wf->teams[i] && strcmp(wf->teams[i], id) == 0;
    if (!team)
        return 1;
    for (size_t i = 0; i < court->nteams; i++)
        if (court->teams[i] && strcmp(court->teams[i], id) == 0)
            return 1;
    return 0;
}

json_t *cf_form_fields_json(const cf_workflow *wf, const cf_workflow *court,
                            const cf_result_field *list, size_t n)
{
    json_t *fields = json_array();

    for (size_t i = 0; fields && i < n; i++) {
        const cf_result_field *f = &list[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "name", f->name, "type", type_names[f->type],
                              "title", f->title ? f->title : f->name, "required", f->required);
        if (!o)
            continue;
        if (f->help)
            json_object_set_new(o, "help", json_string(f->help));
        if (f->if_field)
            json_object_set_new(o, "required_if", json_pack("{s:b}", f->if_field, f->if_value));
        if (f->type == CF_FIELD_TEXT)
            json_object_set_new(o, "max", json_integer(f->max));
        if (f->type == CF_FIELD_CHOICE || f->type == CF_FIELD_POST) {
            json_t *choices = json_array();
            if (f->nchoices) {
                for (size_t c = 0; c < f->nchoices; c++)
                    if (f->type == CF_FIELD_CHOICE || offered(wf, court, f->choices[c]))
                        json_array_append_new(
                            choices,
                            json_pack("{s:s, s:s}", "value", f->choices[c], "title",
                                      f->choice_titles && f->choice_titles[c] ? f->choice_titles[c]
                                                                              : f->choices[c]));
            } else {
                /* A post field without choices: any post of the workflow. */
                for (size_t p = 0; p < wf->nposts; p++)
                    if (offered(wf, court, wf->posts[p].id))
                        json_array_append_new(
                            choices,
                            json_pack("{s:s, s:s}", "value", wf->posts[p].id, "title",
                                      wf->posts[p].title ? wf->posts[p].title : wf->posts[p].id));
            }
            json_object_set_new(o, "choices", choices);
        }
        json_array_append_new(fields, o);
    }
    return fields;
}

json_t *cf_form_json(const cf_workflow *wf, const cf_task_kind *kind, const cf_workflow *court)
{
    json_t *fields = cf_form_fields_json(wf, court, kind->result, kind->nresult);

    return json_pack("{s:s, s:s, s:b, s:o}", "kind", kind->name, "title",
                     kind->title ? kind->title : kind->name, "declared", kind->result_declared,
                     "fields", fields ? fields : json_array());
}

/* Whether `s` is a calendar date YYYY-MM-DD that exists. */
static int is_date(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    char tail;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* Characters (not bytes) of UTF-8 text `s`. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Checks one present value `v` of field `f`, named `at` (a JSON pointer's start) in `err`; 0 or
 * CF_EINVAL. */
static int check_value(const cf_workflow *wf, const cf_workflow *court, const cf_result_field *f,
                       const json_t *v, const char *at, char *err, size_t errsz)
{
    switch (f->type) {
    case CF_FIELD_YES_NO:
        if (!json_is_boolean(v))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: must be true or false", at, f->name);
        return 0;
    case CF_FIELD_TEXT:
        if (!json_is_string(v))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: must be a text", at, f->name);
        if (chars(json_string_value(v)) > (size_t)f->max)
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: at most %d characters", at, f->name,
                           f->max);
        return 0;
    case CF_FIELD_CHOICE:
    case CF_FIELD_POST:
        if (!json_is_string(v))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: must be one of its choices (a text)", at,
                           f->name);
        if (f->type == CF_FIELD_POST && !offered(wf, court, json_string_value(v)))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: is a team this court does not have", at,
                           f->name);
        if (f->nchoices) {
            for (size_t c = 0; c < f->nchoices; c++)
                if (strcmp(f->choices[c], json_string_value(v)) == 0)
                    return 0;
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: is not one of its %zu choices", at,
                           f->name, f->nchoices);
        }
        return 0; /* any post: the workflow's own check (assign) decides */
    case CF_FIELD_AMOUNT: {
        double x = json_number_value(v), cents;
        if (!json_is_number(v) || x < 0 || !isfinite(x) || x > 1e13)
            return cf_errf(err, errsz, CF_EINVAL,
                           "%s/%s: must be an amount in yuan, a number from 0", at, f->name);
        cents = x * 100;
        if (fabs(cents - round(cents)) > 1e-6 * (cents > 1 ? cents : 1))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: at most two decimals (fen)", at, f->name);
        return 0;
    }
    case CF_FIELD_NUMBER:
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: must be a whole number from 0", at,
                           f->name);
        return 0;
    case CF_FIELD_DATE:
        if (!json_is_string(v) || !is_date(json_string_value(v)))
            return cf_errf(err, errsz, CF_EINVAL, "%s/%s: must be a date YYYY-MM-DD", at, f->name);
        return 0;
    }
    return 0;
}

int cf_form_check_fields(const cf_workflow *wf, const cf_workflow *court,
                         const cf_result_field *fields, size_t n, const json_t *obj, const char *at,
                         char *err, size_t errsz)
{
    json_t *v;
    int rc;

    if (!json_is_object(obj))
        return cf_errf(err, errsz, CF_EINVAL, "%s: must be a JSON object", at[0] ? at : "/");
    for (size_t i = 0; i < n; i++) {
        const cf_result_field *f = &fields[i];
        int required = f->required;
        v = json_object_get(obj, f->name);
        if (f->if_field) {
            const json_t *w = json_object_get(obj, f->if_field);
            required |= json_is_boolean(w) && json_is_true(w) == (f->if_value != 0);
        }
        /* An empty text is no answer. */
        if (!v || json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0])) {
            if (required)
                return cf_errf(err, errsz, CF_EINVAL, "%s/%s: is required", at, f->name);
            continue;
        }
        if ((rc = check_value(wf, court, f, v, at, err, errsz)) != 0)
            return rc;
    }
    return 0;
}

int cf_form_check(const cf_workflow *wf, const cf_task_kind *kind, const cf_workflow *court,
                  const json_t *result, char *err, size_t errsz)
{
    if (!json_is_object(result))
        return cf_errf(err, errsz, CF_EINVAL, "/result: must be a JSON object");
    if (!kind->result_declared)
        return 0;
    return cf_form_check_fields(wf, court, kind->result, kind->nresult, result, "/result", err,
                                errsz);
}
