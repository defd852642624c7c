/*
 * The PDF renderer of court documents: lays out a document template
 * (template.h) filled from fields on A4 pages with cairo and pango, in the
 * Noto CJK fonts, and writes it atomically with its SHA-256.
 *
 * The output depends only on the template, the fields, the date given and the
 * versions of cairo, pango and the fonts: rendering twice gives the same bytes,
 * so a redone task writes the same file with the same hash.
 */
#ifndef CF_PDF_H
#define CF_PDF_H

#include <jansson.h>

#include "base/err.h"
#include "workers/template.h"

typedef struct cf_pdf_info {
    char sha256[65]; /* of the file written, lower-case hex */
    int pages;
} cf_pdf_info;

/*
 * Renders `t` filled from `fields` (see cf_template_fields: the template's own fields are added
 * here) as a PDF at `path`, whose folder must exist.  The file is written under a temporary name
 * in that folder and renamed over `path` only when complete, so a reader never sees half a
 * document.  `date` (RFC 3339, e.g. "2026-03-02T09:28:11+08:00") is the creation date written
 * in the PDF's metadata; NULL writes 2000-01-01 (never the clock's time, which would make every
 * rendering differ).
 *
 * Returns 0 and fills `*info`; CF_EINVAL with "file:line:column: ..." for a placeholder whose
 * field is missing, or when the installed fonts cannot show a character of the text (the PDF
 * would show empty boxes); CF_EIO when the file cannot be written; CF_ENOMEM.  On error no file
 * is left at `path` that was not there before.
 */
int cf_pdf_render(const cf_template *t, const json_t *fields, const char *date, const char *path,
                  cf_pdf_info *info, char *err, size_t errsz) CF_MUST_CHECK;

/* Writes the SHA-256 of the file at `path` as hex into `hex`.  Returns 0 or CF_EIO. */
int cf_pdf_sha256_file(const char *path, char hex[65]) CF_MUST_CHECK;

#endif
