/* What a requests/httpx-style client pays to load certifi's copy of the
 * public roots: SSL_CTX_new + SSL_CTX_load_verify_locations(FILE) +
 * SSL_CTX_free per iteration.
 *
 *   load_copy FILE N        warm-up N/10, then N timed iterations:
 *                           prints microseconds per iteration
 *   load_copy FILE first    one load, the first in this process: prints its
 *                           microseconds (what the first load costs, with
 *                           libcafix.so's engine load, bundle index, local
 *                           CA discovery and judgement of FILE included)
 * Every load must succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/ssl.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void one(const char *file) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
        fprintf(stderr, "load of %s failed\n", file);
        exit(3);
    }
    SSL_CTX_free(ctx);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: load_copy FILE N|first\n");
        return 2;
    }
    const char *file = argv[1];
    if (strcmp(argv[2], "first") == 0) {
        double t0 = now_us();
        one(file);
        printf("%.1f\n", now_us() - t0);
        return 0;
    }
    long n = atol(argv[2]);
    for (long i = 0; i < n / 10 + 1; i++) one(file);
    double t0 = now_us();
    for (long i = 0; i < n; i++) one(file);
    printf("%.2f\n", (now_us() - t0) / n);
    return 0;
}
