/*
 * The expression language of workflow guards and computed values: a small, pure language
 * that court staff read in the workflow YAML, such as
 *
 *     done(notices) and case.amount >= 50000 and case.special == "串案"
 *
 * An expression is parsed once (cf_expr_parse) into an immutable tree and then evaluated any
 * number of times, from any number of threads, against a JSON object of named inputs.  It
 * does no I/O, keeps no global state and never calls out to anything but jansson.
 *
 * Grammar, loosest binding first (`{}` repeats, `[]` is optional):
 *
 *     expr    = and { "or" and }
 *     and     = not { "and" not }
 *     not     = "not" not | cmp
 *     cmp     = sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum ]
 *     sum     = product { ("+" | "-") product }
 *     product = unary { ("*" | "/") unary }
 *     unary   = "-" unary | primary
 *     primary = NUMBER | STRING | "true" | "false" | "null" | "[" [ expr { "," expr } ] "]"
 *             | "(" expr ")" | NAME "(" [ expr { "," expr } ] ")" | PATH
 *     PATH    = NAME { "." SEGMENT }     (no spaces around the dots)
 *     NAME    = [A-Za-z_][A-Za-z0-9_]*   SEGMENT = [A-Za-z0-9_]+
 *     NUMBER  = 0 | [1-9][0-9]* [ "." [0-9]+ ]   (64-bit integers or decimals; no exponent)
 *     STRING  = "..." or '...', UTF-8, escapes \" \' \\ \/ \b \f \n \r \t \uXXXX
 *
 * Comparisons do not chain (`a < b < c` is a parse error: join them with `and`), and `not`
 * stands only where a whole condition can (`x == not y` is a parse error).  Keywords are lower
 * case.  A column in a message counts Unicode characters from 1 at the start of the text.
 *
 * Meaning:
 *  - A PATH reads root: its first segment names a member of root, later segments name object
 *    members, and an all-digit segment also indexes a list.  Anything missing is null, never
 *    an error.
 *  - `and`, `or`, `not` give true or false by truthiness (false, null, 0, "", [] and {} are
 *    false) and evaluate left to right, stopping as soon as the answer is known, so
 *    `exists(case.amount) and case.amount > 100` never compares null.
 *  - `==` and `!=` compare any two values: numbers by value (1 == 1.0), strings by bytes,
 *    lists and objects member by member; values of different types are simply not equal.
 *  - `< <= > >=` compare two numbers (integers and decimals mixed, exactly) or two strings (by
 *    bytes, so ISO 8601 times with the same offset compare as times).  Anything else is a
 *    runtime error.
 *  - `x in y`: y a list: some element == x; y a string: x is a string inside it; y an object:
 *    x is a string naming one of its members.  Anything else (also a missing, null y) is a
 *    runtime error: write `x in coalesce(case.tags, [])` where y may be missing.  `x not in y`
 *    is `not (x in y)`.
 *  - `+ - * /` on numbers; integer results stay integers (overflow is a runtime error) and `/`
 *    gives an integer only when the division is exact.  `+` also joins two strings or two
 *    lists.  Division by zero is a runtime error.
 *  - Functions (an unknown name or a wrong number of arguments is a parse error):
 *      done(a) failed(a) open(a)  root.activities.a.status is "done" / "failed" / "open";
 *                                 `a` is a bare activity name, not a path or a string
 *      all_done(a, b, ...)        every named activity is done
 *      any_done(a, b, ...)        at least one is done
 *      exists(x)                  x is not null
 *      len(x)                     characters in a string (not bytes), members of a list/object
 *      lower(s)                   s with ASCII A-Z lowered (other characters are kept)
 *      starts_with(s, prefix)     both strings; true when s begins with prefix
 *      coalesce(a, b, ...)        the first argument that is not null (later ones are not
 *                                 evaluated), or null
 *      choose(c, a, b)            a when c is truthy, else b (the other is not evaluated)
 *
 * Runtime error messages name types and columns, never values, because values are case data
 * that may be personal.
 */
#ifndef CF_EXPR_H
#define CF_EXPR_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* Limits: longer texts and deeper nesting are parse errors, so that neither the parser nor the
 * evaluator can exhaust the stack or run long on hostile input. */
#define CF_EXPR_MAX_LEN   16384 /* bytes of expression text */
#define CF_EXPR_MAX_DEPTH 100   /* nested parentheses, lists, calls and operators */

typedef struct cf_expr cf_expr;

/*
 * Parses `text` (UTF-8, NUL-terminated).  Returns a new expression that the caller frees with
 * cf_expr_free, or NULL on error after writing one line to `err` (`errsz` bytes; the message
 * carries no position, so that the caller can prefix "file:line:column: ") and the 1-based
 * column, in characters, of the problem to `*errcol` (0 when out of memory).  `err` and
 * `errcol` may be NULL; NULL text is the empty expression.  The text is not kept.
 */
cf_expr *cf_expr_parse(const char *text, char *err, size_t errsz, int *errcol);

/*
 * Evaluates `e` against `root`, a JSON object whose members are the top-level names, e.g.
 * {"case": {...}, "event": {...}, "activities": {"notices": {"status": "done"}},
 *  "now": "2026-03-01T09:00:00+08:00", "state": "queries"}; NULL is taken as {}.
 * Returns 0 and a new reference in `*result` that the caller json_decrefs.  The result may
 * share structure with `root` and with `e`'s literals, so it is read-only: json_deep_copy it
 * before changing it.  Returns CF_EINVAL with "column N: what is wrong" in `err` on a runtime
 * error (types that cannot be compared or computed, division by zero, integer overflow, a
 * root that is not an object), or CF_ENOMEM; `*result` is then NULL.
 */
int cf_expr_eval(const cf_expr *e, const json_t *root, json_t **result, char *err,
                 size_t errsz) CF_MUST_CHECK;

/* Evaluates as cf_expr_eval and sets `*truth` to 1 when the result is truthy, else 0 (false,
 * null, 0, "", [] and {} are false).  Errors as cf_expr_eval; `*truth` is 0 on error. */
int cf_expr_test(const cf_expr *e, const json_t *root, int *truth, char *err,
                 size_t errsz) CF_MUST_CHECK;

/* The distinct dotted paths the expression reads, in order of first appearance
 * ("case.amount", "event.result.found", "state"), so that a checker can verify their first
 * segments.  Arguments of done/failed/open/all_done/any_done are activity names, not paths.
 * The strings belong to `e`.  cf_expr_path returns NULL when i is out of range. */
size_t cf_expr_path_count(const cf_expr *e);
const char *cf_expr_path(const cf_expr *e, size_t i);

/* The function calls, in source order, one entry per call.  cf_expr_call_name is the function
 * ("done"); cf_expr_call_arg is its first argument's text when that is a bare name (an
 * activity name, or a one-segment path) or a string literal, else NULL.  The strings belong
 * to `e`; both return NULL when i is out of range. */
size_t cf_expr_call_count(const cf_expr *e);
const char *cf_expr_call_name(const cf_expr *e, size_t i);
const char *cf_expr_call_arg(const cf_expr *e, size_t i);

/* The distinct activity names that done/failed/open/all_done/any_done read, in order
 * of first appearance, so that a checker sees every argument of all_done(a, b, c), not just
 * the first.  The strings belong to `e`; cf_expr_activity returns NULL when out of range. */
size_t cf_expr_activity_count(const cf_expr *e);
const char *cf_expr_activity(const cf_expr *e, size_t i);

/* Frees `e` and every string it handed out; NULL is allowed. */
void cf_expr_free(cf_expr *e);

#endif
