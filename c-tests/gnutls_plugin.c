/* A plugin linked to GnuTLS, for a program that is not: the program
 * dlopen()s it RTLD_LOCAL (as GIO loads glib-networking, or a host loads a
 * libcurl-gnutls plugin), so libgnutls is reachable only from the plugin's
 * own scope. plugin_verify() verifies a PEM chain (leaf first) for a host
 * against GnuTLS's system trust and prints the status.
 *
 *   gnutls_dlopen_main PLUGIN.so CHAIN.pem HOST
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

int plugin_verify(const char *chain_path, const char *host)
{
    gnutls_datum_t pem;
    if (gnutls_load_file(chain_path, &pem) < 0) {
        printf("plugin: cannot read %s\n", chain_path);
        return 2;
    }
    gnutls_x509_crt_t *certs = NULL;
    unsigned int n = 0;
    int rc = gnutls_x509_crt_list_import2(&certs, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
    gnutls_free(pem.data);
    if (rc < 0) {
        printf("plugin: cannot import the chain: %s\n", gnutls_strerror(rc));
        return 2;
    }
    gnutls_x509_trust_list_t list;
    gnutls_x509_trust_list_init(&list, 0);
    int loaded = gnutls_x509_trust_list_add_system_trust(list, 0, 0);
    gnutls_typed_vdata_st data = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0};
    unsigned int status = 0;
    rc = gnutls_x509_trust_list_verify_crt2(list, certs, n, &data, 1, 0, &status, NULL);
    printf("plugin: system trust %s, verify_crt2 of %u certificates = %d, status 0x%x\n",
           loaded > 0 ? "loaded" : "empty", n, rc, status);
    gnutls_x509_trust_list_deinit(list, 1);
    for (unsigned int i = 0; i < n; i++)
        gnutls_x509_crt_deinit(certs[i]);
    gnutls_free(certs);
    return rc == 0 && status == 0 ? 0 : 1;
}
