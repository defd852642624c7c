/*
 * The delivery route table: route names with the places they cover, and the lookup of an
 * address's route by the longest place it names.
 */
#include "workers/delivery.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/yamldoc.h"

typedef struct place {
    char *text;
    size_t len;
    size_t route; /* index into names */
} place;

struct cf_delivery {
    char *fallback; /* `default`: where an address that names no place goes */
    char **names;
    size_t nnames;
    place *places;
    size_t nplaces;
};

void cf_delivery_free(cf_delivery *r)
{
    if (!r)
        return;
    free(r->fallback);
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i]);
    for (size_t i = 0; i < r->nplaces; i++)
        free(r->places[i].text);
    free(r->names);
    free(r->places);
    free(r);
}

typedef struct loader {
    const char *path;
    yaml_document_t doc;
    cf_delivery *r;
    char *err;
    size_t errsz;
} loader;

static int bad(loader *L, const yaml_node_t *n, const char *what)
{
    return cf_errf(L->err, L->errsz, CF_EINVAL, "%s:%lu:%lu: %s", L->path,
                   n ? (unsigned long)n->start_mark.line + 1 : 1UL,
                   n ? (unsigned long)n->start_mark.column + 1 : 1UL, what);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

/* The value of `key` in the mapping `m`, or NULL. */
static yaml_node_t *get(loader *L, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(L, p->key));
        if (k && strcmp(k, key) == 0)
            return node(L, p->value);
    }
    return NULL;
}

static int add_place(loader *L, const yaml_node_t *n, size_t route)
{
    const char *text = scalar(n);
    place *more;

    if (!text || !*text)
        return bad(L, n, "a place is a town's, a subdistrict's or a street's name");
    for (size_t i = 0; i < L->r->nplaces; i++)
        if (strcmp(L->r->places[i].text, text) == 0)
            return cf_errf(L->err, L->errsz, CF_EINVAL,
                           "%s:%lu:%lu: '%s' is on two routes: %s and %s", L->path,
                           (unsigned long)n->start_mark.line + 1,
                           (unsigned long)n->start_mark.column + 1, text,
                           L->r->names[L->r->places[i].route], L->r->names[route]);
    if (!(more = realloc(L->r->places, (L->r->nplaces + 1) * sizeof *more)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "out of memory");
    L->r->places = more;
    if (!(more[L->r->nplaces].text = strdup(text)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "out of memory");
    more[L->r->nplaces].len = strlen(text);
    more[L->r->nplaces++].route = route;
    return 0;
}

/* One route: `name: {title, places: [...]}`. */
static int add_route(loader *L, const yaml_node_t *k, const yaml_node_t *v)
{
    const yaml_node_t *places;
    char **more;
    size_t route = L->r->nnames;
    int rc;

    if (!scalar(k) || !*scalar(k))
        return bad(L, k, "a route is named by a text");
    if (v->type != YAML_MAPPING_NODE || !(places = get(L, v, "places")) ||
        places->type != YAML_SEQUENCE_NODE ||
        places->data.sequence.items.top == places->data.sequence.items.start)
        return bad(L, v, "a route needs places: the towns, subdistricts and streets it covers");
    if (!(more = realloc(L->r->names, (route + 1) * sizeof *more)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "out of memory");
    L->r->names = more;
    if (!(more[route] = strdup(scalar(k))))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "out of memory");
    L->r->nnames++;
    for (yaml_node_item_t *i = places->data.sequence.items.start;
         i < places->data.sequence.items.top; i++)
        if ((rc = add_place(L, node(L, *i), route)))
            return rc;
    return 0;
}

static int table(loader *L, const yaml_node_t *root)
{
    const yaml_node_t *routes, *fallback;
    int rc;

    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(L, root, "the route table is a mapping with default and routes");
    fallback = get(L, root, "default");
    if (!scalar(fallback) || !*scalar(fallback))
        return bad(L, fallback ? fallback : root,
                   "default names the route of an address outside the table (邮寄送达)");
    if (!(L->r->fallback = strdup(scalar(fallback))))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "out of memory");
    routes = get(L, root, "routes");
    if (!routes || routes->type != YAML_MAPPING_NODE)
        return bad(L, routes ? routes : root, "routes maps each route's name to its places");
    for (yaml_node_pair_t *p = routes->data.mapping.pairs.start; p < routes->data.mapping.pairs.top;
         p++)
        if ((rc = add_route(L, node(L, p->key), node(L, p->value))))
            return rc;
    return 0;
}

int cf_delivery_parse(const char *path, const char *text, size_t len, cf_delivery **out, char *err,
                      size_t errsz)
{
    loader L = {.path = path, .err = err, .errsz = errsz};
    cf_yamldoc_error ye;
    int rc;

    *out = NULL;
    if (!(L.r = calloc(1, sizeof *L.r)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    if ((rc = cf_yamldoc_load(&L.doc, text, len, &ye)) != 0) {
        cf_errf(err, errsz, rc, "%s:%d:%d: %s%s", path, ye.line, ye.col,
                rc == CF_EPARSE ? "bad YAML: " : "", ye.problem);
        cf_delivery_free(L.r);
        return rc;
    }
    rc = table(&L, yaml_document_get_root_node(&L.doc));
    yaml_document_delete(&L.doc);
    if (rc) {
        cf_delivery_free(L.r);
        return rc;
    }
    *out = L.r;
    return 0;
}

int cf_delivery_load(const char *path, cf_delivery **out, char *err, size_t errsz)
{
    char why[256], *buf;
    size_t len;
    int rc;

    *out = NULL;
    if (cf_yamldoc_read_file(path, CF_YAML_MAX_BYTES, &buf, &len, why, sizeof why) != 0)
        return cf_errf(err, errsz, CF_EIO, "%s: %s", path, why);
    rc = cf_delivery_parse(path, buf, len, out, err, errsz);
    free(buf);
    return rc;
}

const char *cf_delivery_route(const cf_delivery *r, const char *address)
{
    const place *best = NULL;

    for (size_t i = 0; address && i < r->nplaces; i++)
        if ((!best || r->places[i].len > best->len) && strstr(address, r->places[i].text))
            best = &r->places[i];
    return best ? r->names[best->route] : r->fallback;
}
