/* Loads a GnuTLS plugin RTLD_LOCAL and lets it verify; not linked to
 * GnuTLS itself (see gnutls_plugin.c). */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PLUGIN.so CHAIN.pem HOST\n", argv[0]);
        return 2;
    }
    void *plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!plugin) {
        printf("main: %s\n", dlerror());
        return 2;
    }
    int (*verify)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(plugin, "plugin_verify");
    if (!verify) {
        printf("main: no plugin_verify\n");
        return 2;
    }
    printf("main: libgnutls in the global scope: %s\n", dlsym(RTLD_DEFAULT, "gnutls_check_version") ? "yes" : "no");
    return verify(argv[2], argv[3]);
}
