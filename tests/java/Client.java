// One verified HTTPS request with the JVM's default trust (tests/scenario_java.rs):
// prints "OK <status>", or "ERROR <exception>" and exits 1.
import java.net.URI;
import javax.net.ssl.HttpsURLConnection;

public class Client {
    public static void main(String[] args) {
        try {
            HttpsURLConnection c = (HttpsURLConnection) URI.create(args[0]).toURL().openConnection();
            c.setConnectTimeout(15000);
            c.setReadTimeout(15000);
            System.out.println("OK " + c.getResponseCode());
        } catch (Exception e) {
            System.out.println("ERROR " + e);
            System.exit(1);
        }
    }
}
