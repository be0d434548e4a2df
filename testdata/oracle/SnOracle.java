// Independent oracle for certificate SNs: the JDK's own X500Principal.getName() (RFC 2253)
// and BigInteger serial, hashed the way Alipay's Java SDK does (MD5, hex, left-padded to 32).
// Usage: java SnOracle.java FILE...   prints one JSON object per line.
import java.io.FileInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

public class SnOracle {
    public static void main(String[] args) throws Exception {
        // -Dprovider=BC (with BouncyCastle on the class path) reads certificates whose keys the
        // JDK's own provider cannot (SM2); the names and serials are still the JDK's X500Principal
        // and BigInteger.
        String provider = System.getProperty("provider");
        CertificateFactory factory;
        if (provider == null) {
            factory = CertificateFactory.getInstance("X.509");
        } else {
            java.security.Security.addProvider((java.security.Provider) Class
                .forName("org.bouncycastle.jce.provider.BouncyCastleProvider").getDeclaredConstructor().newInstance());
            factory = CertificateFactory.getInstance("X.509", provider);
        }
        for (String path : args) {
            X509Certificate cert;
            try (FileInputStream in = new FileInputStream(path)) {
                cert = (X509Certificate) factory.generateCertificate(in);
            }
            String issuer = cert.getIssuerX500Principal().getName();
            String serial = cert.getSerialNumber().toString();
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update((issuer + serial).getBytes(StandardCharsets.UTF_8));
            String sn = new BigInteger(1, md5.digest()).toString(16);
            while (sn.length() < 32) {
                sn = "0" + sn;
            }
            String name = path.substring(path.lastIndexOf('/') + 1);
            System.out.println("{\"file\":" + json(name) + ",\"issuer\":" + json(issuer)
                + ",\"serial\":" + json(serial) + ",\"sn\":" + json(sn) + "}");
        }
    }

    private static String json(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
