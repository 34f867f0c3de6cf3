/* The shim's first miss: stat() of a missing hash entry in a trust
 * directory, whose certificate the system bundle has. The first call builds
 * the shim's state (configuration, logger) and reads + indexes the bundle;
 * the second is the same path again; the third another hash (index already
 * built, a new directory/hash entry).
 *
 *   first_miss PATH1 PATH2
 *
 * Prints three numbers, microseconds: first, again, other. Each stat must
 * succeed (i.e. the shim served it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double timed_stat(const char *path) {
    struct stat st;
    double t0 = now_us();
    int rc = stat(path, &st);
    double t1 = now_us();
    if (rc != 0) { perror(path); exit(2); }
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH1 PATH2\n", argv[0]);
        return 1;
    }
    double first = timed_stat(argv[1]);
    double again = timed_stat(argv[1]);
    double other = timed_stat(argv[2]);
    printf("%.1f %.1f %.1f\n", first, again, other);
    return 0;
}
