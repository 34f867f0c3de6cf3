/* robust: drives libcafix.so through faults real programs produce.
 * Used by tests/robustness.rs; every mode prints what it saw.
 *
 *   robust threads PATH          32 threads x 200 served stat+fopen at once
 *   robust fork PATH             fork 50 children while a thread indexes
 *   robust signals PATH          a 50 us timer whose handler calls stat
 *                                (a handler interrupting the shim itself is
 *                                answered as without it: re-entry is refused)
 *   robust errno PATH...         errno after stat/fopen/open/access
 *   robust dlopen DIR CERT       verify CERT against hash dir DIR through a
 *                                libcrypto dlopen()ed RTLD_LOCAL, 3 rounds
 *                                of dlopen / verify / dlclose
 *   robust closefds PATH FILE    close fds 0-2, open FILE (it gets fd 0),
 *                                look PATH up, write FILE's text
 *   robust openssl-odd -         OpenSSL entry points called oddly: first
 *                                with no OpenSSL loaded at all (through
 *                                dlsym(RTLD_DEFAULT), which finds only the
 *                                shim's hooks, if preloaded), then through a
 *                                dlopen()ed libcrypto with NULL arguments
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path;

/* stat + fopen + first line is a PEM header */
static int served(void) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[64] = {0};
    int ok = fgets(line, sizeof line, f) && strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
    fclose(f);
    return ok;
}

/* ---- threads ---------------------------------------------------------- */
#define THREADS 32
#define ROUNDS 200
static pthread_barrier_t barrier;
static int counts[THREADS];

static void *thread_main(void *arg) {
    int id = (int)(long)arg;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ROUNDS; i++) counts[id] += served();
    return NULL;
}

static int mode_threads(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, thread_main, (void *)i);
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += counts[i];
    }
    printf("served %d of %d\n", total, THREADS * ROUNDS);
    return 0;
}

/* ---- fork while indexing ------------------------------------------------ */
static void *first_lookup(void *arg) {
    (void)arg;
    served();
    return NULL;
}

static int mode_fork(void) {
    pthread_t t;
    pthread_create(&t, NULL, first_lookup, NULL); /* races the forks below */
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a deadlocked child dies instead of hanging the test */
            _exit(served() ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
        else if (WIFSIGNALED(status)) printf("child %d died of signal %d\n", i, WTERMSIG(status));
    }
    pthread_join(t, NULL);
    printf("children served %d of 50\n", ok);
    return ok == 50 ? 0 : 1;
}

/* ---- signal handlers calling stat -------------------------------------- */
static volatile sig_atomic_t handler_calls, handler_served, handler_errno_kept;

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    struct stat st;
    errno = 77;
    if (stat(path, &st) == 0) {
        handler_served++;
        if (errno == 77) handler_errno_kept++;
    }
    stat("/nonexistent/cafix", &st);
    handler_calls++;
    errno = saved;
}

static int mode_signals(void) {
    served(); /* the first lookup indexes; later ones allocate nothing */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    int ok = 0;
    for (int i = 0; i < 20000; i++) ok += served();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("main loop served %d of 20000\n", ok);
    printf("handler calls %d served %d errno kept %d\n", (int)handler_calls, (int)handler_served,
           (int)handler_errno_kept);
    /* A handler that interrupts the shim itself gets the real answer
     * (re-entry is refused), so not every handler call is served. */
    return ok == 20000 && handler_served > 0 && handler_errno_kept == handler_served ? 0 : 1;
}

/* ---- errno --------------------------------------------------------------- */
static int mode_errno(int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        const char *p = argv[i];
        struct stat st;
        errno = 4242;
        int r = stat(p, &st);
        printf("%s stat=%d errno=%d\n", p, r, errno);
        errno = 4242;
        FILE *f = fopen(p, "r");
        printf("%s fopen=%s errno=%d\n", p, f ? "ok" : "null", errno);
        if (f) fclose(f);
        errno = 4242;
        int fd = open(p, O_RDONLY);
        printf("%s open=%s errno=%d\n", p, fd >= 0 ? "ok" : "-1", errno);
        if (fd >= 0) close(fd);
        errno = 4242;
        r = access(p, R_OK);
        printf("%s access=%d errno=%d\n", p, r, errno);
    }
    return 0;
}

/* ---- dlopen RTLD_LOCAL / dlclose ---------------------------------------- */
static int mode_dlopen(const char *dir, const char *cert_path) {
    for (int round = 0; round < 3; round++) {
        void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            printf("dlopen: %s\n", dlerror());
            return 1;
        }
#define SYM(name) void *name = dlsym(h, #name); if (!name) { printf("no %s\n", #name); return 1; }
        SYM(X509_STORE_new) SYM(X509_STORE_add_lookup) SYM(X509_LOOKUP_hash_dir) SYM(X509_LOOKUP_ctrl)
        SYM(PEM_read_X509) SYM(X509_STORE_CTX_new) SYM(X509_STORE_CTX_init) SYM(X509_verify_cert)
        SYM(X509_STORE_CTX_get_error) SYM(X509_STORE_CTX_free) SYM(X509_STORE_free) SYM(X509_free)
        void *store = ((void *(*)(void))X509_STORE_new)();
        void *method = ((void *(*)(void))X509_LOOKUP_hash_dir)();
        void *lookup = ((void *(*)(void *, void *))X509_STORE_add_lookup)(store, method);
        /* X509_LOOKUP_add_dir(lookup, dir, X509_FILETYPE_PEM) */
        ((int (*)(void *, int, const char *, long, char **))X509_LOOKUP_ctrl)(lookup, 2, dir, 1, NULL);
        FILE *f = fopen(cert_path, "r");
        if (!f) {
            printf("cannot read %s\n", cert_path);
            return 1;
        }
        void *cert = ((void *(*)(FILE *, void *, void *, void *))PEM_read_X509)(f, NULL, NULL, NULL);
        fclose(f);
        void *ctx = ((void *(*)(void))X509_STORE_CTX_new)();
        ((int (*)(void *, void *, void *, void *))X509_STORE_CTX_init)(ctx, store, cert, NULL);
        int v = ((int (*)(void *))X509_verify_cert)(ctx);
        int err = ((int (*)(void *))X509_STORE_CTX_get_error)(ctx);
        printf("round %d verify=%d error=%d\n", round, v, err);
        ((void (*)(void *))X509_STORE_CTX_free)(ctx);
        ((void (*)(void *))X509_free)(cert);
        ((void (*)(void *))X509_STORE_free)(store);
        dlclose(h);
    }
    return 0;
}

/* ---- programs that close every descriptor ------------------------------- */
static int mode_closefds(const char *file) {
    for (int fd = 0; fd < 3; fd++) close(fd);
    int own = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* lands on fd 0 */
    int ok = served();                                          /* the shim logs now */
    const char text[] = "the program's own text\n";
    if (write(own, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) return 2;
    close(own);
    return ok ? 0 : 1;
}

/* ---- OpenSSL entry points called oddly ---------------------------------- */
static int mode_openssl_odd(void) {
    /* No OpenSSL in the process: only libcafix.so (if preloaded) defines
     * these names. Its hooks must find no real function and fail the call the
     * way OpenSSL reports failure, never crash or call anything else. */
    void *verify = dlsym(RTLD_DEFAULT, "X509_verify_cert");
    void *load = dlsym(RTLD_DEFAULT, "X509_STORE_load_locations");
    void *store_free = dlsym(RTLD_DEFAULT, "X509_STORE_free");
    printf("no openssl: verify %s\n", verify ? "defined" : "undefined");
    if (verify) printf("no openssl: X509_verify_cert(NULL)=%d\n", ((int (*)(void *))verify)(NULL));
    if (load)
        printf("no openssl: X509_STORE_load_locations(NULL, /x, NULL)=%d\n",
               ((int (*)(void *, const char *, const char *))load)(NULL, "/x", NULL));
    if (store_free) {
        ((void (*)(void *))store_free)(NULL);
        printf("no openssl: X509_STORE_free(NULL) returned\n");
    }
    /* A real libcrypto, arguments OpenSSL itself accepts as NULL. */
    void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    SYM(X509_STORE_new) SYM(X509_STORE_load_locations) SYM(X509_STORE_load_file) SYM(X509_STORE_load_path)
    SYM(X509_STORE_free)
    void *store = ((void *(*)(void))X509_STORE_new)();
    printf("load_locations(store, NULL, NULL)=%d\n",
           ((int (*)(void *, const char *, const char *))X509_STORE_load_locations)(store, NULL, NULL));
    printf("load_file(store, missing)=%d\n",
           ((int (*)(void *, const char *))X509_STORE_load_file)(store, "/nonexistent/cafix.pem"));
    printf("load_path(store, missing)=%d\n",
           ((int (*)(void *, const char *))X509_STORE_load_path)(store, "/nonexistent/cafix-dir"));
    ((void (*)(void *))X509_STORE_free)(NULL);
    ((void (*)(void *))X509_STORE_free)(store);
    printf("done\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: robust MODE PATH ...\n");
        return 2;
    }
    path = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "threads")) return mode_threads();
    if (!strcmp(argv[1], "fork")) return mode_fork();
    if (!strcmp(argv[1], "signals")) return mode_signals();
    if (!strcmp(argv[1], "errno")) return mode_errno(argc, argv);
    if (!strcmp(argv[1], "dlopen") && argc == 4) return mode_dlopen(argv[2], argv[3]);
    if (!strcmp(argv[1], "closefds") && argc == 4) return mode_closefds(argv[3]);
    if (!strcmp(argv[1], "openssl-odd")) return mode_openssl_odd();
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
