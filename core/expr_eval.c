/*
 * The evaluator of the expression language: walks the tree that expr.c parsed (expr_tree.h)
 * over jansson values.  It only reads the tree, so any number of threads may evaluate one
 * expression at once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/expr.h"
#include "core/expr_tree.h"

/* ---- Values ------------------------------------------------------------------------------ */

/* Type names as staff know them: a JSON array is a list. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

static int truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return json_object_size(v) > 0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_TRUE: return 1;
    case JSON_FALSE:
    case JSON_NULL: return 0;
    }
    return 0;
}

/* Compares an integer with a double exactly; converting the integer to a double would round
 * above 2^53 and call different amounts equal.  jansson never holds NaN or infinities. */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0) /* 2^63: above every integer */
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    json_int_t t = (json_int_t)d; /* in range now; truncates toward zero */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = d - (double)t; /* exact: t is d without its fraction */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int cmp_numbers(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_integer(a))
        return cmp_int_real(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b))
        return -cmp_int_real(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return (x > y) - (x < y);
}

static int cmp_strings(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return c != 0 ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
}

/* Returns 1 when equal, 0 when not, -1 when the values nest deeper than we compare (case data
 * is parsed by jansson, which allows 2048 levels; the stack should not depend on that). */
static int equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > 256)
        return -1;
    if (json_is_number(a) && json_is_number(b))
        return cmp_numbers(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_string(a))
        return cmp_strings(a, b) == 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            int r = equal(json_array_get(a, i), json_array_get(b, i), depth + 1);
            if (r != 1)
                return r;
        }
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            const json_t *vb =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            int r = vb ? equal(json_object_iter_value(it), vb, depth + 1) : 0;
            if (r != 1)
                return r;
        }
        return 1;
    }
    return 1; /* true, false, null */
}

/* Follows a dotted path from root; NULL when any step is missing. */
static const json_t *lookup(const json_t *root, const char *path)
{
    const json_t *cur = root;
    for (const char *s = path;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, s, n);
        } else if (json_is_array(cur)) {
            /* Only a canonical index ("0", "12", never "012") indexes a list. */
            size_t i = 0, k = 0;
            for (; k < n && (s[k] >= '0' && s[k] <= '9') && i <= SIZE_MAX / 10 - 1; k++)
                i = i * 10 + (size_t)(s[k] - '0');
            int canonical = k == n && n > 0 && !(n > 1 && s[0] == '0');
            cur = canonical ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
        if (!cur || !dot)
            return cur;
        s = dot + 1;
    }
}

/* ---- Evaluator --------------------------------------------------------------------------- */

struct ev {
    const cf_expr *e;
    const json_t *root;
    char *err;
    size_t errsz;
};

static int fail(const struct ev *v, int rc, int col, const char *fmt, ...) CF_PRINTF(4, 5);

/* Writes "column N: message" and returns rc. */
static int fail(const struct ev *v, int rc, int col, const char *fmt, ...)
{
    if (v->err && v->errsz > 0) {
        int n = snprintf(v->err, v->errsz, "column %d: ", col);
        if (n >= 0 && (size_t)n < v->errsz) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(v->err + n, v->errsz - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* Hands a value built here to *out, or reports that building it ran out of memory. */
static int give(const struct ev *v, int col, json_t *val, json_t **out)
{
    *out = val;
    return val ? 0 : fail(v, CF_ENOMEM, col, "out of memory");
}

static int eval(const struct ev *v, int n, int depth, json_t **out);

static int arith(const struct ev *v, const struct node *nd, const json_t *a, const json_t *b,
                 json_t **out)
{
    enum tok op = (enum tok)nd->op;
    if (op == T_PLUS && json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        char *s = malloc(la + lb + 1);
        if (!s)
            return fail(v, CF_ENOMEM, nd->col, "out of memory");
        memcpy(s, json_string_value(a), la);
        memcpy(s + la, json_string_value(b), lb);
        int rc = give(v, nd->col, json_stringn_nocheck(s, la + lb), out);
        free(s);
        return rc;
    }
    if (op == T_PLUS && json_is_array(a) && json_is_array(b)) {
        json_t *list = json_array();
        if (list && (json_array_extend(list, (json_t *)a) < 0 ||
                     json_array_extend(list, (json_t *)b) < 0)) {
            json_decref(list);
            list = NULL;
        }
        return give(v, nd->col, list, out);
    }
    if (!json_is_number(a) || !json_is_number(b))
        return fail(v, CF_EINVAL, nd->col, "%s needs two numbers%s, got %s and %s",
                    expr_tok_text[op], op == T_PLUS ? ", two strings or two lists" : "",
                    type_name(a), type_name(b));
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b), r;
        int over = 0;
        switch (op) {
        case T_PLUS: over = __builtin_add_overflow(x, y, &r); break;
        case T_MINUS: over = __builtin_sub_overflow(x, y, &r); break;
        case T_STAR: over = __builtin_mul_overflow(x, y, &r); break;
        default:
            if (y == 0)
                return fail(v, CF_EINVAL, nd->col, "division by zero");
            if (x == INT64_MIN && y == -1)
                over = 1, r = 0;
            else if (x % y == 0)
                r = x / y;
            else
                return give(v, nd->col, json_real((double)x / (double)y), out);
        }
        if (over)
            return fail(v, CF_EINVAL, nd->col, "integer overflow in %s", expr_tok_text[op]);
        return give(v, nd->col, json_integer(r), out);
    }
    double x = json_number_value(a), y = json_number_value(b), r;
    switch (op) {
    case T_PLUS: r = x + y; break;
    case T_MINUS: r = x - y; break;
    case T_STAR: r = x * y; break;
    default:
        if (y == 0.0)
            return fail(v, CF_EINVAL, nd->col, "division by zero");
        r = x / y;
    }
    if (!isfinite(r))
        return fail(v, CF_EINVAL, nd->col, "number out of range in %s", expr_tok_text[op]);
    return give(v, nd->col, json_real(r), out);
}

static int member(const struct ev *v, const struct node *nd, const json_t *x, const json_t *y,
                  json_t **out)
{
    if (json_is_array(y)) {
        for (size_t i = 0; i < json_array_size(y); i++) {
            int r = equal(x, json_array_get(y, i), 0);
            if (r < 0)
                return fail(v, CF_EINVAL, nd->col, "values nest too deeply to compare");
            if (r)
                return give(v, nd->col, json_true(), out);
        }
        return give(v, nd->col, json_false(), out);
    }
    if (json_is_string(y) && !json_is_string(x))
        return fail(v, CF_EINVAL, nd->col, "'in' a string needs a string on the left, got %s",
                    type_name(x));
    if (json_is_object(y) && !json_is_string(x))
        return fail(v, CF_EINVAL, nd->col,
                    "'in' an object needs a member name (a string) on the left, got %s",
                    type_name(x));
    if (json_is_object(y))
        return give(v, nd->col,
                    json_boolean(json_object_getn(y, json_string_value(x), json_string_length(x))),
                    out);
    if (!json_is_string(y))
        return fail(v, CF_EINVAL, nd->col,
                    "'in' needs a list, string or object on the right, got %s", type_name(y));
    size_t lx = json_string_length(x), ly = json_string_length(y);
    const char *sx = json_string_value(x), *sy = json_string_value(y);
    int found = lx == 0;
    for (size_t i = 0; !found && lx <= ly && i <= ly - lx; i++)
        found = memcmp(sy + i, sx, lx) == 0;
    return give(v, nd->col, json_boolean(found), out);
}

static int binary(const struct ev *v, const struct node *nd, const json_t *a, const json_t *b,
                  json_t **out)
{
    enum tok op = (enum tok)nd->op;
    int c, r;
    switch (op) {
    case T_EQ:
    case T_NE:
        if ((r = equal(a, b, 0)) < 0)
            return fail(v, CF_EINVAL, nd->col, "values nest too deeply to compare");
        return give(v, nd->col, json_boolean(op == T_EQ ? r : !r), out);
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
        if (json_is_number(a) && json_is_number(b))
            c = cmp_numbers(a, b);
        else if (json_is_string(a) && json_is_string(b))
            c = cmp_strings(a, b);
        else
            return fail(v, CF_EINVAL, nd->col, "%s needs two numbers or two strings, got %s and %s",
                        expr_tok_text[op], type_name(a), type_name(b));
        r = op == T_LT ? c < 0 : op == T_LE ? c <= 0 : op == T_GT ? c > 0 : c >= 0;
        return give(v, nd->col, json_boolean(r), out);
    case T_IN: return member(v, nd, a, b, out);
    case T_NOTIN:
        if ((r = member(v, nd, a, b, out)) == 0) {
            int found = json_is_true(*out);
            json_decref(*out);
            *out = json_boolean(!found);
        }
        return r;
    default: return arith(v, nd, a, b, out);
    }
}

static const char *activity_status(const struct ev *v, const char *name)
{
    const json_t *act = json_object_get(json_object_get(v->root, "activities"), name);
    return json_string_value(json_object_get(act, "status"));
}

/* Evaluates argument `kid` of the call `nd` and checks that it is a string. */
static int string_arg(const struct ev *v, const struct node *nd, int kid, int depth, json_t **out)
{
    int rc = eval(v, kid, depth, out);
    if (rc == 0 && !json_is_string(*out)) {
        rc = fail(v, CF_EINVAL, nd->col, "%s() needs a string, got %s", expr_funcs[nd->op].name,
                  type_name(*out));
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int eval_call(const struct ev *v, const struct node *nd, int depth, json_t **out)
{
    const struct node *nodes = v->e->nodes;
    json_t *a = NULL, *b = NULL;
    int rc = 0, k;
    switch ((enum fn)nd->op) {
    case F_DONE:
    case F_FAILED:
    case F_OPEN:
    case F_ALL_DONE:
    case F_ANY_DONE: {
        const char *want = nd->op == F_FAILED ? "failed" : nd->op == F_OPEN ? "open" : "done";
        int any = nd->op == F_ANY_DONE, r = !any;
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            const char *status = activity_status(v, v->e->acts.v[nodes[k].idx]);
            int match = status && strcmp(status, want) == 0;
            if (match == any) {
                r = any;
                break;
            }
        }
        rc = give(v, nd->col, json_boolean(r), out);
        break;
    }
    case F_EXISTS:
        if ((rc = eval(v, nd->kid, depth, &a)) == 0)
            rc = give(v, nd->col, json_boolean(!json_is_null(a)), out);
        break;
    case F_LEN:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        if (json_is_string(a)) {
            /* Characters, not bytes: a party's name 张三 has length 2. */
            size_t chars = 0, len = json_string_length(a);
            const char *s = json_string_value(a);
            for (size_t i = 0; i < len; i++)
                chars += ((unsigned char)s[i] & 0xC0) != 0x80;
            rc = give(v, nd->col, json_integer((json_int_t)chars), out);
        } else if (json_is_array(a)) {
            rc = give(v, nd->col, json_integer((json_int_t)json_array_size(a)), out);
        } else if (json_is_object(a)) {
            rc = give(v, nd->col, json_integer((json_int_t)json_object_size(a)), out);
        } else {
            rc = fail(v, CF_EINVAL, nd->col, "len() needs a string, list or object, got %s",
                      type_name(a));
        }
        break;
    case F_LOWER: {
        if ((rc = string_arg(v, nd, nd->kid, depth, &a)) < 0)
            break;
        size_t len = json_string_length(a);
        char *s = malloc(len + 1);
        if (!s) {
            rc = fail(v, CF_ENOMEM, nd->col, "out of memory");
            break;
        }
        memcpy(s, json_string_value(a), len);
        for (size_t i = 0; i < len; i++)
            if (s[i] >= 'A' && s[i] <= 'Z')
                s[i] = (char)(s[i] - 'A' + 'a');
        rc = give(v, nd->col, json_stringn_nocheck(s, len), out);
        free(s);
        break;
    }
    case F_STARTS:
        if ((rc = string_arg(v, nd, nd->kid, depth, &a)) < 0 ||
            (rc = string_arg(v, nd, nodes[nd->kid].next, depth, &b)) < 0)
            break;
        rc = give(v, nd->col,
                  json_boolean(json_string_length(b) <= json_string_length(a) &&
                               memcmp(json_string_value(a), json_string_value(b),
                                      json_string_length(b)) == 0),
                  out);
        break;
    case F_COALESCE:
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            if (!json_is_null(a)) {
                *out = a;
                return 0;
            }
            json_decref(a);
            a = NULL;
        }
        if (rc == 0)
            rc = give(v, nd->col, json_null(), out);
        break;
    case F_CHOOSE:
        /* choose(c, a, b): a when c holds, else b; the other is not evaluated. */
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        k = nodes[nd->kid].next;
        if (!truthy(a))
            k = nodes[k].next;
        json_decref(a);
        return eval(v, k, depth, out);
    default: rc = fail(v, CF_EINVAL, nd->col, "unknown function");
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

static int eval(const struct ev *v, int n, int depth, json_t **out)
{
    const struct node *nd = &v->e->nodes[n], *nodes = v->e->nodes;
    json_t *a = NULL, *b = NULL;
    int rc = 0, k;
    *out = NULL;
    /* The parser bounds the tree's height, so this only guards against a broken tree. */
    if (depth > CF_EXPR_MAX_DEPTH)
        return fail(v, CF_EINVAL, nd->col, "expression nested too deeply");
    depth++;
    switch ((enum kind)nd->kind) {
    case N_LIT: *out = json_incref(nd->lit); return 0;
    case N_PATH: {
        const json_t *found = lookup(v->root, v->e->paths.v[nd->idx]);
        *out = found ? json_incref((json_t *)found) : json_null();
        return 0;
    }
    case N_LIST: {
        json_t *list = json_array();
        if (!list)
            return fail(v, CF_ENOMEM, nd->col, "out of memory");
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            if (json_array_append_new(list, a) < 0) {
                rc = fail(v, CF_ENOMEM, nd->col, "out of memory");
                break;
            }
            a = NULL;
        }
        if (rc < 0)
            json_decref(list);
        else
            *out = list;
        return rc;
    }
    case N_NEG:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        if (json_is_integer(a) && json_integer_value(a) != INT64_MIN)
            rc = give(v, nd->col, json_integer(-json_integer_value(a)), out);
        else if (json_is_integer(a))
            rc = fail(v, CF_EINVAL, nd->col, "integer overflow in '-'");
        else if (json_is_real(a))
            rc = give(v, nd->col, json_real(-json_real_value(a)), out);
        else
            rc = fail(v, CF_EINVAL, nd->col, "'-' needs a number, got %s", type_name(a));
        break;
    case N_NOT:
        if ((rc = eval(v, nd->kid, depth, &a)) == 0)
            rc = give(v, nd->col, json_boolean(!truthy(a)), out);
        break;
    case N_AND:
    case N_OR: {
        /* Stop at the first operand that decides, so later operands may rely on earlier ones
         * (`exists(x) and x > 1`) and their errors are not raised. */
        int decide = nd->kind == N_OR;
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            int t = truthy(a);
            json_decref(a);
            a = NULL;
            if (t == decide)
                break;
        }
        if (rc == 0)
            rc = give(v, nd->col, json_boolean(k >= 0 ? decide : !decide), out);
        break;
    }
    case N_BIN:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0 ||
            (rc = eval(v, nodes[nd->kid].next, depth, &b)) < 0)
            break;
        rc = binary(v, nd, a, b, out);
        break;
    case N_CALL: rc = eval_call(v, nd, depth, out); break;
    case N_ACT: rc = fail(v, CF_EINVAL, nd->col, "an activity name is not a value"); break;
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

int cf_expr_eval(const cf_expr *e, const json_t *root, json_t **result, char *err, size_t errsz)
{
    struct ev v = {.e = e, .root = root, .err = err, .errsz = errsz};
    *result = NULL;
    if (!e)
        return cf_errf(err, errsz, CF_EINVAL, "no expression");
    if (root && !json_is_object(root))
        return cf_errf(err, errsz, CF_EINVAL,
                       "the root of an evaluation must be a JSON object, "
                       "not a %s",
                       type_name(root));
    return eval(&v, e->root, 0, result);
}

int cf_expr_test(const cf_expr *e, const json_t *root, int *truth, char *err, size_t errsz)
{
    json_t *result;
    int rc = cf_expr_eval(e, root, &result, err, errsz);
    *truth = rc == 0 && truthy(result);
    json_decref(result);
    return rc;
}
