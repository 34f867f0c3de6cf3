/*
 * side_by_side_client: two OpenSSL major versions in one process.
 *
 * usage: side_by_side_client CRYPTO_A SSL_A CRYPTO_B SSL_B MODE LOCATION HOST PORT
 *
 * dlopen()s libcrypto then libssl of pair A, then of pair B, all with
 * RTLD_LOCAL (neither is reachable through the global scope or RTLD_NEXT),
 * takes every function with dlsym() on its own handles, and runs the client
 * of tls_client_common.h once with A and once with B, in that order. Before
 * each run it prints "== <OpenSSL_version()>"; each run prints its own
 * "OK ..." or "ERROR: ..." line. Exits 0 if both runs succeeded, else 1.
 *
 * This is the process a program linked to libssl.so.1.1 that also runs
 * Python's libssl.so.3 (or a plugin with its own OpenSSL) makes: libcafix.so
 * must call the real X509_verify_cert of the library each caller came from.
 * SSL_CTX_load_verify_dir is new in 3.0: it may be missing (mode "dir" then
 * fails on that library).
 */
#include <dlfcn.h>

#include "tls_client_common.h"

static int load(struct ossl *o, const char *crypto_path, const char *ssl_path) {
    void *crypto = dlopen(crypto_path, RTLD_NOW | RTLD_LOCAL);
    if (!crypto) {
        printf("ERROR: dlopen %s: %s\n", crypto_path, dlerror());
        return 0;
    }
    void *ssl = dlopen(ssl_path, RTLD_NOW | RTLD_LOCAL);
    if (!ssl) {
        printf("ERROR: dlopen %s: %s\n", ssl_path, dlerror());
        return 0;
    }
#define OSSL_DLSYM(handle, lib, name)                                        \
    *(void **)(&o->name) = dlsym(handle, #name);                             \
    if (!o->name && strcmp(#name, "SSL_CTX_load_verify_dir") != 0) {         \
        printf("ERROR: %s is not in %s: %s\n", #name, lib, dlerror());       \
        return 0;                                                            \
    }
#define FROM_SSL(name) OSSL_DLSYM(ssl, ssl_path, name)
#define FROM_CRYPTO(name) OSSL_DLSYM(crypto, crypto_path, name)
    SSL_FUNCTIONS(FROM_SSL)
    CRYPTO_FUNCTIONS(FROM_CRYPTO)
#undef FROM_SSL
#undef FROM_CRYPTO
#undef OSSL_DLSYM
    return 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 9) {
        fprintf(stderr, "usage: %s CRYPTO_A SSL_A CRYPTO_B SSL_B MODE LOCATION HOST PORT\n", argv[0]);
        return 2;
    }
    struct ossl a, b;
    if (!load(&a, argv[1], argv[2]) || !load(&b, argv[3], argv[4])) return 1;
    client_name = "side_by_side_client";
    /* run_client takes the program name and MODE LOCATION HOST PORT. */
    char *client_argv[] = {argv[0], argv[5], argv[6], argv[7], argv[8], NULL};
    int failed = 0;
    const struct ossl *tables[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        const struct ossl *o = tables[i];
        if (strcmp(argv[5], "dir") == 0 && !o->SSL_CTX_load_verify_dir) {
            printf("== %s\nERROR: SSL_CTX_load_verify_dir is missing\n", o->OpenSSL_version(OPENSSL_VERSION));
            failed = 1;
            continue;
        }
        printf("== %s\n", o->OpenSSL_version(OPENSSL_VERSION));
        if (run_client(o, 5, client_argv) != 0) failed = 1;
    }
    return failed;
}
