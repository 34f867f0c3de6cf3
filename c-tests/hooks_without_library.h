/* What gnutls_robust_nolink and nss_robust share: each calls the functions
 * libcafix.so hooks for one library in a process without that library, and
 * marks its steps so that tests/robustness.rs can count cafix's lines per
 * step. */
#ifndef CAFIX_HOOKS_WITHOUT_LIBRARY_H
#define CAFIX_HOOKS_WITHOUT_LIBRARY_H

#include <dlfcn.h>
#include <stdio.h>

/* "PROGRAM: step NAME" on stderr, where cafix logs too, and "== NAME" on
 * stdout. */
static void hooks_step(const char *program, const char *name) {
    fflush(stdout);
    fprintf(stderr, "%s: step %s\n", program, name);
    printf("== %s\n", name);
}

/* Says whether `soname` is loaded (it must not be: exit status 1), then,
 * one step each, looks up every one of `names` with dlsym(RTLD_DEFAULT),
 * which finds only libcafix.so's trampolines if it is preloaded, and calls
 * a defined one twice through `call(i, function)`: the first call logs that
 * nothing defines it, the second is answered alike, silently. */
__attribute__((unused)) static int call_hooks_without(const char *program, const char *soname, const char *const *names, int count,
                              void (*call)(int, void *)) {
    int loaded = dlopen(soname, RTLD_NOW | RTLD_NOLOAD) != NULL;
    printf("%s loaded: %s\n", soname, loaded ? "yes" : "no");
    if (loaded) return 1;
    for (int i = 0; i < count; i++) {
        hooks_step(program, names[i]);
        void *f = dlsym(RTLD_DEFAULT, names[i]);
        printf("%s %s\n", names[i], f ? "defined" : "undefined");
        if (!f) continue;
        call(i, f);
        call(i, f);
    }
    hooks_step(program, "end");
    return 0;
}

#endif
