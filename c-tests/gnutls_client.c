/*
 * A TLS client linked to libgnutls, written the way small GnuTLS programs
 * are: the system trust (gnutls_certificate_set_x509_system_trust), the
 * handshake verifying the peer and its name (gnutls_session_set_verify_cert,
 * "localhost"), then "GET /index.txt HTTP/1.0" (what the harness's
 * `openssl s_server -HTTP` serves).
 *
 * Usage: gnutls_client PORT   (connects to 127.0.0.1)
 *
 * Prints "OK <status line>" and exits 0, or "ERROR: <GnuTLS's error>" (and
 * for a failed verification GnuTLS's own sentence for the status) and
 * exits 1. Gives up after 10 s.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *what, int rc) {
    printf("ERROR: %s: %s\n", what, gnutls_strerror(rc));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return 1;
    }

    gnutls_certificate_credentials_t cred;
    gnutls_session_t session;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0)
        return fail("credentials", rc);
    rc = gnutls_certificate_set_x509_system_trust(cred);
    if (rc < 0)
        return fail("system trust", rc);
    fprintf(stderr, "gnutls_client: GnuTLS %s, %d system trust certificates\n", gnutls_check_version(NULL), rc);
    if ((rc = gnutls_init(&session, GNUTLS_CLIENT)) < 0 || (rc = gnutls_set_default_priority(session)) < 0 ||
        (rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
        (rc = gnutls_server_name_set(session, GNUTLS_NAME_DNS, "localhost", strlen("localhost"))) < 0)
        return fail("session", rc);
    gnutls_session_set_verify_cert(session, "localhost", 0);
    gnutls_transport_set_int(session, fd);
    gnutls_handshake_set_timeout(session, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
    do {
        rc = gnutls_handshake(session);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t text;
            unsigned status = gnutls_session_get_verify_cert_status(session);
            if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
                printf("ERROR: handshake: %s: %s\n", gnutls_strerror(rc), text.data);
                gnutls_free(text.data);
                return 1;
            }
        }
        return fail("handshake", rc);
    }
    const char request[] = "GET /index.txt HTTP/1.0\r\n\r\n";
    if ((rc = (int)gnutls_record_send(session, request, sizeof request - 1)) < 0)
        return fail("send", rc);
    char line[256] = {0};
    size_t got = 0;
    while (got < sizeof line - 1) {
        ssize_t n = gnutls_record_recv(session, line + got, sizeof line - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(line, '\n', got))
            break;
    }
    line[strcspn(line, "\r\n")] = 0;
    if (got == 0)
        return fail("receive", GNUTLS_E_PULL_ERROR);
    printf("OK %s\n", line);
    gnutls_bye(session, GNUTLS_SHUT_RDWR);
    gnutls_deinit(session);
    gnutls_certificate_free_credentials(cred);
    close(fd);
    return 0;
}
