// The independent side of the SM2 / SM4 / AES_V2 interoperability tests: BouncyCastle (Debian's
// libbcprov-java) and the JDK, used the way Alipay's Java SDK uses them.
//
//   java -cp /usr/share/java/bcprov.jar testdata/oracle/Sm2Oracle.java < commands
//
// One command per line, arguments in standard base64, one answer line per command:
//   keypair                         -> "<PKCS#8 private key> <SPKI public key>" (BC-generated SM2)
//   sign KEY CONTENT                -> SM3withSM2 signature (user id 1234567812345678, as the Java SDK sets it)
//   verify SPKI CONTENT SIGNATURE   -> true | false
//   certverify CERT ISSUER_SPKI     -> true | false (X.509 signature checked by BC, its default id
//                                      1234567812345678)
//   sm4enc KEY PLAIN | sm4dec KEY DATA        -> SM4/GCM/NoPadding, 16-byte IV in front
//   aesv2enc KEY PLAIN | aesv2dec KEY DATA    -> AES/CBC/PKCS5Padding, 16-byte IV in front
// A failure answers "error <reason>".

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.bouncycastle.jcajce.spec.SM2ParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public class Sm2Oracle {
    static final Base64.Decoder D = Base64.getDecoder();
    static final Base64.Encoder E = Base64.getEncoder();

    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            String[] p = line.split(" ", -1); // keeps empty arguments (empty content)
            try {
                System.out.println(run(p));
            } catch (Exception e) {
                System.out.println("error " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }

    static String run(String[] p) throws Exception {
        switch (p[0]) {
            case "keypair": {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "BC");
                g.initialize(new ECGenParameterSpec("sm2p256v1"));
                KeyPair pair = g.generateKeyPair();
                return E.encodeToString(pair.getPrivate().getEncoded()) + " "
                        + E.encodeToString(pair.getPublic().getEncoded());
            }
            case "sign": {
                // As Alipay's Java SDK (SM2Encryptor): the user id set explicitly.
                Signature s = Signature.getInstance("SM3withSM2", "BC");
                s.setParameter(new SM2ParameterSpec("1234567812345678".getBytes(StandardCharsets.US_ASCII)));
                s.initSign(privateKey(p[1]));
                s.update(D.decode(p[2]));
                return E.encodeToString(s.sign());
            }
            case "verify": {
                Signature s = Signature.getInstance("SM3withSM2", "BC");
                s.setParameter(new SM2ParameterSpec("1234567812345678".getBytes(StandardCharsets.US_ASCII)));
                s.initVerify(publicKey(p[1]));
                s.update(D.decode(p[2]));
                return String.valueOf(s.verify(D.decode(p[3])));
            }
            case "certverify": {
                CertificateFactory f = CertificateFactory.getInstance("X.509", "BC");
                X509Certificate c = (X509Certificate) f.generateCertificate(new ByteArrayInputStream(D.decode(p[1])));
                try {
                    c.verify(publicKey(p[2]), "BC");
                    return "true";
                } catch (java.security.SignatureException e) {
                    return "false";
                }
            }
            case "sm4enc":
                return encrypt("SM4/GCM/NoPadding", "SM4", "BC", p[1], p[2]);
            case "sm4dec":
                return decrypt("SM4/GCM/NoPadding", "SM4", "BC", p[1], p[2]);
            case "aesv2enc":
                return encrypt("AES/CBC/PKCS5Padding", "AES", null, p[1], p[2]);
            case "aesv2dec":
                return decrypt("AES/CBC/PKCS5Padding", "AES", null, p[1], p[2]);
            default:
                return "error unknown command " + p[0];
        }
    }

    static PrivateKey privateKey(String b64) throws Exception {
        return KeyFactory.getInstance("EC", "BC").generatePrivate(new PKCS8EncodedKeySpec(D.decode(b64)));
    }

    static PublicKey publicKey(String b64) throws Exception {
        return KeyFactory.getInstance("EC", "BC").generatePublic(new X509EncodedKeySpec(D.decode(b64)));
    }

    static Cipher cipher(String name, String provider) throws Exception {
        return provider == null ? Cipher.getInstance(name) : Cipher.getInstance(name, provider);
    }

    // As Alipay's Java SDK: a random 16-byte IV, written in front of the cipher's output.
    static String encrypt(String name, String alg, String provider, String key, String plain) throws Exception {
        byte[] iv = new byte[16];
        new SecureRandom().nextBytes(iv);
        Cipher c = cipher(name, provider);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(D.decode(key), alg), new IvParameterSpec(iv));
        byte[] body = c.doFinal(D.decode(plain));
        byte[] out = new byte[16 + body.length];
        System.arraycopy(iv, 0, out, 0, 16);
        System.arraycopy(body, 0, out, 16, body.length);
        return E.encodeToString(out);
    }

    static String decrypt(String name, String alg, String provider, String key, String data) throws Exception {
        byte[] all = D.decode(data);
        Cipher c = cipher(name, provider);
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(D.decode(key), alg), new IvParameterSpec(all, 0, 16));
        return E.encodeToString(c.doFinal(all, 16, all.length - 16));
    }
}
