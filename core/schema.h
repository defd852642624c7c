/*
 * JSON Schema (draft-07) validation of events and other JSON documents.
 *
 * Schemas are compiled once into a set (regular expressions compiled, $refs linked), after which
 * validating an instance does no I/O, takes no locks and does not touch the set, so one set may
 * serve many threads at once.  Validation stops at the first violation and names it with the
 * instance location as a JSON pointer ("/data/parties/0/id_number: does not match pattern ...").
 * Messages quote schema values (patterns, enum members, bounds), never instance values, because
 * instances carry parties' personal data.
 *
 * Supported: type, enum, const, properties, required, additionalProperties, patternProperties,
 * propertyNames, minProperties, maxProperties, dependencies, items (both forms), additionalItems,
 * minItems, maxItems, uniqueItems, contains, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * multipleOf, minLength and maxLength (in code points), pattern (PCRE2 with UTF; `$` matches only
 * at the very end, as in ECMAScript), allOf, anyOf, oneOf, not, if/then/else, boolean schemas,
 * format "date-time", "date" and "email" (other formats are accepted and not checked), definitions
 * and $defs, $id, and $ref to a JSON pointer or $id in the same document or to another document of
 * the set by its $id or its name ("common.json#/definitions/case_no").  Other keywords are
 * ignored, as the specification requires.  Remote references are never fetched.
 */
#ifndef CF_SCHEMA_H
#define CF_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/*
 * How deeply schemas may be applied within one validation (every subschema, $ref included,
 * counts one level).  A deeper instance, or a schema that refers to itself without consuming the
 * instance, fails validation with a message instead of exhausting the stack.
 */
#define CF_SCHEMA_MAX_DEPTH 256

/* A set of compiled schemas that may refer to each other. */
typedef struct cf_schema_set cf_schema_set;

/* One compiled schema; owned by its set and valid until cf_schema_set_free. */
typedef struct cf_schema cf_schema;

/* Returns a new, empty set, or NULL when memory runs out.  Free it with cf_schema_set_free. */
cf_schema_set *cf_schema_set_new(void);

/*
 * Compiles `schema` (borrowed; the set keeps its own copy) and adds it to the set under `name`
 * (e.g. "case.filed").  Other documents of the set can refer to it as `name`, `name.json` or by
 * its $id; its own $refs may only point into itself or into documents added before it.
 *
 * Returns 0; CF_EDUP when the name or an $id is already in the set; CF_EINVAL when the schema is
 * not valid (the message names the JSON pointer of the offending keyword, e.g.
 * "case.filed: #/properties/id/pattern: invalid regular expression at offset 3: ...") or a $ref
 * cannot be resolved; CF_ENOMEM.  On failure the set is unchanged.
 */
int cf_schema_set_add(cf_schema_set *set, const char *name, const json_t *schema, char *err,
                      size_t errsz) CF_MUST_CHECK;

/*
 * Loads every "*.json" file of the folder `dir` into the set, each named after its file name
 * without ".json" ("case.filed.json" becomes "case.filed").  The files may refer to each other
 * in any order.
 *
 * Returns 0; CF_EIO when the folder or a file cannot be read; CF_EPARSE for a file that is not
 * JSON ("dir/x.json:3:14: ..."; duplicate object keys are refused too); CF_EINVAL for a schema
 * that is not valid or an unresolvable $ref ("dir/x.json: #/properties/id/pattern: ...");
 * CF_EDUP; CF_ENOMEM.  On failure the set is unchanged: none of the folder's files is added.
 */
int cf_schema_set_load_dir(cf_schema_set *set, const char *dir, char *err,
                           size_t errsz) CF_MUST_CHECK;

/* Returns the schema added as `name`, or NULL when the set has none of that name. */
const cf_schema *cf_schema_set_get(const cf_schema_set *set, const char *name);

/*
 * Validates `instance` (borrowed) against `schema`.
 *
 * Returns 0 when it is valid; CF_ESCHEMA when it is not, with one line in `err` naming the
 * instance location and what is wrong ("/data: missing required property 'court'"; the whole
 * instance is "(root)"), also when validation nests deeper than CF_SCHEMA_MAX_DEPTH; CF_EINVAL
 * for a NULL argument; CF_ENOMEM.
 */
int cf_schema_validate(const cf_schema *schema, const json_t *instance, char *err,
                       size_t errsz) CF_MUST_CHECK;

/* The largest magnitude cf_json_numbers_sane lets through. */
#define CF_JSON_NUMBER_MAX 1e15

/*
 * Checks every number in `v` (borrowed), at any depth, whatever a schema says of it: a real that
 * is not finite, or a number whose magnitude exceeds CF_JSON_NUMBER_MAX, is refused.  Beyond
 * that bound doubles lose whole units, and PostgreSQL's jsonb writes a large real as a long
 * integer (1e20 as 100000000000000000000) that jansson cannot read back, so a stored case would
 * become unreadable.  The engine calls it on every event, beside the schema of its type.
 *
 * Returns 1 when every number is sane; 0 with one line in `err` naming the first offending
 * number's location as a JSON pointer ("/data/result/amount: the number's magnitude exceeds
 * 1e15"; the value itself is "(root)"), never its value.  NULL `v` counts as sane.
 */
int cf_json_numbers_sane(const json_t *v, char *err, size_t errsz) CF_MUST_CHECK;

/* Frees the set and every schema in it.  NULL is allowed. */
void cf_schema_set_free(cf_schema_set *set);

#endif
