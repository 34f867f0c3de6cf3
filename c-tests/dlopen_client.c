/*
 * The same client as openssl_client.c, but not linked to OpenSSL at all:
 * libssl and libcrypto are dlopen()ed with RTLD_LOCAL and every function is
 * taken with dlsym() on their handles, as Qt 5 and 6 load OpenSSL. The
 * headers only give the prototypes. See tls_client_common.h.
 *
 * Built twice by the Makefile:
 *   dlopen_client              libssl.so.3, then libcrypto.so.3
 *   dlopen_client_unversioned  libcrypto.so, then libssl.so: what Debian's
 *                              Qt 5.15 and Qt 6.4 actually open when
 *                              libssl-dev is installed (LD_DEBUG=files shows
 *                              "file=libcrypto.so ... dynamically loaded by
 *                              libQt5Core.so.5"), so the link map names the
 *                              unversioned development symlinks.
 */
#include <dlfcn.h>

#include "tls_client_common.h"

#ifndef DLOPEN_SSL
#define DLOPEN_SSL "libssl.so.3"
#endif
#ifndef DLOPEN_CRYPTO
#define DLOPEN_CRYPTO "libcrypto.so.3"
#endif
#ifndef DLOPEN_CRYPTO_FIRST
#define DLOPEN_CRYPTO_FIRST 0
#endif

static void *open_library(const char *name, int flags) {
    void *handle = dlopen(name, flags);
    if (!handle) {
        printf("ERROR: dlopen %s: %s\n", name, dlerror());
        exit(1);
    }
    return handle;
}

int main(int argc, char **argv) {
    void *ssl, *crypto;
    if (DLOPEN_CRYPTO_FIRST) {
        crypto = open_library(DLOPEN_CRYPTO, RTLD_NOW | RTLD_LOCAL);
        ssl = open_library(DLOPEN_SSL, RTLD_NOW | RTLD_LOCAL);
    } else {
        ssl = open_library(DLOPEN_SSL, RTLD_NOW | RTLD_LOCAL);
        crypto = open_library(DLOPEN_CRYPTO, RTLD_NOW | RTLD_LOCAL);
    }
    struct ossl o;
#define OSSL_DLSYM(handle, lib, name)                                   \
    *(void **)(&o.name) = dlsym(handle, #name);                         \
    if (!o.name) {                                                      \
        printf("ERROR: %s is not in %s: %s\n", #name, lib, dlerror());  \
        return 1;                                                       \
    }
#define FROM_SSL(name) OSSL_DLSYM(ssl, DLOPEN_SSL, name)
#define FROM_CRYPTO(name) OSSL_DLSYM(crypto, DLOPEN_CRYPTO, name)
    SSL_FUNCTIONS(FROM_SSL)
    CRYPTO_FUNCTIONS(FROM_CRYPTO)
#undef FROM_SSL
#undef FROM_CRYPTO
#undef OSSL_DLSYM
    client_name = DLOPEN_CRYPTO_FIRST ? "dlopen_client_unversioned" : "dlopen_client";
    return run_client(&o, argc, argv);
}
