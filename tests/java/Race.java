// A cacerts that changes between the stat and the read of the served
// jssecacerts (tests/scenario_java.rs):  Race JSSECACERTS CACERTS REPLACEMENT
// prints what jssecacerts read as before and after CACERTS was rewritten in
// place with REPLACEMENT's bytes, next to CACERTS's own digest.
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;

public class Race {
    static String sha(byte[] b) throws Exception {
        StringBuilder s = new StringBuilder();
        for (byte x : MessageDigest.getInstance("SHA-256").digest(b)) s.append(String.format("%02x", x));
        return s.toString();
    }

    public static void main(String[] args) throws Exception {
        Path jsse = Paths.get(args[0]), cacerts = Paths.get(args[1]);
        File f = jsse.toFile();
        System.out.println("isFile=" + f.isFile() + " canRead=" + f.canRead());
        System.out.println("before=" + sha(Files.readAllBytes(jsse)) + " cacerts=" + sha(Files.readAllBytes(cacerts)));
        Files.write(cacerts, Files.readAllBytes(Paths.get(args[2])));
        System.out.println("after=" + sha(Files.readAllBytes(jsse)) + " cacerts=" + sha(Files.readAllBytes(cacerts)));
    }
}
