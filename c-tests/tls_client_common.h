/*
 * The logic shared by openssl_client.c (linked to libssl) and dlopen_client.c
 * (libssl/libcrypto dlopen()ed and every function taken with dlsym(), as Qt
 * does). Each of them fills a `struct ossl` table and calls run_client().
 *
 * Usage: <prog> MODE LOCATION HOST PORT [CERT KEY]
 *   MODE capath   LOCATION is a directory: SSL_CTX_load_verify_locations(ctx, NULL, dir)
 *   MODE dir      LOCATION is a directory: SSL_CTX_load_verify_dir(ctx, dir), the call Qt 5.15
 *                 and Qt 6 make for each of their certificate directories with OpenSSL 3
 *                 (in libssl it tail-calls X509_STORE_load_path)
 *   MODE cafile   LOCATION is a file:      SSL_CTX_load_verify_locations(ctx, file, NULL)
 *   MODE default  LOCATION is ignored ("-"): SSL_CTX_set_default_verify_paths(ctx)
 *   MODE none     nothing is loaded (the store stays empty)
 *   CERT KEY      a client certificate (chain file, leaf first) and its key, for mTLS
 *
 * Verifies the peer (SSL_VERIFY_PEER, host name "localhost" through
 * X509_VERIFY_PARAM_set1_host, SNI = HOST unless HOST is an IP address),
 * sends "GET /index.txt HTTP/1.0" (what the harness's `openssl s_server
 * -HTTP` serves) and reads the status line. A client certificate is sent
 * exactly as the CERT file holds it (SSL_MODE_NO_AUTO_CHAIN: no chain is
 * completed from the client's own trust store). Prints "OK <status
 * line>" and exits 0, or "ERROR: <text>" and exits 1. Gives up after 10 s.
 */
#ifndef CAFIX_TLS_CLIENT_COMMON_H
#define CAFIX_TLS_CLIENT_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Functions of libssl. */
#define SSL_FUNCTIONS(F)                  \
    F(OPENSSL_init_ssl)                   \
    F(TLS_client_method)                  \
    F(SSL_CTX_new)                        \
    F(SSL_CTX_free)                       \
    F(SSL_CTX_load_verify_locations)      \
    F(SSL_CTX_load_verify_dir)            \
    F(SSL_CTX_set_default_verify_paths)   \
    F(SSL_CTX_set_verify)                 \
    F(SSL_CTX_use_certificate_chain_file) \
    F(SSL_CTX_use_PrivateKey_file)        \
    F(SSL_CTX_check_private_key)          \
    F(SSL_CTX_ctrl)                       \
    F(SSL_new)                            \
    F(SSL_free)                           \
    F(SSL_set_fd)                         \
    F(SSL_ctrl)                           \
    F(SSL_get0_param)                     \
    F(SSL_connect)                        \
    F(SSL_get_error)                      \
    F(SSL_get_verify_result)              \
    F(SSL_write)                          \
    F(SSL_read)                           \
    F(SSL_shutdown)

/* Functions of libcrypto. */
#define CRYPTO_FUNCTIONS(F)               \
    F(OpenSSL_version)                    \
    F(X509_VERIFY_PARAM_set1_host)        \
    F(X509_verify_cert_error_string)      \
    F(ERR_get_error)                      \
    F(ERR_error_string_n)

#define OSSL_FUNCTIONS(F) SSL_FUNCTIONS(F) CRYPTO_FUNCTIONS(F)

struct ossl {
#define OSSL_MEMBER(name) __typeof__(&name) name;
    OSSL_FUNCTIONS(OSSL_MEMBER)
#undef OSSL_MEMBER
};

static const char *client_name = "tls_client";

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "ERROR: timeout (no answer within 10 s)\n";
    (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(3);
}

/* The OpenSSL error queue, joined with "; ", or `fallback`. */
static void print_error_queue(const struct ossl *o, const char *what, const char *fallback) {
    char line[512], all[4096] = "";
    unsigned long e;
    while ((e = o->ERR_get_error()) != 0) {
        o->ERR_error_string_n(e, line, sizeof line);
        if (all[0]) strncat(all, "; ", sizeof all - strlen(all) - 1);
        strncat(all, line, sizeof all - strlen(all) - 1);
    }
    printf("ERROR: %s: %s\n", what, all[0] ? all : fallback);
}

static int tcp_connect(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        printf("ERROR: cannot resolve %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) printf("ERROR: cannot connect to %s:%s: %s\n", host, port, strerror(err));
    return fd;
}

static int is_ip_address(const char *host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int run_client(const struct ossl *o, int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: %s capath|dir|cafile|default|none LOCATION HOST PORT [CERT KEY]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *location = argv[2], *host = argv[3], *port = argv[4];
    const char *cert = argc == 7 ? argv[5] : NULL, *key = argc == 7 ? argv[6] : NULL;
    signal(SIGALRM, on_alarm);
    alarm(10);
    signal(SIGPIPE, SIG_IGN);

    o->OPENSSL_init_ssl(0, NULL);
    fprintf(stderr, "%s: %s, mode %s %s\n", client_name, o->OpenSSL_version(OPENSSL_VERSION), mode, location);

    SSL_CTX *ctx = o->SSL_CTX_new(o->TLS_client_method());
    if (!ctx) {
        print_error_queue(o, "SSL_CTX_new", "failed");
        return 1;
    }
    int loaded = 1;
    if (strcmp(mode, "capath") == 0)
        loaded = o->SSL_CTX_load_verify_locations(ctx, NULL, location);
    else if (strcmp(mode, "dir") == 0)
        loaded = o->SSL_CTX_load_verify_dir(ctx, location);
    else if (strcmp(mode, "cafile") == 0)
        loaded = o->SSL_CTX_load_verify_locations(ctx, location, NULL);
    else if (strcmp(mode, "default") == 0)
        loaded = o->SSL_CTX_set_default_verify_paths(ctx);
    else if (strcmp(mode, "none") != 0) {
        fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
        return 2;
    }
    if (loaded != 1) {
        print_error_queue(o, "loading the trust locations", "failed");
        return 1;
    }
    o->SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cert) {
        o->SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_NO_AUTO_CHAIN, NULL); /* SSL_CTX_set_mode() */
        if (o->SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
            print_error_queue(o, "loading the client certificate", cert);
            return 1;
        }
        if (o->SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || o->SSL_CTX_check_private_key(ctx) != 1) {
            print_error_queue(o, "loading the client key", key);
            return 1;
        }
    }

    int fd = tcp_connect(host, port);
    if (fd < 0) return 1;
    SSL *ssl = o->SSL_new(ctx);
    o->SSL_set_fd(ssl, fd);
    if (!is_ip_address(host)) /* SSL_set_tlsext_host_name(), a macro over SSL_ctrl */
        o->SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host);
    o->X509_VERIFY_PARAM_set1_host(o->SSL_get0_param(ssl), "localhost", 0);

    int rc = o->SSL_connect(ssl);
    long verify = o->SSL_get_verify_result(ssl);
    if (rc != 1) {
        if (verify != X509_V_OK) {
            printf("ERROR: %s\n", o->X509_verify_cert_error_string(verify));
            return 1;
        }
        print_error_queue(o, "handshake failed", "no error queued");
        return 1;
    }
    if (verify != X509_V_OK) { /* cannot happen with SSL_VERIFY_PEER, but be sure */
        printf("ERROR: %s\n", o->X509_verify_cert_error_string(verify));
        return 1;
    }

    /* A TLS 1.3 server verifies a client certificate after the client's
     * handshake is done: only the answer to a request tells. */
    static const char request[] = "GET /index.txt HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (o->SSL_write(ssl, request, (int)sizeof request - 1) <= 0) {
        print_error_queue(o, "sending the request", "write failed");
        return 1;
    }
    char buf[256];
    int got = 0, n;
    while (got < (int)sizeof buf - 1 && (n = o->SSL_read(ssl, buf + got, (int)sizeof buf - 1 - got)) > 0) {
        got += n;
        if (memchr(buf, '\n', (size_t)got)) break;
    }
    buf[got] = 0;
    char *eol = strpbrk(buf, "\r\n");
    if (eol) *eol = 0;
    if (strncmp(buf, "HTTP/", 5) != 0) {
        print_error_queue(o, "reading the response", got ? buf : "connection closed without an answer");
        return 1;
    }
    printf("OK %s\n", buf);
    o->SSL_shutdown(ssl);
    o->SSL_free(ssl);
    o->SSL_CTX_free(ctx);
    close(fd);
    return 0;
}

#endif
