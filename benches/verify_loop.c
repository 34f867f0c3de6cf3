/* A new X509_STORE and one verification per iteration, the way a program
 * that builds a fresh store per connection pays for trust.
 *
 *   verify_loop dir  HASHDIR   LEAF.pem UNTRUSTED.pem N
 *   verify_loop file BUNDLE    LEAF.pem UNTRUSTED.pem N
 *
 * dir:  X509_STORE_new + X509_LOOKUP_hash_dir + X509_LOOKUP_add_dir(HASHDIR)
 *       (OpenSSL looks the root up on demand: stat + fopen of <hash>.0);
 * file: X509_STORE_new + X509_STORE_load_locations(BUNDLE, NULL) (parses the
 *       whole bundle every time).
 * Then X509_STORE_CTX_new/init(store, leaf, untrusted) and X509_verify_cert,
 * which must return 1; everything is freed. Warm-up N/10, then N timed
 * iterations; prints microseconds per iteration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static X509 *read_cert(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) { fprintf(stderr, "%s: not a certificate\n", path); exit(2); }
    return x;
}

static void one(int dir_mode, const char *loc, X509 *leaf, STACK_OF(X509) *untrusted) {
    X509_STORE *store = X509_STORE_new();
    if (!store) exit(3);
    if (dir_mode) {
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        if (!lookup || X509_LOOKUP_add_dir(lookup, loc, X509_FILETYPE_PEM) != 1) {
            fprintf(stderr, "add_dir failed\n");
            exit(3);
        }
    } else if (X509_STORE_load_locations(store, loc, NULL) != 1) {
        fprintf(stderr, "load_locations(%s) failed\n", loc);
        exit(3);
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) exit(3);
    int rc = X509_verify_cert(ctx);
    if (rc != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        fprintf(stderr, "X509_verify_cert = %d: %s (depth %d)\n", rc,
                X509_verify_cert_error_string(err), X509_STORE_CTX_get_error_depth(ctx));
        exit(4);
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
}

int main(int argc, char **argv) {
    if (argc != 6 || (strcmp(argv[1], "dir") && strcmp(argv[1], "file"))) {
        fprintf(stderr, "usage: %s dir|file HASHDIR|BUNDLE LEAF.pem UNTRUSTED.pem N\n", argv[0]);
        return 1;
    }
    int dir_mode = strcmp(argv[1], "dir") == 0;
    const char *loc = argv[2];
    X509 *leaf = read_cert(argv[3]);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, read_cert(argv[4]));
    long n = atol(argv[5]);
    for (long i = 0; i < n / 10 + 1; i++) one(dir_mode, loc, leaf, untrusted);
    double t0 = now_us();
    for (long i = 0; i < n; i++) one(dir_mode, loc, leaf, untrusted);
    printf("%.2f\n", (now_us() - t0) / n);
    return 0;
}
