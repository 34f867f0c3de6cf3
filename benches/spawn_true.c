/* Process start cost: posix_spawn()s a program N times and waits for each.
 *
 *   spawn_true N PROGRAM [VAR=VALUE ...]
 *
 * The child's environment is exactly the VAR=VALUE arguments (so
 * LD_PRELOAD=.../libcafix.so or nothing). Prints microseconds per spawn+wait. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s N PROGRAM [VAR=VALUE ...]\n", argv[0]);
        return 1;
    }
    long n = atol(argv[1]);
    char *child_argv[] = {argv[2], NULL};
    char **child_env = argv + 3; /* NULL-terminated by main's contract */
    double t0 = 0;
    for (long i = -n / 20; i < n; i++) { /* 5% warm-up */
        if (i == 0) t0 = now_us();
        pid_t pid;
        int rc = posix_spawn(&pid, argv[2], NULL, NULL, child_argv, child_env);
        if (rc != 0) { fprintf(stderr, "posix_spawn failed: %d\n", rc); return 2; }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child failed\n");
            return 2;
        }
    }
    printf("%.2f\n", (now_us() - t0) / n);
    return 0;
}
