/*
 * The web workplace's files under /: GET and HEAD of a path outside /api/ answer with a file of
 * the web folder (server.web), and nothing else.  The path a client sends is checked segment by
 * segment (no "..", ".", hidden names, backslashes or control characters; libmicrohttpd has
 * already decoded %2e%2e into ".."), then resolved with realpath and required to lie inside the
 * folder, so that neither a crafted path nor a symbolic link reaches another file.  Only regular
 * files of a known type are served: a folder is never listed.  The workplace's pages (/,
 * /case.html,
 * ...) are one frame, app.html, whose script draws the page the path names: /NAME.html is a page
 * when the folder has no such file but has the module js/pages/NAME.js.  Pages carry a strict
 * Content-Security-Policy: scripts, styles and everything else from this origin only, no inline
 * script, no frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* What every page may load: its own origin, nothing inline, no plug-ins, no framing. */
#define PAGE_CSP                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "               \
    "frame-ancestors 'none'"

/* The largest file served: the workplace's files are small; anything bigger is a mistake. */
#define MAX_FILE (16 * 1024 * 1024)

size_t cf_read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/*
 * Whether `path` (decoded, starting with '/') may name a file of the web folder: UTF-8 without
 * control characters, no backslash, and each segment a plain name (not empty, not starting
 * with '.', so neither "." nor ".." nor hidden files).
 */
static int plain_path(const char *path)
{
    const char *seg;

    if (path[0] != '/' || strlen(path) > 512 || !cf_utf8_ok(path) || strchr(path, '\\'))
        return 0;
    for (seg = path + 1; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || seg[0] == '.')
            return 0;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return 1;
}

/* Answers 404 with the web folder's 404.html when it has one (a page people can read). */
static void not_found(cf_srv *s, cf_req *r, const char *what);

/* Reads `full` (a regular file inside the web folder) and answers with it. */
static void send_file(cf_srv *s, cf_req *r, const char *full, const char *type, int status)
{
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    const char *inm;
    char *buf = NULL;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
        if (fd >= 0)
            close(fd);
        if (status == 404) /* the 404 page itself is missing: a plain problem */
            cf_reply_problem(r, 404, "not-found", "there is no such page", NULL);
        else
            not_found(s, r, "there is no such file");
        return;
    }
    /* Revalidated on every use (no-cache), answered 304 while unchanged: a new version of the
     * workplace is seen at once, and an unchanged file costs a round trip only. */
    snprintf(r->etag, sizeof r->etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    r->cache = "no-cache";
    r->csp = PAGE_CSP;
    inm = cf_req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (status == 200 && inm && strcmp(inm, r->etag) == 0) {
        close(fd);
        cf_reply_text(r, 304, type, NULL, 0);
        return;
    }
    if (st.st_size > 0 && !(buf = malloc((size_t)st.st_size))) {
        close(fd);
        cf_reply_problem(r, 500, "out-of-memory", "the file could not be read", NULL);
        return;
    }
    got = cf_read_full(fd, buf, (size_t)st.st_size);
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        cf_reply_problem(r, 500, "internal", "the file could not be read", NULL);
        return;
    }
    cf_reply_text(r, status, type, buf, got);
}

static void not_found(cf_srv *s, cf_req *r, const char *what)
{
    char full[PATH_MAX + 16];

    if (!s->web[0]) {
        cf_reply_problem(r, 404, "not-found", what, NULL);
        return;
    }
    snprintf(full, sizeof full, "%s/404.html", s->web);
    send_file(s, r, full, "text/html; charset=utf-8", 404);
}

/* Whether `path` (a plain path) is a page of the workplace drawn in the frame: see above. */
static int is_page(const cf_srv *s, const char *path)
{
    char file[PATH_MAX], module[PATH_MAX];
    size_t n = strlen(path);

    if (n < 7 || strchr(path + 1, '/') || strcmp(path + n - 5, ".html") != 0)
        return 0;
    if ((size_t)snprintf(file, sizeof file, "%s%s", s->web, path) >= sizeof file ||
        (size_t)snprintf(module, sizeof module, "%s/js/pages/%.*s.js", s->web, (int)(n - 6),
                         path + 1) >= sizeof module)
        return 0;
    return access(file, F_OK) != 0 && access(module, R_OK) == 0;
}

void cf_static(cf_srv *s, cf_req *r)
{
    char want[PATH_MAX], real[PATH_MAX];
    const char *path = r->path, *type;
    size_t root = strlen(s->web);

    if (!s->web[0]) {
        cf_reply_problem(r, 404, "not-found", "this server has no web workplace (server.web)",
                         NULL);
        return;
    }
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (!plain_path(path) || !(type = type_of(path))) {
        not_found(s, r, "there is no such file");
        return;
    }
    if (is_page(s, path))
        path = "/app.html";
    if ((size_t)snprintf(want, sizeof want, "%s%s", s->web, path) >= sizeof want) {
        not_found(s, r, "there is no such file");
        return;
    }
    /* The file's real place must be inside the folder: a link out of it is not followed. */
    if (!realpath(want, real) || strncmp(real, s->web, root) != 0 || real[root] != '/') {
        not_found(s, r, "there is no such file");
        return;
    }
    send_file(s, r, real, type, 200);
}
