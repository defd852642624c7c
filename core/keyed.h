/*
 * Keyed work: tasks, timers and record entries named at run time, so that a case can hold
 * several of one kind at once (each measure on property has its own renewal reminder).  An
 * instance is named NAME#KEY: the activity or timer NAME of the workflow, and the key an
 * action computed (`key: task.key`) or the entry `each` walks.  A transition that names NAME
 * (`task: measure_renewal`, `timer: measure_reminder`) takes every instance, and reads the
 * instance's key as task.key or timer.key.  Pure string and JSON helpers for the machine
 * (machine.c); docs/workflow-language.md describes the language.
 */
#ifndef CF_KEYED_H
#define CF_KEYED_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* The character between a name and its key. */
#define CF_KEYED_SEP '#'

/*
 * Writes NAME#KEY into buf (n bytes) for a key that is a text or a whole number.  Returns 0,
 * CF_EINVAL when the key is of another type or empty or holds the separator, CF_ERANGE when
 * the name does not fit.
 */
int cf_keyed_name(const char *name, const json_t *key, char *buf, size_t n) CF_MUST_CHECK;

/*
 * Whether the instance `instance` (an activity or timer as the case names it) is one of the
 * workflow's `name`: the name itself, or name#key.  Returns 1 and points *key at the key (NULL
 * for the plain name), or 0.
 */
int cf_keyed_match(const char *name, const char *instance, const char **key);

/* The key of an instance (after the separator), or NULL when it has none. */
const char *cf_keyed_key(const char *instance);

/*
 * The names of the members of `obj`, sorted by bytes, so that `each` walks them in the same
 * order in the engine and in a replay of a state read back from the database (whose objects
 * do not keep their members' order).  Returns a new array of texts (empty when obj is no
 * object), or NULL when out of memory.
 */
json_t *cf_keyed_entries(const json_t *obj);

#endif
