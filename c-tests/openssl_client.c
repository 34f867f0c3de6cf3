/* A TLS client linked to libssl/libcrypto; see tls_client_common.h. */
#include "tls_client_common.h"

int main(int argc, char **argv) {
    struct ossl o = {
#define OSSL_DIRECT(name) .name = name,
        OSSL_FUNCTIONS(OSSL_DIRECT)
#undef OSSL_DIRECT
    };
    client_name = "openssl_client";
    return run_client(&o, argc, argv);
}
