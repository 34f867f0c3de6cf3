/* One failed verification per iteration, for what a record costs where it
 * goes (benches/log_record.sh):
 *
 *   log_record CERT N
 *
 * verifies CERT (PEM, self-signed: error 18) against an empty store N + N/10
 * times (the first N/10 a warm-up); each verification fails, and with
 * libcafix.so preloaded each failure is explained in one record. Prints the
 * microseconds per timed iteration. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void verify_once(X509 *cert) {
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!store || !ctx || !X509_STORE_CTX_init(ctx, store, cert, NULL)) exit(2);
    if (X509_verify_cert(ctx) == 1) exit(3); /* must fail */
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: log_record CERT N\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (!cert) return 2;
    fclose(f);
    long n = atol(argv[2]);
    for (long i = 0; i < n / 10; i++) verify_once(cert);
    double start = now_us();
    for (long i = 0; i < n; i++) verify_once(cert);
    printf("%.2f\n", (now_us() - start) / (n ? n : 1));
    X509_free(cert);
    return 0;
}
