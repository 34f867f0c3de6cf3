// Writes a keystore with the JDK's own KeyStore API (tests/scenario_java.rs):
//   MakeStore TYPE OUT PEM [LIMIT]
// every certificate of PEM (at most LIMIT) as a trusted-certificate entry,
// password "changeit". The keystore.pkcs12.* properties choose PKCS #12's
// protection (NONE, NONE: password-less, as JDK 18+ cacerts).
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

public class MakeStore {
    public static void main(String[] args) throws Exception {
        KeyStore ks = KeyStore.getInstance(args[0]);
        ks.load(null, null);
        int limit = args.length > 3 ? Integer.parseInt(args[3]) : Integer.MAX_VALUE;
        int n = 0;
        try (FileInputStream in = new FileInputStream(args[2])) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                if (n == limit) break;
                ks.setCertificateEntry("cert" + n++, c);
            }
        }
        try (FileOutputStream out = new FileOutputStream(args[1])) {
            ks.store(out, "changeit".toCharArray());
        }
        System.out.println(n + " certificates in " + args[1]);
    }
}
