/* GnuTLS: new credentials with the system trust and one verification per
 * iteration, the way a GnuTLS program that sets up trust per connection pays
 * for it (wget: gnutls_certificate_set_x509_system_trust; git through
 * libcurl-gnutls: set_x509_trust_file of the same compiled-in bundle).
 *
 *   gnutls_verify_loop verify|crt-verify|parse LEAF.pem INTERMEDIATE.pem HOST N
 *
 * verify: gnutls_certificate_allocate_credentials +
 *   gnutls_certificate_set_x509_system_trust, then the leaf and the
 *   intermediate verified for HOST against the credentials' own trust list
 *   (gnutls_certificate_get_trust_list + gnutls_x509_trust_list_verify_crt2,
 *   what gnutls_certificate_verify_peers2 does after a handshake), which
 *   must succeed with status 0 (the root must be in the system bundle);
 *   gnutls_certificate_free_credentials.
 * crt-verify: the leaf verified with the intermediate as its trusted CA
 *   (gnutls_x509_crt_verify), a function libcafix.so does not hook but
 *   which calls hooked ones through libgnutls's PLT (it builds and frees a
 *   trust list: gnutls_x509_trust_list_deinit), so the engine is loaded and
 *   each of those calls passes a hook that sees it comes from inside.
 * parse: the leaf's PEM parsed (gnutls_x509_crt_import) and freed: a GnuTLS
 *   process that reaches no hooked function at all.
 *
 * The certificates are read and parsed once. Warm-up N/10 + 1 iterations,
 * then N timed ones; prints microseconds per iteration on stdout, and on
 * stderr whether libcafix_engine.so is loaded at the end. */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static gnutls_datum_t leaf_pem;

static gnutls_x509_crt_t read_cert(const char *path, gnutls_datum_t *pem) {
    gnutls_x509_crt_t crt;
    if (gnutls_load_file(path, pem) < 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_import(crt, pem, GNUTLS_X509_FMT_PEM) < 0) {
        fprintf(stderr, "%s: not a certificate\n", path);
        exit(2);
    }
    return crt;
}

static gnutls_x509_crt_t chain[2];
static gnutls_typed_vdata_st host;

static void verify(void) {
    gnutls_certificate_credentials_t cred;
    gnutls_x509_trust_list_t list;
    unsigned status = 0;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) exit(3);
    int n = gnutls_certificate_set_x509_system_trust(cred);
    if (n <= 0) {
        fprintf(stderr, "gnutls_certificate_set_x509_system_trust = %d\n", n);
        exit(3);
    }
    gnutls_certificate_get_trust_list(cred, &list);
    int rc = gnutls_x509_trust_list_verify_crt2(list, chain, 2, &host, 1, 0, &status, NULL);
    if (rc < 0 || status != 0) {
        gnutls_datum_t text = {NULL, 0};
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
        fprintf(stderr, "gnutls_x509_trust_list_verify_crt2 = %d, status 0x%x: %s\n", rc, status,
                text.data ? (char *)text.data : "");
        exit(4);
    }
    gnutls_certificate_free_credentials(cred);
}

static void crt_verify(void) {
    unsigned status = 0;
    if (gnutls_x509_crt_verify(chain[0], &chain[1], 1, 0, &status) < 0 || status != 0) {
        fprintf(stderr, "gnutls_x509_crt_verify: status 0x%x\n", status);
        exit(4);
    }
}

static void parse(void) {
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_import(crt, &leaf_pem, GNUTLS_X509_FMT_PEM) < 0) exit(4);
    gnutls_x509_crt_deinit(crt);
}

static int engine_seen(struct dl_phdr_info *info, size_t size, void *found) {
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "libcafix_engine.so")) *(int *)found = 1;
    return 0;
}

int main(int argc, char **argv) {
    void (*one)(void) = NULL;
    if (argc == 6 && !strcmp(argv[1], "verify")) one = verify;
    if (argc == 6 && !strcmp(argv[1], "crt-verify")) one = crt_verify;
    if (argc == 6 && !strcmp(argv[1], "parse")) one = parse;
    if (!one) {
        fprintf(stderr, "usage: %s verify|crt-verify|parse LEAF.pem INTERMEDIATE.pem HOST N\n", argv[0]);
        return 1;
    }
    gnutls_datum_t inter_pem;
    if (gnutls_global_init() < 0) return 3;
    chain[0] = read_cert(argv[2], &leaf_pem);
    chain[1] = read_cert(argv[3], &inter_pem);
    host.type = GNUTLS_DT_DNS_HOSTNAME;
    host.data = (unsigned char *)argv[4];
    host.size = 0;
    long n = atol(argv[5]);
    for (long i = 0; i < n / 10 + 1; i++) one();
    double t0 = now_us();
    for (long i = 0; i < n; i++) one();
    printf("%.2f\n", (now_us() - t0) / (n > 0 ? n : 1));
    int engine = 0;
    dl_iterate_phdr(engine_seen, &engine);
    fprintf(stderr, "libcafix_engine.so loaded: %s\n", engine ? "yes" : "no");
    return 0;
}
