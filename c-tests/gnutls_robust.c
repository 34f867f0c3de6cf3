/* gnutls_robust: libcafix.so's GnuTLS hooks given bad input. Used by
 * tests/robustness.rs, which runs every mode with and without libcafix.so
 * preloaded: stdout (what each call returned) must be the same, the program
 * must not crash, and cafix may log at most one line per step. Before each
 * step the program writes "gnutls_robust: step NAME" to stderr, where cafix
 * logs too, so the test can count cafix's lines per step.
 *
 * Built twice from this file (c-tests/Makefile):
 *
 *   gnutls_robust MODE          linked to libgnutls
 *     null          NULL and empty arguments: those GnuTLS 3.7.9 answers
 *                   are called in this process; those it crashes on itself
 *                   (a NULL session or credentials, a NULL certificate to
 *                   check_hostname) each in a forked child, whose fate is
 *                   printed ("killed by signal 11"), the same either way
 *     fresh         gnutls_certificate_verify_peers{2,3,} of a client session
 *                   that never handshook, with and without credentials (in
 *                   GnuTLS 3.7.9: GNUTLS_E_INVALID_REQUEST, the session has
 *                   no authentication type yet)
 *     no-peer-cert  a real handshake over a socketpair (two threads), the
 *                   server asking for a client certificate the client does
 *                   not have; the server then verifies its peer:
 *                   GNUTLS_E_NO_CERTIFICATE_FOUND
 *     chain N       N certificates (ECDSA P-256, made here), each issued by
 *                   the next, the last self-signed and trusted by nobody;
 *                   gnutls_x509_trust_list_verify_crt and _crt2 (with a host
 *                   name) of all N against a trust list holding the system
 *                   trust, then the leaf's host name checked against a name
 *                   it does not have
 *
 *   gnutls_robust_nolink no-gnutls   NOT linked to libgnutls (the build
 *                   checks NEEDED, the program checks no libgnutls is
 *                   loaded): every function libcafix.so hooks
 *                   (engine_abi::GNUTLS_HOOKS) is looked up with
 *                   dlsym(RTLD_DEFAULT), which finds only libcafix.so's
 *                   trampolines, if preloaded, and called twice with NULL
 *                   arguments; the hooks must find no real function and fail
 *                   as GnuTLS does (GNUTLS_E_INTERNAL_ERROR, 0 for the host
 *                   name checks)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks_without_library.h"

static void step(const char *name) { hooks_step("gnutls_robust", name); }

#ifdef GNUTLS_ROBUST_NO_GNUTLS

/* ---- no GnuTLS in the process ------------------------------------------- */
typedef int (*f1)(void *);
typedef int (*f2)(void *, void *);
typedef int (*f3)(void *, void *, void *);
typedef int (*f4)(void *, void *, unsigned, void *);
typedef int (*f6)(void *, void *, unsigned, unsigned, void *, void *);
typedef int (*f8)(void *, void *, unsigned, void *, unsigned, unsigned, void *, void *);
typedef int (*fadd3)(void *, unsigned, unsigned);
typedef int (*fadd6)(void *, const char *, const char *, int, unsigned, unsigned);
typedef int (*fset3)(void *, const char *, int);
typedef unsigned (*fhost)(void *, const char *);
typedef unsigned (*fhost2)(void *, const char *, unsigned);
typedef void (*vset)(void *, void *, unsigned);
typedef void (*vfree)(void *);
typedef void (*vdeinit)(void *, unsigned);
typedef void (*vverify)(void *, const char *, unsigned);
typedef void (*vverify2)(void *, void *, unsigned, unsigned);

/* engine_abi::GNUTLS_HOOKS, in its order. */
static const char *const NAMES[] = {
    "gnutls_certificate_verify_peers2",
    "gnutls_certificate_verify_peers3",
    "gnutls_certificate_verify_peers",
    "gnutls_handshake",
    "gnutls_x509_trust_list_verify_crt",
    "gnutls_x509_trust_list_verify_crt2",
    "gnutls_x509_crt_check_hostname",
    "gnutls_x509_crt_check_hostname2",
    "gnutls_certificate_set_x509_system_trust",
    "gnutls_certificate_set_x509_trust_file",
    "gnutls_certificate_set_x509_trust_dir",
    "gnutls_x509_trust_list_add_system_trust",
    "gnutls_x509_trust_list_add_trust_file",
    "gnutls_x509_trust_list_add_trust_dir",
    "gnutls_certificate_set_trust_list",
    "gnutls_certificate_free_credentials",
    "gnutls_x509_trust_list_deinit",
    "gnutls_session_set_verify_cert",
    "gnutls_session_set_verify_cert2",
};

/* Calls hook i with NULL (or harmless) arguments; prints what it returned. */
static void call(int i, void *f) {
    unsigned status = 12345;
    const char *name = NAMES[i];
    switch (i) {
    case 0: printf("%s(NULL, &status)=%d status=%u\n", name, ((f2)f)(NULL, &status), status); break;
    case 1: printf("%s(NULL, \"x\", &status)=%d status=%u\n", name, ((f3)f)(NULL, (void *)"x", &status), status); break;
    case 2: printf("%s(NULL, NULL, 0, &status)=%d status=%u\n", name, ((f4)f)(NULL, NULL, 0, &status), status); break;
    case 3: printf("%s(NULL)=%d\n", name, ((f1)f)(NULL)); break;
    case 4: printf("%s(NULL, NULL, 0, 0, &status, NULL)=%d status=%u\n", name, ((f6)f)(NULL, NULL, 0, 0, &status, NULL), status); break;
    case 5: printf("%s(NULL, NULL, 0, NULL, 0, 0, &status, NULL)=%d status=%u\n", name,
                   ((f8)f)(NULL, NULL, 0, NULL, 0, 0, &status, NULL), status); break;
    case 6: printf("%s(NULL, \"x\")=%u\n", name, ((fhost)f)(NULL, "x")); break;
    case 7: printf("%s(NULL, \"x\", 0)=%u\n", name, ((fhost2)f)(NULL, "x", 0)); break;
    case 8: printf("%s(NULL)=%d\n", name, ((f1)f)(NULL)); break;
    case 9: printf("%s(NULL, /x, PEM)=%d\n", name, ((fset3)f)(NULL, "/x", 1)); break;
    case 10: printf("%s(NULL, /x, PEM)=%d\n", name, ((fset3)f)(NULL, "/x", 1)); break;
    case 11: printf("%s(NULL, 0, 0)=%d\n", name, ((fadd3)f)(NULL, 0, 0)); break;
    case 12: printf("%s(NULL, /x, NULL, PEM, 0, 0)=%d\n", name, ((fadd6)f)(NULL, "/x", NULL, 1, 0, 0)); break;
    case 13: printf("%s(NULL, /x, NULL, PEM, 0, 0)=%d\n", name, ((fadd6)f)(NULL, "/x", NULL, 1, 0, 0)); break;
    case 14: ((vset)f)(NULL, NULL, 0); printf("%s(NULL, NULL, 0) returned\n", name); break;
    case 15: ((vfree)f)(NULL); printf("%s(NULL) returned\n", name); break;
    case 16: ((vdeinit)f)(NULL, 1); printf("%s(NULL, 1) returned\n", name); break;
    case 17: ((vverify)f)(NULL, "x", 0); printf("%s(NULL, \"x\", 0) returned\n", name); break;
    case 18: ((vverify2)f)(NULL, NULL, 0, 0); printf("%s(NULL, NULL, 0, 0) returned\n", name); break;
    }
}

static int mode_no_gnutls(void) {
    return call_hooks_without("gnutls_robust", "libgnutls.so.30", NAMES, (int)(sizeof NAMES / sizeof NAMES[0]), call);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "no-gnutls")) return mode_no_gnutls();
    fprintf(stderr, "usage: gnutls_robust_nolink no-gnutls\n");
    return 2;
}

#else /* linked to libgnutls */

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#define CHECK(expr)                                                                 \
    do {                                                                            \
        int rc_ = (expr);                                                           \
        if (rc_ < 0) {                                                              \
            printf("%s failed: %d %s\n", #expr, rc_, gnutls_strerror(rc_));         \
            exit(3);                                                                \
        }                                                                           \
    } while (0)

/* `expr` in a forked child (no core file): what it returned, or how it died. */
#define IN_CHILD(label, expr)                                                       \
    do {                                                                            \
        fflush(stdout);                                                             \
        pid_t pid_ = fork();                                                        \
        if (pid_ == 0) {                                                            \
            struct rlimit no_core_ = {0, 0};                                        \
            setrlimit(RLIMIT_CORE, &no_core_);                                      \
            long r_ = (long)(expr);                                                 \
            printf("%s=%ld (in a child)\n", label, r_);                             \
            fflush(stdout);                                                         \
            _exit(0);                                                               \
        }                                                                           \
        int st_;                                                                    \
        waitpid(pid_, &st_, 0);                                                     \
        if (WIFSIGNALED(st_)) printf("%s: child killed by signal %d\n", label, WTERMSIG(st_)); \
        else if (!WIFEXITED(st_) || WEXITSTATUS(st_)) printf("%s: child exited %d\n", label, st_); \
    } while (0)

static void print_status(const char *what, int rc, unsigned status) {
    printf("%s=%d", what, rc);
    if (rc == 0) {
        gnutls_datum_t out = {NULL, 0};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
            printf(" status=0x%x (%s)", status, out.data);
            gnutls_free(out.data);
        } else {
            printf(" status=0x%x", status);
        }
    } else {
        printf(" (%s)", gnutls_strerror(rc));
    }
    printf("\n");
}

/* Prints what `call` returned and then the status it wrote (in this order:
 * the arguments of one call would be evaluated in any order). */
#define VERIFIED(label, call, status)                                               \
    do {                                                                            \
        int rc_ = (call);                                                           \
        print_status(label, rc_, status);                                           \
    } while (0)

/* ---- NULL and empty arguments ------------------------------------------- */
static int free_null(void) {
    gnutls_certificate_free_credentials(NULL);
    return 0;
}

static int mode_null(void) {
    unsigned status = 12345;
    gnutls_x509_trust_list_t list;
    gnutls_x509_crt_t none[1] = {NULL};
    gnutls_typed_vdata_st host = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"robust.cafix.test", 0};

    step("free_credentials(NULL)");
    gnutls_certificate_free_credentials(NULL);
    printf("gnutls_certificate_free_credentials(NULL) returned\n");

    step("trust_list_deinit(NULL)");
    gnutls_x509_trust_list_deinit(NULL, 1);
    printf("gnutls_x509_trust_list_deinit(NULL, 1) returned\n");

    step("trust_list_verify_crt(NULL list, no certificates)");
    VERIFIED("gnutls_x509_trust_list_verify_crt(NULL, NULL, 0, 0, &status, NULL)",
                 gnutls_x509_trust_list_verify_crt(NULL, NULL, 0, 0, &status, NULL), status);
    step("trust_list_verify_crt2(NULL list, no certificates)");
    VERIFIED("gnutls_x509_trust_list_verify_crt2(NULL, NULL, 0, &host, 1, 0, &status, NULL)",
                 gnutls_x509_trust_list_verify_crt2(NULL, NULL, 0, &host, 1, 0, &status, NULL), status);

    CHECK(gnutls_x509_trust_list_init(&list, 0));
    step("trust_list_add_system_trust(list)");
    int added = gnutls_x509_trust_list_add_system_trust(list, 0, 0);
    printf("gnutls_x509_trust_list_add_system_trust(list, 0, 0) %s\n", added > 0 ? "added certificates" : "failed");
    step("trust_list_verify_crt(list, NULL, 0)");
    VERIFIED("gnutls_x509_trust_list_verify_crt(list, NULL, 0, 0, &status, NULL)",
                 gnutls_x509_trust_list_verify_crt(list, NULL, 0, 0, &status, NULL), status);
    step("trust_list_verify_crt(list, empty array, 0)");
    VERIFIED("gnutls_x509_trust_list_verify_crt(list, {NULL}, 0, 0, &status, NULL)",
                 gnutls_x509_trust_list_verify_crt(list, none, 0, 0, &status, NULL), status);
    step("trust_list_verify_crt2(list, NULL, 0, NULL data)");
    VERIFIED("gnutls_x509_trust_list_verify_crt2(list, NULL, 0, NULL, 0, 0, &status, NULL)",
                 gnutls_x509_trust_list_verify_crt2(list, NULL, 0, NULL, 0, 0, &status, NULL), status);
    step("trust_list_add_trust_file(list, missing)");
    printf("gnutls_x509_trust_list_add_trust_file(list, missing, NULL, PEM, 0, 0)=%d\n",
           gnutls_x509_trust_list_add_trust_file(list, "/nonexistent/cafix.pem", NULL, GNUTLS_X509_FMT_PEM, 0, 0));
    step("trust_list_add_trust_file(list, NULL)");
    printf("gnutls_x509_trust_list_add_trust_file(list, NULL, NULL, PEM, 0, 0)=%d\n",
           gnutls_x509_trust_list_add_trust_file(list, NULL, NULL, GNUTLS_X509_FMT_PEM, 0, 0));
    step("trust_list_add_trust_dir(list, missing)");
    printf("gnutls_x509_trust_list_add_trust_dir(list, missing, NULL, PEM, 0, 0)=%d\n",
           gnutls_x509_trust_list_add_trust_dir(list, "/nonexistent/cafix-dir", NULL, GNUTLS_X509_FMT_PEM, 0, 0));
    step("trust_list_deinit(list)");
    gnutls_x509_trust_list_deinit(list, 1);
    printf("gnutls_x509_trust_list_deinit(list, 1) returned\n");

    gnutls_certificate_credentials_t cred;
    CHECK(gnutls_certificate_allocate_credentials(&cred));
    step("set_x509_trust_file(cred, missing)");
    printf("gnutls_certificate_set_x509_trust_file(cred, missing, PEM)=%d\n",
           gnutls_certificate_set_x509_trust_file(cred, "/nonexistent/cafix.pem", GNUTLS_X509_FMT_PEM));
    step("set_x509_trust_dir(cred, missing)");
    printf("gnutls_certificate_set_x509_trust_dir(cred, missing, PEM)=%d\n",
           gnutls_certificate_set_x509_trust_dir(cred, "/nonexistent/cafix-dir", GNUTLS_X509_FMT_PEM));
    step("free_credentials(cred)");
    gnutls_certificate_free_credentials(cred);
    printf("gnutls_certificate_free_credentials(cred) returned\n");

    /* What GnuTLS 3.7.9 dereferences without checking: each in a child. */
    step("crashes of GnuTLS itself");
    IN_CHILD("gnutls_certificate_verify_peers2(NULL, &status)", gnutls_certificate_verify_peers2(NULL, &status));
    IN_CHILD("gnutls_certificate_verify_peers3(NULL, host, &status)",
             gnutls_certificate_verify_peers3(NULL, "robust.cafix.test", &status));
    IN_CHILD("gnutls_certificate_verify_peers(NULL, NULL, 0, &status)",
             gnutls_certificate_verify_peers(NULL, NULL, 0, &status));
    IN_CHILD("gnutls_certificate_set_x509_system_trust(NULL)", gnutls_certificate_set_x509_system_trust(NULL));
    IN_CHILD("gnutls_x509_crt_check_hostname(NULL, host)", gnutls_x509_crt_check_hostname(NULL, "robust.cafix.test"));
    IN_CHILD("gnutls_handshake(NULL)", gnutls_handshake(NULL));
    IN_CHILD("gnutls_certificate_free_credentials(NULL)", free_null());
    step("end");
    return 0;
}

/* ---- a session that never handshook ------------------------------------- */
static void verify_all(const char *who, gnutls_session_t s) {
    unsigned status = 12345;
    char label[160];
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers2(s, &status)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers2(s, &status), status);
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers2(s, NULL)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers2(s, NULL), 0);
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers3(s, host, &status)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers3(s, "robust.cafix.test", &status), status);
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers3(s, NULL, &status)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers3(s, NULL, &status), status);
    gnutls_typed_vdata_st host = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"robust.cafix.test", 0};
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers(s, &host, 1, &status)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers(s, &host, 1, &status), status);
    snprintf(label, sizeof label, "%s: gnutls_certificate_verify_peers(s, NULL, 0, &status)", who);
    step(label);
    VERIFIED(label, gnutls_certificate_verify_peers(s, NULL, 0, &status), status);
}

static int mode_fresh(void) {
    gnutls_session_t s;
    CHECK(gnutls_init(&s, GNUTLS_CLIENT));
    verify_all("no credentials", s);
    gnutls_certificate_credentials_t cred;
    CHECK(gnutls_certificate_allocate_credentials(&cred));
    step("set_x509_system_trust(cred)");
    int n = gnutls_certificate_set_x509_system_trust(cred);
    printf("gnutls_certificate_set_x509_system_trust(cred) %s\n", n > 0 ? "added certificates" : "failed");
    CHECK(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred));
    CHECK(gnutls_server_name_set(s, GNUTLS_NAME_DNS, "robust.cafix.test", strlen("robust.cafix.test")));
    verify_all("system trust", s);
    gnutls_deinit(s);
    step("free_credentials(cred)");
    gnutls_certificate_free_credentials(cred);
    printf("gnutls_certificate_free_credentials(cred) returned\n");
    step("end");
    return 0;
}

/* ---- certificates made here ---------------------------------------------- */
static gnutls_x509_privkey_t new_key(void) {
    gnutls_x509_privkey_t key;
    CHECK(gnutls_x509_privkey_init(&key));
    CHECK(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
    return key;
}

/* A certificate for `key` named `cn`, not yet signed. */
static gnutls_x509_crt_t new_cert(gnutls_x509_privkey_t key, const char *cn, unsigned serial, int ca) {
    gnutls_x509_crt_t crt;
    char dn[128];
    unsigned char ser[4] = {(unsigned char)(serial >> 24), (unsigned char)(serial >> 16), (unsigned char)(serial >> 8),
                            (unsigned char)serial};
    CHECK(gnutls_x509_crt_init(&crt));
    CHECK(gnutls_x509_crt_set_version(crt, 3));
    CHECK(gnutls_x509_crt_set_serial(crt, ser, sizeof ser));
    CHECK(gnutls_x509_crt_set_activation_time(crt, time(NULL) - 86400));
    CHECK(gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 30 * 86400));
    snprintf(dn, sizeof dn, "CN=%s,O=cafix robustness", cn);
    CHECK(gnutls_x509_crt_set_dn(crt, dn, NULL));
    CHECK(gnutls_x509_crt_set_key(crt, key));
    if (ca) {
        CHECK(gnutls_x509_crt_set_basic_constraints(crt, 1, -1));
        CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
    } else {
        CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
        CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
        CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, cn, strlen(cn), GNUTLS_FSAN_SET));
    }
    return crt;
}

/* ---- a peer that sent no certificate -------------------------------------- */
static int pair[2];
static gnutls_certificate_credentials_t server_cred;

static void *server_main(void *arg) {
    (void)arg;
    gnutls_session_t s;
    CHECK(gnutls_init(&s, GNUTLS_SERVER));
    CHECK(gnutls_set_default_priority(s));
    CHECK(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, server_cred));
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
    gnutls_transport_set_int(s, pair[1]);
    int rc;
    do rc = gnutls_handshake(s);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    printf("server: handshake=%d\n", rc);
    if (rc == 0) verify_all("server, client sent no certificate", s);
    gnutls_bye(s, GNUTLS_SHUT_WR);
    gnutls_deinit(s);
    return NULL;
}

static int mode_no_peer_cert(void) {
    gnutls_x509_privkey_t key = new_key();
    gnutls_x509_crt_t crt = new_cert(key, "robust.cafix.test", 1, 0);
    CHECK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));
    CHECK(gnutls_certificate_allocate_credentials(&server_cred));
    CHECK(gnutls_certificate_set_x509_key(server_cred, &crt, 1, key));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 3;

    gnutls_certificate_credentials_t cred;
    CHECK(gnutls_certificate_allocate_credentials(&cred)); /* no certificate of its own */
    gnutls_session_t s;
    CHECK(gnutls_init(&s, GNUTLS_CLIENT));
    CHECK(gnutls_set_default_priority(s));
    CHECK(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred));
    gnutls_transport_set_int(s, pair[0]);
    step("handshake");
    pthread_t server;
    pthread_create(&server, NULL, server_main, NULL);
    int rc;
    do rc = gnutls_handshake(s);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    /* The server verifies once the handshake is done on both sides; the
     * client waits for it, so the output keeps one order. */
    pthread_join(server, NULL);
    printf("client: handshake=%d\n", rc);
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);
    gnutls_certificate_free_credentials(server_cred);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    step("end");
    return rc == 0 ? 0 : 1;
}

/* ---- a chain of N certificates --------------------------------------------- */
static int mode_chain(int n) {
    if (n < 2 || n > 1000) return 2;
    gnutls_x509_privkey_t *keys = calloc(n, sizeof *keys);
    gnutls_x509_crt_t *chain = calloc(n, sizeof *chain);
    for (int i = 0; i < n; i++) {
        char cn[64];
        keys[i] = new_key();
        if (i == 0) snprintf(cn, sizeof cn, "robust.cafix.test");
        else snprintf(cn, sizeof cn, "cafix robustness CA %d", i);
        chain[i] = new_cert(keys[i], cn, i + 1, i > 0);
    }
    /* chain[i] is issued by chain[i + 1]; the last one by itself. */
    for (int i = n - 1; i >= 0; i--) {
        int issuer = i == n - 1 ? i : i + 1;
        CHECK(gnutls_x509_crt_sign2(chain[i], chain[issuer], keys[issuer], GNUTLS_DIG_SHA256, 0));
    }
    /* As received from a peer: each certificate parsed from its DER (a
     * certificate GnuTLS just signed keeps stale cached fields, and its
     * own verification then reports a signature failure). */
    for (int i = 0; i < n; i++) {
        gnutls_datum_t der;
        gnutls_x509_crt_t parsed;
        CHECK(gnutls_x509_crt_export2(chain[i], GNUTLS_X509_FMT_DER, &der));
        CHECK(gnutls_x509_crt_init(&parsed));
        CHECK(gnutls_x509_crt_import(parsed, &der, GNUTLS_X509_FMT_DER));
        gnutls_free(der.data);
        gnutls_x509_crt_deinit(chain[i]);
        chain[i] = parsed;
    }
    printf("chain of %d certificates made\n", n);

    gnutls_x509_trust_list_t list;
    CHECK(gnutls_x509_trust_list_init(&list, 0));
    step("trust_list_add_system_trust(list)");
    int added = gnutls_x509_trust_list_add_system_trust(list, 0, 0);
    printf("gnutls_x509_trust_list_add_system_trust(list, 0, 0) %s\n", added > 0 ? "added certificates" : "failed");

    unsigned status = 12345;
    char label[128];
    step("trust_list_verify_crt(chain)");
    snprintf(label, sizeof label, "gnutls_x509_trust_list_verify_crt(list, chain of %d, 0, &status, NULL)", n);
    VERIFIED(label, gnutls_x509_trust_list_verify_crt(list, chain, n, 0, &status, NULL), status);

    gnutls_typed_vdata_st host = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"robust.cafix.test", 0};
    step("trust_list_verify_crt2(chain, host)");
    snprintf(label, sizeof label, "gnutls_x509_trust_list_verify_crt2(list, chain of %d, host, 0, &status, NULL)", n);
    status = 12345;
    VERIFIED(label, gnutls_x509_trust_list_verify_crt2(list, chain, n, &host, 1, 0, &status, NULL), status);

    /* The same chain with its self-signed end trusted: must verify (GnuTLS
     * may refuse the length; whatever it says, it says it either way). */
    step("trust_list_verify_crt2(chain, its own root trusted)");
    gnutls_x509_trust_list_t own;
    CHECK(gnutls_x509_trust_list_init(&own, 0));
    CHECK(gnutls_x509_trust_list_add_cas(own, &chain[n - 1], 1, 0));
    status = 12345;
    snprintf(label, sizeof label, "gnutls_x509_trust_list_verify_crt2(own root, chain of %d, host, 0, &status, NULL)", n);
    VERIFIED(label, gnutls_x509_trust_list_verify_crt2(own, chain, n, &host, 1, 0, &status, NULL), status);
    /* The same with a name the leaf does not have: GnuTLS's verifier checks
     * it through its own exported check_hostname2, which is hooked too; one
     * failure, so at most one line. */
    gnutls_typed_vdata_st other = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"other.cafix.test", 0};
    step("trust_list_verify_crt2(chain, its own root trusted, other name)");
    status = 12345;
    snprintf(label, sizeof label, "gnutls_x509_trust_list_verify_crt2(own root, chain of %d, other name, 0, &status, NULL)", n);
    VERIFIED(label, gnutls_x509_trust_list_verify_crt2(own, chain, n, &other, 1, 0, &status, NULL), status);

    /* A host name check right after that failure: already told, so no
     * warning (as for a program that checks names without verifying). */
    step("crt_check_hostname(leaf, other name, after the failure)");
    printf("gnutls_x509_crt_check_hostname(leaf, other.cafix.test)=%u after the failure\n",
           gnutls_x509_crt_check_hostname(chain[0], "other.cafix.test"));
    /* Verified again, then the program's own check of the name: its verdict. */
    step("trust_list_verify_crt2(chain, its own root trusted, again)");
    status = 12345;
    snprintf(label, sizeof label, "gnutls_x509_trust_list_verify_crt2(own root, chain of %d, host, 0, &status, NULL) again", n);
    VERIFIED(label, gnutls_x509_trust_list_verify_crt2(own, chain, n, &host, 1, 0, &status, NULL), status);
    gnutls_x509_trust_list_deinit(own, 0); /* the CA stays ours */

    step("crt_check_hostname(leaf, other name)");
    printf("gnutls_x509_crt_check_hostname(leaf, other.cafix.test)=%u\n",
           gnutls_x509_crt_check_hostname(chain[0], "other.cafix.test"));
    step("crt_check_hostname2(leaf, other name)");
    printf("gnutls_x509_crt_check_hostname2(leaf, other.cafix.test, 0)=%u\n",
           gnutls_x509_crt_check_hostname2(chain[0], "other.cafix.test", 0));
    step("crt_check_hostname(leaf, its name)");
    printf("gnutls_x509_crt_check_hostname(leaf, robust.cafix.test)=%u\n",
           gnutls_x509_crt_check_hostname(chain[0], "robust.cafix.test"));

    step("trust_list_deinit(list)");
    gnutls_x509_trust_list_deinit(list, 1);
    printf("gnutls_x509_trust_list_deinit(list, 1) returned\n");
    for (int i = 0; i < n; i++) {
        gnutls_x509_crt_deinit(chain[i]);
        gnutls_x509_privkey_deinit(keys[i]);
    }
    free(chain);
    free(keys);
    step("end");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(gnutls_global_init());
    if (argc == 2 && !strcmp(argv[1], "null")) return mode_null();
    if (argc == 2 && !strcmp(argv[1], "fresh")) return mode_fresh();
    if (argc == 2 && !strcmp(argv[1], "no-peer-cert")) return mode_no_peer_cert();
    if (argc == 3 && !strcmp(argv[1], "chain")) return mode_chain(atoi(argv[2]));
    fprintf(stderr, "usage: gnutls_robust null | fresh | no-peer-cert | chain N\n");
    return 2;
}

#endif
