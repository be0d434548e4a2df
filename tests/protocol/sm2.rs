//! SM2 (国密): keys, SM3withSM2 signatures with Alipay's user id, SM4 and AES_V2 content
//! encryption — checked against BouncyCastle and the JDK (as Alipay's Java SDK uses them) and
//! the `openssl` command line with `distid:1234567812345678`.

use std::process::Command;

use alipay_sdk::aes::{AesError, AesKey, EncryptType};
use alipay_sdk::key::{KeyAlgorithm, KeyErrorKind, PrivateKey, PublicKey, SignType};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::common::bc::{self, b64};

const USER_ID: &str = "distid:1234567812345678";

/// Contents as requests carry them: ASCII, UTF-8 Chinese, GBK bytes, empty, long.
fn contents() -> Vec<Vec<u8>> {
    vec![
        b"app_id=2021000000000001&biz_content={\"out_trade_no\":\"1\"}&method=alipay.trade.query&sign_type=SM2"
            .to_vec(),
        "subject=国密测试&total_amount=0.01".as_bytes().to_vec(),
        vec![0xb9, 0xfa, 0xc3, 0xdc], // 国密 in GBK
        Vec::new(),
        "x".repeat(10_000).into_bytes(),
    ]
}

fn bare_base64(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn our_sm2_signatures_verify_with_bouncycastle_and_theirs_with_us() {
    // A key BouncyCastle generated (its PKCS#8 carries the curve twice), given as Alipay's key
    // tool writes it: bare base64.
    let pair = bc::run(&["keypair".into()]).remove(0);
    let (bc_private, bc_public) = pair.split_once(' ').unwrap();
    let theirs = PrivateKey::from_bytes(bc_private.as_bytes()).unwrap();
    assert_eq!(theirs.algorithm(), KeyAlgorithm::Sm2);
    let their_public = PublicKey::from_bytes(bc_public.as_bytes()).unwrap();
    assert_eq!(their_public.algorithm(), KeyAlgorithm::Sm2);
    // A key we generated, handed to BouncyCastle as PKCS#8 / SPKI.
    let ours = PrivateKey::generate_sm2().unwrap();
    let our_pkcs8 = bare_base64(&ours.to_pkcs8_pem().unwrap());
    let our_spki = b64(&ours.public_key().to_der());

    let mut commands = Vec::new();
    let mut ours_signed = Vec::new();
    for content in contents() {
        for (key, spki) in [(&ours, &our_spki), (&theirs, &bc_public.to_string())] {
            let signature = key.sign(&content, SignType::Sm2).unwrap();
            commands.push(format!("verify {spki} {} {signature}", b64(&content)));
            ours_signed.push(signature);
        }
        commands.push(format!("sign {our_pkcs8} {}", b64(&content)));
        commands.push(format!("sign {bc_private} {}", b64(&content)));
    }
    let answers = bc::run(&commands);
    let mut answers = answers.iter();
    for content in contents() {
        assert_eq!(answers.next().unwrap(), "true", "BouncyCastle verifies our signature with our key");
        assert_eq!(answers.next().unwrap(), "true", "BouncyCastle verifies our signature with its key");
        let by_bc_with_ours = answers.next().unwrap();
        let by_bc_with_theirs = answers.next().unwrap();
        assert!(ours.public_key().verify(&content, by_bc_with_ours, SignType::Sm2), "{by_bc_with_ours}");
        assert!(their_public.verify(&content, by_bc_with_theirs, SignType::Sm2));
        // The signature is bound to the content and the key.
        let mut other = content.clone();
        other.push(b'!');
        assert!(!ours.public_key().verify(&other, by_bc_with_ours, SignType::Sm2));
        assert!(!their_public.verify(&content, by_bc_with_ours, SignType::Sm2));
        // The DER SEQUENCE{r, s} in standard base64.
        let der = STANDARD.decode(by_bc_with_ours).unwrap();
        assert_eq!(der[0], 0x30);
    }
    // The algorithm comes from configuration: an SM2 signature is no RSA2 one, and back.
    assert!(!ours.public_key().verify(b"x", &ours.sign(b"x", SignType::Sm2).unwrap(), SignType::Rsa2));
    let error = ours.sign(b"x", SignType::Rsa2).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::AlgorithmMismatch { .. }), "{error}");
    assert!(error.to_string().contains("RSA2 needs an RSA key, but the key is SM2"), "{error}");
    // SM2 signatures are randomised: two signatures of the same content differ, both verify.
    let (a, b) = (ours.sign(b"same", SignType::Sm2).unwrap(), ours.sign(b"same", SignType::Sm2).unwrap());
    assert_ne!(a, b);
}

#[test]
fn openssl_agrees_with_alipays_user_id_and_its_default_empty_id_is_refused() {
    let dir = tempdir("openssl");
    let key_path = dir.join("sm2.pem");
    let public_path = dir.join("sm2_pub.pem");
    run_ok(Command::new("openssl").args(["genpkey", "-algorithm", "SM2", "-out"]).arg(&key_path));
    run_ok(Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&key_path).arg("-out").arg(&public_path));
    let key = PrivateKey::from_path(&key_path).unwrap();
    let public = PublicKey::from_path(&public_path).unwrap();
    assert_eq!((key.algorithm(), public.algorithm()), (KeyAlgorithm::Sm2, KeyAlgorithm::Sm2));
    let content_path = dir.join("content.txt");
    let content = "app_id=2021000000000001&charset=utf-8&method=alipay.trade.query&sign_type=SM2&subject=国密";
    std::fs::write(&content_path, content).unwrap();
    let signature_path = dir.join("signature.bin");

    // Ours → openssl: verifies with the user id, not with OpenSSL's default one.
    std::fs::write(&signature_path, key.sign_raw(content.as_bytes(), SignType::Sm2).unwrap()).unwrap();
    let verify = |with_id: bool| {
        let mut command = Command::new("openssl");
        command.args(["dgst", "-sm3", "-verify"]).arg(&public_path);
        if with_id {
            command.args(["-sigopt", USER_ID]);
        }
        command.arg("-signature").arg(&signature_path).arg(&content_path);
        command.output().unwrap()
    };
    let with_id = verify(true);
    assert!(with_id.status.success(), "{}", String::from_utf8_lossy(&with_id.stdout));
    assert!(!verify(false).status.success(), "the signature is not made with the empty id");

    // openssl → ours: with the user id it verifies; with OpenSSL's default (empty) id it must not.
    let sign = |with_id: bool| {
        let mut command = Command::new("openssl");
        command.args(["dgst", "-sm3", "-sign"]).arg(&key_path);
        if with_id {
            command.args(["-sigopt", USER_ID]);
        }
        run_ok(command.arg("-out").arg(&signature_path).arg(&content_path));
        std::fs::read(&signature_path).unwrap()
    };
    assert!(public.verify_raw(content.as_bytes(), &sign(true), SignType::Sm2));
    assert!(!public.verify_raw(content.as_bytes(), &sign(false), SignType::Sm2));

    // Key forms: PKCS#8 PEM (above), bare base64, DER; the public key as bare base64.
    let pem = std::fs::read_to_string(&key_path).unwrap();
    let bare = PrivateKey::from_bytes(bare_base64(&pem).as_bytes()).unwrap();
    let der = PrivateKey::from_bytes(&STANDARD.decode(bare_base64(&pem)).unwrap()).unwrap();
    let public_bare =
        PublicKey::from_bytes(bare_base64(&std::fs::read_to_string(&public_path).unwrap()).as_bytes()).unwrap();
    for signer in [&bare, &der] {
        assert!(public_bare.verify(b"c", &signer.sign(b"c", SignType::Sm2).unwrap(), SignType::Sm2));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn keys_of_other_curves_and_mismatched_sign_types_are_named() {
    let dir = tempdir("curves");
    let p256 = dir.join("p256.pem");
    run_ok(
        Command::new("openssl")
            .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
            .arg(&p256),
    );
    let error = PrivateKey::from_path(&p256).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error.kind(), KeyErrorKind::UnsupportedKey { .. }), "{message}");
    assert!(message.contains("p256.pem") && message.contains("prime256v1") && message.contains("SM2"), "{message}");
    assert!(!message.contains("BEGIN"), "{message}");

    assert_eq!("SM2".parse::<SignType>().unwrap(), SignType::Sm2);
    assert_eq!(SignType::Sm2.as_str(), "SM2");
    let unknown = "SM3".parse::<SignType>().unwrap_err().to_string();
    assert!(unknown.contains("SM2") && unknown.contains("RSA2"), "{unknown}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sm4_and_aes_v2_round_trip_with_the_java_sdks_construction() {
    let raw_key: Vec<u8> = (0u8..16).map(|b| b.wrapping_mul(29).wrapping_add(3)).collect();
    let key_b64 = b64(&raw_key);
    let plaintexts: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"a".to_vec(),
        b"exactly 16 bytes".to_vec(),
        b"seventeen bytes!!".to_vec(),
        r#"{"out_trade_no":"国密-1","total_amount":"0.01"}"#.as_bytes().to_vec(),
        (0..1000u32).map(|i| (i % 251) as u8).collect(),
    ];
    let schemes = [(EncryptType::Sm4, "sm4"), (EncryptType::AesV2, "aesv2")];
    let mut commands = Vec::new();
    let mut ours = Vec::new();
    for (scheme, name) in schemes {
        let key = AesKey::from_base64(&key_b64).unwrap().with_encrypt_type(scheme).unwrap();
        for plain in &plaintexts {
            let encrypted = key.encrypt(plain).unwrap();
            commands.push(format!("{name}dec {key_b64} {encrypted}"));
            commands.push(format!("{name}enc {key_b64} {}", b64(plain)));
            ours.push(encrypted);
        }
    }
    let answers = bc::run(&commands);
    let mut answers = answers.iter();
    let mut ours = ours.iter();
    for (scheme, _) in schemes {
        let key = AesKey::from_base64(&key_b64).unwrap().with_encrypt_type(scheme).unwrap();
        for plain in &plaintexts {
            let decrypted_by_java = answers.next().unwrap();
            assert_eq!(STANDARD.decode(decrypted_by_java).unwrap(), *plain, "{scheme}: Java decrypts ours");
            let by_java = answers.next().unwrap();
            assert_eq!(&key.decrypt(by_java).unwrap(), plain, "{scheme}: we decrypt Java's");
            // A random 16-byte IV in front: the same plaintext never encrypts the same way.
            let ours = ours.next().unwrap();
            assert_ne!(ours, &key.encrypt(plain).unwrap());
            let data = STANDARD.decode(ours).unwrap();
            let expected_len = match scheme {
                EncryptType::Sm4 => 16 + plain.len() + 16,
                _ => 16 + (plain.len() / 16 + 1) * 16,
            };
            assert_eq!(data.len(), expected_len, "{scheme}");
        }
    }
    // SM4-GCM is authenticated: any flipped bit (IV, body or tag) is refused, whole.
    let sm4 = AesKey::from_base64(&key_b64).unwrap().with_encrypt_type(EncryptType::Sm4).unwrap();
    let sealed = STANDARD.decode(sm4.encrypt(b"{\"a\":\"b\"}").unwrap()).unwrap();
    for position in [0, 16, sealed.len() - 1] {
        let mut tampered = sealed.clone();
        tampered[position] ^= 0x01;
        let error = sm4.decrypt(&STANDARD.encode(&tampered)).unwrap_err();
        assert_eq!(error, AesError::Decrypt { encrypt_type: EncryptType::Sm4 });
        assert!(error.to_string().starts_with("SM4 decryption failed"), "{error}");
    }
    assert!(sm4.decrypt(&STANDARD.encode([0u8; 31])).is_err(), "shorter than IV + tag");
    // An SM4 key is 16 bytes; the scheme is the key's, never the message's.
    let long = AesKey::from_bytes(vec![1; 32]).unwrap().with_encrypt_type(EncryptType::Sm4).unwrap_err();
    assert!(long.to_string().contains("16 bytes"), "{long}");
    assert_eq!("AES_V2".parse::<EncryptType>().unwrap(), EncryptType::AesV2);
    assert!("SM4_GCM".parse::<EncryptType>().unwrap_err().to_string().contains("AES, AES_V2 or SM4"));
    assert!(!format!("{sm4:?}").contains(&key_b64));
}

#[test]
fn aes_v2_is_what_openssl_enc_decrypts_with_the_iv_in_front() {
    let raw_key = [0x42u8; 16];
    let key = AesKey::from_bytes(raw_key.to_vec()).unwrap().with_encrypt_type(EncryptType::AesV2).unwrap();
    let plain = r#"{"out_trade_no":"20150320010101001","subject":"Iphone6 16G"}"#;
    let data = STANDARD.decode(key.encrypt(plain.as_bytes()).unwrap()).unwrap();
    let (iv, body) = data.split_at(16);
    let dir = tempdir("aesv2");
    let input = dir.join("body.bin");
    std::fs::write(&input, body).unwrap();
    let output = Command::new("openssl")
        .args(["enc", "-d", "-aes-128-cbc", "-K", &hex(&raw_key), "-iv", &hex(iv), "-in"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), plain);
    let _ = std::fs::remove_dir_all(dir);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("alipay-sm2-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_ok(command: &mut Command) {
    let output = command.output().expect("openssl runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
