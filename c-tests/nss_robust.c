/* nss_robust: libcafix.so's NSS hooks in a process without NSS. Used by
 * tests/robustness.rs. NOT linked to libnss3 (the program checks that no
 * libnss3 is loaded): every function libcafix.so hooks for NSS
 * (engine_abi::NSS_HOOKS, in its order) is looked up with
 * dlsym(RTLD_DEFAULT), which finds only libcafix.so's trampolines, if
 * preloaded, and called twice with NULL arguments; the calls must fail as
 * NSS does: SECFailure (-1), or a null pointer from the functions that
 * return one. Before each function the program writes "nss_robust: step
 * NAME" to stderr, where cafix logs too (hooks_without_library.h).
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "hooks_without_library.h"

typedef int (*status_of_dir)(const char *);
typedef int (*initialize)(const char *, const char *, const char *, const char *, unsigned);
typedef void *(*init_context)(const char *, const char *, const char *, const char *, void *, unsigned);
typedef void *(*load_user_module)(char *, void *, int);
typedef void *(*load_with_function)(const char *, void *);
typedef int (*add_new_module)(const char *, const char *, unsigned long, unsigned long);
typedef int (*add_new_module_ex)(const char *, const char *, unsigned long, unsigned long, char *, char *);

static const char *const NAMES[] = {
    "NSS_Init",
    "NSS_InitReadWrite",
    "NSS_Initialize",
    "NSS_InitContext",
    "SECMOD_LoadUserModule",
    "SECMOD_LoadUserModuleWithFunction",
    "SECMOD_AddNewModule",
    "SECMOD_AddNewModuleEx",
};

static const char *pointer(const void *p) { return p ? "non-NULL" : "NULL"; }

/* Calls hook i with NULL arguments; prints what it returned. */
static void call(int i, void *f) {
    const char *name = NAMES[i];
    switch (i) {
    case 0:
    case 1: printf("%s(NULL)=%d\n", name, ((status_of_dir)f)(NULL)); break;
    case 2: printf("%s(NULL, NULL, NULL, NULL, 0)=%d\n", name, ((initialize)f)(NULL, NULL, NULL, NULL, 0)); break;
    case 3:
        printf("%s(NULL, NULL, NULL, NULL, NULL, 0)=%s\n", name,
               pointer(((init_context)f)(NULL, NULL, NULL, NULL, NULL, 0)));
        break;
    case 4: printf("%s(NULL, NULL, 0)=%s\n", name, pointer(((load_user_module)f)(NULL, NULL, 0))); break;
    case 5: printf("%s(NULL, NULL)=%s\n", name, pointer(((load_with_function)f)(NULL, NULL))); break;
    case 6: printf("%s(NULL, NULL, 0, 0)=%d\n", name, ((add_new_module)f)(NULL, NULL, 0, 0)); break;
    case 7:
        printf("%s(NULL, NULL, 0, 0, NULL, NULL)=%d\n", name,
               ((add_new_module_ex)f)(NULL, NULL, 0, 0, NULL, NULL));
        break;
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    return call_hooks_without("nss_robust", "libnss3.so", NAMES, (int)(sizeof NAMES / sizeof NAMES[0]), call);
}
