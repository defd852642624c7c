/*
 * Finding caseflow's data files: the configuration's data folder, else the source tree when the
 * binary runs in its build tree, else the install prefix found from the executable's own place.
 * No path of the source tree is compiled in: an installed binary cannot fall back on it.
 */
#include "path.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The install layout relative to the binary's folder (bin/ -> share/caseflow); the build sets
 * it from GNUInstallDirs. */
#ifndef CF_DATADIR_REL
#define CF_DATADIR_REL "../share/caseflow"
#endif

/* The file the build writes beside the binary, naming the source tree (CMakeLists.txt). */
#define SOURCE_MARK "caseflow-source-dir"

/* Set once at start-up, before any thread, by cf_config_load. */
static char data_dir[PATH_MAX];

int cf_path_set_data_dir(const char *dir)
{
    data_dir[0] = '\0';
    if (!dir || !*dir)
        return 0;
    if (strlen(dir) >= sizeof data_dir)
        return CF_ERANGE;
    memcpy(data_dir, dir, strlen(dir) + 1);
    return 0;
}

/* Writes the folder of the running executable into `out`; returns 0 or -1. */
static int exe_dir(char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    char *slash;

    if (len <= 0 || (size_t)len >= n - 1)
        return -1;
    out[len] = '\0';
    if (!(slash = strrchr(out, '/')))
        return -1;
    if (slash == out)
        slash++; /* the root folder keeps its slash */
    *slash = '\0';
    return 0;
}

/* Reads the source tree named by the build's mark in folder `dir`; returns 0, or -1 when the
 * folder is no build tree. */
static int source_tree(const char *dir, char *out, size_t n)
{
    char mark[PATH_MAX + sizeof SOURCE_MARK + 1];
    FILE *f;
    size_t len;

    if (snprintf(mark, sizeof mark, "%s/%s", dir, SOURCE_MARK) >= (int)sizeof mark ||
        !(f = fopen(mark, "r")))
        return -1;
    len = fread(out, 1, n - 1, f);
    fclose(f);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        len--;
    out[len] = '\0';
    return len > 0 && out[0] == '/' ? 0 : -1;
}

const char *cf_path_data_dir(char *out, size_t n)
{
    char exe[PATH_MAX], prefixed[2 * PATH_MAX], real[PATH_MAX];
    const char *dir = prefixed;
    int len;

    if (data_dir[0])
        dir = data_dir;
    else if (exe_dir(exe, sizeof exe) != 0)
        return NULL;
    else if (source_tree(exe, out, n) == 0)
        return out;
    else {
        snprintf(prefixed, sizeof prefixed, "%s%s%s", exe, exe[1] ? "/" : "", CF_DATADIR_REL);
        /* "/usr/share/caseflow" rather than "/usr/bin/../share/caseflow" in messages. */
        if (realpath(prefixed, real))
            dir = real;
    }
    len = snprintf(out, n, "%s", dir);
    return len >= 0 && (size_t)len < n ? out : NULL;
}

const char *cf_path_find(const char *rel, char *out, size_t n)
{
    char dir[PATH_MAX];
    int len;

    if (n == 0)
        return out;
    if (rel[0] == '/' || access(rel, F_OK) == 0 || !cf_path_data_dir(dir, sizeof dir))
        len = snprintf(out, n, "%s", rel);
    else
        len = snprintf(out, n, "%s/%s", dir, rel);
    if (len < 0 || (size_t)len >= n)
        out[0] = '\0';
    return out;
}
