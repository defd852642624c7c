/* Texts for caseflow's error codes and the helper that writes error messages. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *cf_strerror(int code)
{
    switch (code) {
    case CF_OK: return "success";
    case CF_ENOMEM: return "out of memory";
    case CF_EINVAL: return "invalid input";
    case CF_EIO: return "input/output error";
    case CF_ENOTFOUND: return "not found";
    case CF_EPARSE: return "parse error";
    case CF_ESCHEMA: return "schema violation";
    case CF_ESTATE: return "not allowed in this state";
    case CF_EDUP: return "duplicate";
    case CF_EDB: return "database error";
    case CF_EKAFKA: return "Kafka error";
    case CF_ETIMEOUT: return "timed out";
    case CF_EFENCED: return "fenced by a newer owner";
    case CF_ERANGE: return "value out of range";
    case CF_EPERM: return "not permitted";
    default: return "unknown error";
    }
}

int cf_errf(char *err, size_t errsz, int code, const char *fmt, ...)
{
    if (err && errsz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return code;
}
