/* interposer: another preloaded library that wraps stat, fopen, open and
 * access the way libfaketime or fakeroot do: it reports each call on stderr
 * and forwards it with dlsym(RTLD_NEXT). Used by tests/robustness.rs to show
 * that libcafix.so, preloaded before or after it, keeps the loader's order:
 * each call passes through both libraries, then reaches libc.
 *
 *   cc -shared -fPIC -o libinterposer.so interposer.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *fn, const char *path) {
    char line[512];
    int n = snprintf(line, sizeof line, "interposer: %s %s\n", fn, path ? path : "(null)");
    if (n > 0) write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int stat(const char *path, struct stat *st) {
    static int (*next)(const char *, struct stat *);
    if (!next) next = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "stat");
    report("stat", path);
    return next(path, st);
}

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*next)(const char *, const char *);
    if (!next) next = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    report("fopen", path);
    return next(path, mode);
}

int open(const char *path, int flags, ...) {
    static int (*next)(const char *, int, ...);
    if (!next) next = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    report("open", path);
    return next(path, flags, mode);
}

int access(const char *path, int how) {
    static int (*next)(const char *, int);
    if (!next) next = (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
    report("access", path);
    return next(path, how);
}
