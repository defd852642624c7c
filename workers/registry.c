/*
 * The table of worker kinds: each kind of bulk work that a `caseflow worker
 * KIND` process can do.  A new kind is one line here and one file in workers/
 * (docs/workers.md).
 */
#include <stddef.h>
#include <string.h>

#include "workers/worker.h"

/* Defined by their own files: kind_documents.c, kind_query.c, kind_misc.c, kind_payments.c. */
extern const cf_worker_kind cf_kind_documents, cf_kind_service;
extern const cf_worker_kind cf_kind_network_query, cf_kind_six_checks;
extern const cf_worker_kind cf_kind_auction, cf_kind_archive;
extern const cf_worker_kind cf_kind_payments;

static const cf_worker_kind *const kinds[] = {
    &cf_kind_documents, &cf_kind_service, &cf_kind_network_query, &cf_kind_six_checks,
    &cf_kind_auction,   &cf_kind_archive, &cf_kind_payments,
};

const cf_worker_kind *cf_worker_kind_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}
