/*
 * Loading YAML within bounds: one pass over libyaml's events measures the document (nodes with
 * aliases expanded, depth, aliases, anchors) and stops at the first limit passed; only then
 * does libyaml build the document.  Both passes are linear in the text.
 */
#include "base/yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An anchor seen so far and the number of nodes it stands for once its node is complete. */
struct anchor {
    char *name;
    size_t nodes;
    int open; /* its node is still being read: an alias to it now would be recursive */
};

/* A list or mapping being read: the nodes in it so far (itself counted), and its anchor. */
struct frame {
    size_t nodes;
    int anchor; /* index into anchors, or -1 */
};

struct measure {
    struct anchor anchors[CF_YAML_MAX_ANCHORS];
    int nanchors;
    struct frame stack[CF_YAML_MAX_DEPTH + 1];
    int depth;
    size_t root_nodes; /* nodes of the document's top level */
    size_t aliases;
    cf_yamldoc_error *e;
};

static int limit(struct measure *m, yaml_mark_t at, const char *fmt, ...) CF_PRINTF(3, 4);

static int limit(struct measure *m, yaml_mark_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->e->text, sizeof m->e->text, fmt, ap);
    va_end(ap);
    m->e->line = (int)at.line + 1;
    m->e->col = (int)at.column + 1;
    m->e->problem = m->e->text;
    m->e->context = "";
    return CF_ERANGE;
}

/* Adds `n` nodes to the innermost open list or mapping (or to the top level) and checks the
 * total: a part can only be smaller than the whole, so the first part to pass the limit is
 * where the document does. */
static int add_nodes(struct measure *m, size_t n, yaml_mark_t at)
{
    size_t *to = m->depth ? &m->stack[m->depth - 1].nodes : &m->root_nodes;
    *to += n;
    if (*to > CF_YAML_MAX_NODES)
        return m->aliases ? limit(m, at,
                                  "the aliases expand the document to more than %d nodes: an "
                                  "alias bomb?",
                                  CF_YAML_MAX_NODES)
                          : limit(m, at, "more than %d nodes", CF_YAML_MAX_NODES);
    return 0;
}

/* Registers the anchor of a node that starts at `at`; returns its index, -1 for none, or a
 * limit's code (< -1). */
static int add_anchor(struct measure *m, const yaml_char_t *name, yaml_mark_t at, int open,
                      int *index)
{
    *index = -1;
    if (!name)
        return 0;
    if (m->nanchors == CF_YAML_MAX_ANCHORS)
        return limit(m, at, "more than %d anchors (&name)", CF_YAML_MAX_ANCHORS);
    if (!(m->anchors[m->nanchors].name = strdup((const char *)name)))
        return CF_ENOMEM;
    m->anchors[m->nanchors].nodes = 1;
    m->anchors[m->nanchors].open = open;
    *index = m->nanchors++;
    return 0;
}

static int on_event(struct measure *m, const yaml_event_t *ev)
{
    int rc, a;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if ((rc = add_anchor(m, ev->data.scalar.anchor, ev->start_mark, 0, &a)))
            return rc;
        return add_nodes(m, 1, ev->start_mark);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *name = ev->type == YAML_SEQUENCE_START_EVENT
                                      ? ev->data.sequence_start.anchor
                                      : ev->data.mapping_start.anchor;
        if (m->depth == CF_YAML_MAX_DEPTH)
            return limit(m, ev->start_mark, "lists and mappings nested more than %d deep",
                         CF_YAML_MAX_DEPTH);
        if ((rc = add_anchor(m, name, ev->start_mark, 1, &a)))
            return rc;
        m->stack[m->depth].nodes = 1;
        m->stack[m->depth].anchor = a;
        m->depth++;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        struct frame f;
        if (m->depth == 0)
            return 0;
        f = m->stack[--m->depth];
        if (f.anchor >= 0) {
            m->anchors[f.anchor].nodes = f.nodes;
            m->anchors[f.anchor].open = 0;
        }
        return add_nodes(m, f.nodes, ev->start_mark);
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        if (++m->aliases > CF_YAML_MAX_ALIASES)
            return limit(m, ev->start_mark, "more than %d aliases (*name): an alias bomb?",
                         CF_YAML_MAX_ALIASES);
        /* The latest anchor of the name is the one meant.  An unknown one is left to libyaml
         * to report. */
        for (a = m->nanchors - 1; a >= 0; a--)
            if (strcmp(m->anchors[a].name, name) == 0)
                break;
        if (a < 0)
            return add_nodes(m, 1, ev->start_mark);
        if (m->anchors[a].open)
            return limit(m, ev->start_mark,
                         "the alias *%.60s is inside the node it stands for (a recursive alias)",
                         name);
        return add_nodes(m, m->anchors[a].nodes, ev->start_mark);
    }
    default: return 0;
    }
}

/* The first pass: returns 0 when the document is within the limits (or is not YAML, which the
 * second pass reports with libyaml's own words), else the limit's code. */
static int measure(const char *text, size_t len, cf_yamldoc_error *e)
{
    struct measure *m = calloc(1, sizeof *m);
    yaml_parser_t parser;
    int rc = 0, done = 0;

    if (!m)
        return CF_ENOMEM;
    m->e = e;
    if (!yaml_parser_initialize(&parser)) {
        free(m);
        return CF_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break;
        /* libyaml loads the first document only: what follows it does not matter. */
        done = ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT;
        rc = on_event(m, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (int i = 0; i < m->nanchors; i++)
        free(m->anchors[i].name);
    free(m);
    return rc;
}

int cf_yamldoc_load(yaml_document_t *doc, const char *text, size_t len, cf_yamldoc_error *e)
{
    yaml_parser_t parser;
    int rc;

    memset(doc, 0, sizeof *doc);
    memset(e, 0, sizeof *e);
    e->problem = e->context = "";
    if (len > CF_YAML_MAX_BYTES) {
        yaml_mark_t top = {0, 0, 0};
        struct measure m = {.e = e};
        return limit(&m, top, "larger than %d bytes", CF_YAML_MAX_BYTES);
    }
    if ((rc = measure(text, len, e)))
        return rc;
    if (!yaml_parser_initialize(&parser))
        return CF_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        e->line = (int)parser.problem_mark.line + 1;
        e->col = (int)parser.problem_mark.column + 1;
        /* libyaml's messages are static texts: they outlive the parser. */
        e->problem = parser.problem ? parser.problem : "not YAML";
        e->context = parser.context ? parser.context : "";
        rc = parser.error == YAML_MEMORY_ERROR ? CF_ENOMEM : CF_EPARSE;
        memset(doc, 0, sizeof *doc);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int cf_yamldoc_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                         size_t errsz)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    *text = NULL;
    *len = 0;
    if (!f)
        return cf_errf(err, errsz, CF_EIO, "cannot open: %s", strerror(errno));
    for (;;) {
        size_t got;
        if (cap - n < 4096) {
            size_t grown = cap ? cap * 2 : 16384;
            char *b;
            if (grown > max + 2)
                grown = max + 2;
            if (grown <= n + 1) {
                rc = cf_errf(err, errsz, CF_ERANGE, "larger than %zu bytes", max);
                goto out;
            }
            if (!(b = realloc(buf, grown))) {
                rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
                goto out;
            }
            buf = b;
            cap = grown;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            rc = cf_errf(err, errsz, CF_ERANGE, "larger than %zu bytes", max);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = cf_errf(err, errsz, CF_EIO, "cannot read: %s", strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}
