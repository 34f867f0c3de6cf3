/*
 * default_paths_client HOST PORT SERVERNAME
 *
 * A TLS client that trusts exactly what the OpenSSL it runs with finds in
 * its *compiled-in default* locations: SSL_CTX_set_default_verify_paths(),
 * i.e. $SSL_CERT_FILE / $SSL_CERT_DIR if set, else OPENSSLDIR/cert.pem and
 * OPENSSLDIR/certs/ (for OpenSSL built from its own sources, as the
 * openssl-src crate does: /usr/local/ssl/cert.pem and /usr/local/ssl/certs/).
 * Run it with `env -u SSL_CERT_FILE -u SSL_CERT_DIR` to test the defaults.
 *
 * Connects to HOST:PORT (a numeric IPv4/IPv6 address or a name), sends
 * SERVERNAME as SNI (unless it is an IP address) and checks the peer
 * certificate against it (X509_VERIFY_PARAM_set1_host / set1_ip_asc),
 * with SSL_VERIFY_PEER. Then:
 *   OK <OpenSSL_version(OPENSSL_VERSION)>                                    exit 0
 *   ERROR: <X509_verify_cert_error_string(verify result)> (<OpenSSL version>) exit 1
 * A failure that is not a certificate verification failure (connect, TLS
 * alert, ...) prints "ERROR: <what> (<OpenSSL version>)" and exits 1 as well;
 * the OpenSSL error queue goes to stderr. Gives up after 10 s.
 *
 * Builds against OpenSSL 1.1.1, 3.x and 4.x (only API present in all of
 * them), dynamically or statically linked, and with a fully static glibc.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#if OPENSSL_VERSION_NUMBER < 0x10101000L
#error "OpenSSL 1.1.1 or newer is needed"
#endif

static const char *version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

static int fail(const char *what)
{
    printf("ERROR: %s (%s)\n", what, version());
    fflush(stdout);
    ERR_print_errors_fp(stderr);
    return 1;
}

static void on_alarm(int sig)
{
    static const char msg[] = "ERROR: timed out\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing left to do */
    }
    _exit(1);
}

static int is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A connected TCP socket, or -1. Numeric addresses never touch NSS (which a
 * fully static binary could not load). */
static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = is_ip_literal(host) ? AI_NUMERICHOST : 0;
    hints.ai_flags |= AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    const char *host, *port, *servername;
    SSL_CTX *ctx;
    SSL *ssl;
    X509_VERIFY_PARAM *param;
    long verify_result;
    int fd, ret;

    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT SERVERNAME\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = argv[2];
    servername = argv[3];

    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(10);

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return fail("SSL_CTX_new failed");
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        return fail("SSL_CTX_set_default_verify_paths failed");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

    ssl = SSL_new(ctx);
    if (ssl == NULL)
        return fail("SSL_new failed");
    param = SSL_get0_param(ssl);
    if (is_ip_literal(servername)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, servername) != 1)
            return fail("X509_VERIFY_PARAM_set1_ip_asc failed");
    } else {
        if (SSL_set_tlsext_host_name(ssl, servername) != 1)
            return fail("SSL_set_tlsext_host_name failed");
        if (X509_VERIFY_PARAM_set1_host(param, servername, 0) != 1)
            return fail("X509_VERIFY_PARAM_set1_host failed");
    }

    fd = tcp_connect(host, port);
    if (fd < 0)
        return fail("cannot connect");
    if (SSL_set_fd(ssl, fd) != 1)
        return fail("SSL_set_fd failed");

    ret = SSL_connect(ssl);
    verify_result = SSL_get_verify_result(ssl);
    if (verify_result != X509_V_OK)
        return fail(X509_verify_cert_error_string(verify_result));
    if (ret != 1)
        return fail("TLS handshake failed");

    printf("OK %s\n", version());
    fflush(stdout);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return 0;
}
