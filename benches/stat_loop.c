/* Hot-path cost of the file hooks on paths cafix never serves.
 *
 *   stat_loop MODE PATH N
 *
 * MODE: stat       stat(PATH) must succeed (an existing unrelated file)
 *       statmiss   stat(PATH) must fail with ENOENT (a missing unrelated path)
 *       fopen      fopen(PATH, "r") + fclose, must succeed
 *
 * Runs N/10 warm-up calls, then N timed calls; prints nanoseconds per call.
 * Run it with and without LD_PRELOAD=libcafix.so (benches/run.sh does). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void one(const char *mode, const char *path) {
    if (mode[0] == 'f') {
        FILE *f = fopen(path, "r");
        if (!f) { perror(path); exit(2); }
        fclose(f);
        return;
    }
    struct stat st;
    int rc = stat(path, &st);
    if (strcmp(mode, "stat") == 0) {
        if (rc != 0) { perror(path); exit(2); }
    } else if (rc == 0 || errno != ENOENT) {
        fprintf(stderr, "%s: expected ENOENT\n", path);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s stat|statmiss|fopen PATH N\n", argv[0]);
        return 1;
    }
    const char *mode = argv[1], *path = argv[2];
    long n = atol(argv[3]);
    for (long i = 0; i < n / 10; i++) one(mode, path);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) one(mode, path);
    double t1 = now_ns();
    printf("%.2f\n", (t1 - t0) / n);
    return 0;
}
