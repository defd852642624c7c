/*
 * The fields of a case's documents: what the ${field} placeholders of the templates in
 * workflows/templates/ can name, made from the case's data (parties, basis, amount), the
 * court's settings (document.* in the configuration) and the handler's post.  Also the Chinese
 * forms that documents write: dates in Chinese numerals and amounts in capital numerals.
 */
#ifndef CF_DOCFIELDS_H
#define CF_DOCFIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "base/config.h"
#include "base/err.h"

/*
 * Returns 0 and a new object (the caller's) in `*out` with these text fields:
 *   case_no, year, court_name, cause, claim_kind, applicant_names, respondent_names (joined
 *   with "、"), basis_court, basis_no, basis_date, filed_date, date (the document's date),
 *   amount ("120,000.50"), amount_words ("壹拾贰万元伍角"), account_name, account_bank,
 *   account_number, account_remark, handler, phone;
 * and `date_iso`, the document's date as an RFC 3339 instant for the PDF's metadata.
 * The document's date is `params.date` when the task gives one, else the filing day (the court
 * makes the notices on the day of filing).  `handler` is the title of the handler's post
 * (data.handler_post looked up in `post_titles`, an object of id: title; the id itself when
 * there is none).  `court_name` is the name of the case's court (core/caseno.h, cf_caseno_court),
 * of the home court when the key names none.  Missing case data gives empty texts, except the
 * filing time.
 * Returns CF_EINVAL when data.filed_at (or params.date) is not a date, CF_ENOMEM.
 */
int cf_docfields_build(const cf_config *cfg, const char *case_no, const json_t *data,
                       const json_t *params, const json_t *post_titles, json_t **out, char *err,
                       size_t errsz) CF_MUST_CHECK;

/*
 * Writes `yuan` in capital numerals as a cheque or a court document writes it ("壹拾贰万元伍角",
 * "叁佰元整", "壹仟零伍元零陆分") into `buf`.  Returns 0, or CF_ERANGE for a negative amount, one
 * of a trillion yuan or more, or a buffer too small.
 */
int cf_docfields_amount_words(double yuan, char *buf, size_t n) CF_MUST_CHECK;

/* Writes the amount with thousands separators and two decimals ("120,000.50") into `buf`. */
void cf_docfields_amount_digits(double yuan, char *buf, size_t n);

/* Writes a date in Chinese numerals ("二〇二六年三月二日") into `buf`. */
void cf_docfields_date_words(int year, int month, int day, char *buf, size_t n);

#endif
