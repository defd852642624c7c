/*
 * Loading YAML within bounds.  Every YAML file caseflow reads (workflows, calendars, document
 * templates, the configuration) goes through cf_yamldoc_load, which refuses a file that would
 * eat the machine before libyaml builds it: too large, too many nodes, nested too deep, or with
 * aliases that multiply it (a "billion laughs" of a few kilobytes expands to billions of
 * nodes for whoever walks the document, although libyaml stores each anchored node once).
 *
 * The limits are far above any real definition (the court's enforcement workflow has about
 * 3,800 nodes, 28 anchors and 51 aliases, nested 9 deep).  The node cap, counting each alias
 * as what it expands to, is what stops an alias bomb; the caps on aliases and anchors only bound
 * the loader's own bookkeeping.
 */
#ifndef CF_YAMLDOC_H
#define CF_YAMLDOC_H

#include <stddef.h>
#include <yaml.h>

#include "base/err.h"

#define CF_YAML_MAX_BYTES   (4 * 1024 * 1024) /* the text */
#define CF_YAML_MAX_NODES   200000 /* nodes, each alias counted as the nodes it stands for */
#define CF_YAML_MAX_DEPTH   64     /* lists and mappings inside each other */
#define CF_YAML_MAX_ALIASES 1000   /* uses of an alias (*name) */
#define CF_YAML_MAX_ANCHORS 1000   /* anchors (&name) */

/* What is wrong with a file that did not load, and where (1-based; columns count characters,
 * as libyaml does). */
typedef struct cf_yamldoc_error {
    int line, col;
    const char *problem; /* libyaml's problem, or what limit was passed (points into `text`) */
    const char *context; /* libyaml's context ("while parsing a block mapping"), or "" */
    char text[160];
} cf_yamldoc_error;

/*
 * Loads the first document of the YAML `text` of `len` bytes into `doc`, after checking it
 * against the limits above in one pass over its events.  Aliases to a node that contains them
 * (a recursive alias, `&a [*a]`) are refused too: walking such a document never ends.
 *
 * Returns 0 and a document the caller frees with yaml_document_delete; CF_EPARSE when the text
 * is not YAML (problem and context from libyaml); CF_ERANGE when a limit is passed (problem
 * says which, e.g. "more than 100 aliases (*name): an alias bomb?"); CF_ENOMEM.  On error `doc`
 * holds nothing to free.
 */
int cf_yamldoc_load(yaml_document_t *doc, const char *text, size_t len,
                    cf_yamldoc_error *e) CF_MUST_CHECK;

/*
 * Reads the file at `path` whole into a new buffer (*text, NUL-terminated, caller frees) of
 * *len bytes, refusing a file larger than `max` bytes without reading it all.  Returns 0;
 * CF_EIO ("cannot open: No such file or directory" in err, without the path: the caller says
 * where); CF_ERANGE ("larger than N bytes"); CF_ENOMEM.
 */
int cf_yamldoc_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                         size_t errsz) CF_MUST_CHECK;

#endif
