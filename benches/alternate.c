/* Whole-process cost of a system-wide preload: runs one command again and
 * again, switching /etc/ld.so.preload between variants process by process.
 *
 *   alternate ROUNDS PRELOAD_FILE VARIANT... -- COMMAND [ARG...]
 *
 * A VARIANT is `off` (PRELOAD_FILE removed), `on:LIBRARY` (PRELOAD_FILE
 * holds LIBRARY) or `on:LIBRARY:VAR=VALUE` (the same, VAR=VALUE added to the
 * command's environment). Each round runs every variant once, the order
 * rotated by one each round, after one untimed warm-up round. The command
 * runs with this program's environment, stdout and stderr to /dev/null, and
 * must exit 0. Prints one line per round: each variant's wall time
 * (posix_spawn to waitpid), microseconds, in the order given.
 *
 * Only for a private mount namespace whose /etc is a scratch copy: it
 * rewrites PRELOAD_FILE. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#define MAX_VARIANTS 8
#define MAX_ENV 256

struct variant {
    char *library; /* NULL: off */
    char **env;
};

static void set_preload(const char *file, const char *library) {
    if (!library) {
        if (unlink(file) != 0 && access(file, F_OK) == 0) { perror(file); exit(2); }
        return;
    }
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(file); exit(2); }
    size_t n = strlen(library);
    if (write(fd, library, n) != (ssize_t)n || write(fd, "\n", 1) != 1) { perror(file); exit(2); }
    close(fd);
}

static double run(struct variant *v, const char *file, char **cmd, posix_spawn_file_actions_t *fa) {
    set_preload(file, v->library);
    pid_t pid;
    int status;
    double t0 = now_us();
    int rc = posix_spawn(&pid, cmd[0], fa, NULL, cmd, v->env);
    if (rc != 0) { fprintf(stderr, "posix_spawn %s: %s\n", cmd[0], strerror(rc)); exit(2); }
    if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); exit(2); }
    double t1 = now_us();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s failed (status %d) with preload %s\n", cmd[0], status, v->library ? v->library : "off");
        exit(2);
    }
    return t1 - t0;
}

int main(int argc, char **argv) {
    int sep = 0;
    for (int i = 1; i < argc; i++) if (strcmp(argv[i], "--") == 0) { sep = i; break; }
    if (argc < 6 || sep < 4 || sep == argc - 1) {
        fprintf(stderr, "usage: %s ROUNDS PRELOAD_FILE VARIANT... -- COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    long rounds = atol(argv[1]);
    const char *file = argv[2];
    int k = sep - 3;
    if (k > MAX_VARIANTS) { fprintf(stderr, "at most %d variants\n", MAX_VARIANTS); return 2; }
    struct variant v[MAX_VARIANTS];
    int nenv = 0;
    while (environ[nenv] && nenv < MAX_ENV - 2) nenv++;
    for (int i = 0; i < k; i++) {
        char *spec = argv[3 + i];
        v[i].library = NULL;
        v[i].env = environ;
        if (strcmp(spec, "off") == 0) continue;
        if (strncmp(spec, "on:", 3) != 0) { fprintf(stderr, "bad variant %s\n", spec); return 2; }
        v[i].library = spec + 3;
        char *extra = strchr(v[i].library, ':');
        if (extra) {
            *extra++ = '\0';
            char **env = calloc(nenv + 2, sizeof *env);
            memcpy(env, environ, nenv * sizeof *env);
            env[nenv] = extra;
            v[i].env = env;
        }
    }
    char **cmd = argv + sep + 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    for (int i = 0; i < k; i++) run(&v[i], file, cmd, &fa); /* warm-up */
    double t[MAX_VARIANTS];
    for (long r = 0; r < rounds; r++) {
        for (int j = 0; j < k; j++) {
            int i = (int)((j + r) % k);
            t[i] = run(&v[i], file, cmd, &fa);
        }
        for (int i = 0; i < k; i++) printf("%s%.1f", i ? " " : "", t[i]);
        printf("\n");
        fflush(stdout);
    }
    set_preload(file, NULL);
    return 0;
}
