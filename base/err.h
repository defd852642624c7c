/*
 * Error values shared by every part of caseflow.
 *
 * Project-wide conventions, stated once here (as jq's jv.h does):
 *
 *  - A fallible function returns 0 on success or a negative CF_E* code, and is
 *    marked CF_MUST_CHECK.  When it can say more than the code, it takes a
 *    caller-owned buffer `char *err, size_t errsz` and writes one line of
 *    context into it ("workflows/x.yaml:12:7: unknown state 'fild'").
 *  - Ownership: a function that returns a pointer says who frees it.  Unless a
 *    comment says otherwise, arguments are borrowed (the callee copies what it
 *    keeps), returned `char *` and structs from the _new and _load functions are owned by the
 *    caller and freed with the matching *_free, and jansson values follow
 *    jansson's rules (a `json_t *` that is returned is a new reference).
 *  - Functions that hold resources have one cleanup exit (`goto out`).
 */
#ifndef CF_ERR_H
#define CF_ERR_H

#include <stddef.h>

#define CF_MUST_CHECK        __attribute__((warn_unused_result))
#define CF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

enum cf_errcode {
    CF_OK = 0,
    CF_ENOMEM = -1,    /* out of memory */
    CF_EINVAL = -2,    /* invalid argument or input */
    CF_EIO = -3,       /* reading or writing a file failed */
    CF_ENOTFOUND = -4, /* the named thing does not exist */
    CF_EPARSE = -5,    /* input could not be parsed */
    CF_ESCHEMA = -6,   /* input breaks its schema */
    CF_ESTATE = -7,    /* not allowed in the current state */
    CF_EDUP = -8,      /* already seen (duplicate) */
    CF_EDB = -9,       /* PostgreSQL failed */
    CF_EKAFKA = -10,   /* Kafka failed */
    CF_ETIMEOUT = -11, /* gave up waiting */
    CF_EFENCED = -12,  /* another owner took over */
    CF_ERANGE = -13,   /* a value is out of its bounds */
    CF_EPERM = -14,    /* not allowed for this caller */
};

/* Returns a static, human-readable text for a CF_E* code (never NULL). */
const char *cf_strerror(int code);

/*
 * Formats a message into the caller's buffer `err` of `errsz` bytes, always
 * NUL-terminated and silently truncated.  Does nothing when `err` is NULL or
 * `errsz` is 0.  Returns `code`, so that `return cf_errf(err, errsz, CF_EINVAL,
 * "...")` reports and fails in one line.
 */
int cf_errf(char *err, size_t errsz, int code, const char *fmt, ...) CF_PRINTF(4, 5);

#endif
