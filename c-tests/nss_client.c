/*
 * nss_client MODE CERT.der [DB]: initialises NSS the way MODE says, verifies
 * CERT (a TLS server's leaf, DER) for TLS server use, and prints one line
 * per step, for tests/scenario_nss.rs:
 *
 *   init      NSS_Init(DB), then the built-in roots (SECMOD_LoadUserModule
 *             of libnssckbi.so, as Chromium loads them)
 *   noroots   NSS_Init(DB) and nothing else: the program trusts only its DB
 *   twice     NSS_Init(DB) and the roots, twice over
 *   readonly  NSS_Initialize(DB, NSS_INIT_READONLY), then the roots
 *   context   NSS_InitContext(DB, read-only), then the roots
 *   nodb      NSS_NoDB_Init and nothing else
 *   nodbroots NSS_NoDB_Init, then SECMOD_AddNewModule of libnssckbi.so (as
 *             tstclnt -b and vfychain without -d do)
 *   reinit    NSS_NoDB_Init and the roots, NSS_Shutdown, then again
 *
 * Lines: "verify: ok" or "verify: <NSS error name>", "token: N" (how many
 * modules named "cafix local CAs" NSS lists), "shutdown: ok|<error>".
 * The exit status is 0 unless a step the program needs failed.
 */
#include <nss.h>
#include <cert.h>
#include <pk11pub.h>
#include <secmod.h>
#include <secerr.h>
#include <prerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ROOTS = "name=\"Root Certs\" library=\"libnssckbi.so\"";

static SECItem read_file(const char *path) {
    SECItem item = {siBuffer, NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    static unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    item.data = buf;
    item.len = (unsigned)n;
    return item;
}

static void load_roots(void) {
    SECMODModule *roots = SECMOD_LoadUserModule((char *)ROOTS, NULL, PR_FALSE);
    if (!roots || !roots->loaded) {
        printf("roots: %s\n", PR_ErrorToName(PR_GetError()));
    }
    if (roots) {
        SECMOD_DestroyModule(roots);
    }
}

static void count_tokens(void) {
    int n = 0;
    SECMODListLock *lock = SECMOD_GetDefaultModuleListLock();
    SECMOD_GetReadLock(lock);
    for (SECMODModuleList *m = SECMOD_GetDefaultModuleList(); m; m = m->next) {
        if (m->module->commonName && strcmp(m->module->commonName, "cafix local CAs") == 0) {
            n++;
        }
    }
    SECMOD_ReleaseReadLock(lock);
    printf("token: %d\n", n);
}

static void verify(SECItem *der) {
    CERTCertificate *cert = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), der, NULL, PR_FALSE, PR_TRUE);
    if (!cert) {
        printf("verify: cannot decode: %s\n", PR_ErrorToName(PR_GetError()));
        return;
    }
    SECStatus rv = CERT_VerifyCertificateNow(CERT_GetDefaultCertDB(), cert, PR_TRUE, certificateUsageSSLServer, NULL,
                                             NULL);
    if (rv == SECSuccess) {
        printf("verify: ok\n");
    } else {
        printf("verify: %s\n", PR_ErrorToName(PR_GetError()));
    }
    CERT_DestroyCertificate(cert);
    count_tokens();
}

static void must(SECStatus rv, const char *what) {
    if (rv != SECSuccess) {
        printf("%s: %s\n", what, PR_ErrorToName(PR_GetError()));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: nss_client MODE CERT.der [DB]\n");
        return 2;
    }
    const char *mode = argv[1];
    SECItem der = read_file(argv[2]);
    const char *db = argc > 3 ? argv[3] : "";

    if (strcmp(mode, "init") == 0 || strcmp(mode, "noroots") == 0) {
        must(NSS_Init(db), "NSS_Init");
        if (strcmp(mode, "init") == 0) {
            load_roots();
        }
        verify(&der);
    } else if (strcmp(mode, "twice") == 0) {
        for (int i = 0; i < 2; i++) {
            must(NSS_Init(db), "NSS_Init");
            load_roots();
            verify(&der);
        }
    } else if (strcmp(mode, "readonly") == 0) {
        must(NSS_Initialize(db, "", "", SECMOD_DB, NSS_INIT_READONLY), "NSS_Initialize");
        load_roots();
        verify(&der);
    } else if (strcmp(mode, "context") == 0) {
        NSSInitContext *ctx = NSS_InitContext(db, "", "", SECMOD_DB, NULL, NSS_INIT_READONLY);
        if (!ctx) {
            printf("NSS_InitContext: %s\n", PR_ErrorToName(PR_GetError()));
            return 1;
        }
        load_roots();
        verify(&der);
        must(NSS_ShutdownContext(ctx), "NSS_ShutdownContext");
        printf("shutdown: ok\n");
    } else if (strcmp(mode, "nodb") == 0) {
        must(NSS_NoDB_Init(NULL), "NSS_NoDB_Init");
        verify(&der);
    } else if (strcmp(mode, "nodbroots") == 0) {
        must(NSS_NoDB_Init(NULL), "NSS_NoDB_Init");
        /* Fails for want of a database to record it in, but loads the
         * module: tstclnt and vfychain ignore what it returns. */
        (void)SECMOD_AddNewModule("Builtins", "libnssckbi.so", 0, 0);
        verify(&der);
    } else if (strcmp(mode, "reinit") == 0) {
        for (int i = 0; i < 2; i++) {
            must(NSS_NoDB_Init(NULL), "NSS_NoDB_Init");
            load_roots();
            verify(&der);
            if (NSS_Shutdown() == SECSuccess) {
                printf("shutdown: ok\n");
            } else {
                printf("shutdown: %s\n", PR_ErrorToName(PR_GetError()));
                return 1;
            }
        }
    } else {
        fprintf(stderr, "nss_client: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
