//! What a hostile input can do, fixed and kept fixed (issue: hardening). One module per attack
//! surface; the fuzz corpus and regression inputs are replayed through the same harness the
//! `cargo fuzz` targets run (`fuzz/harness.rs`).

mod common;

#[path = "../fuzz/harness.rs"]
mod harness;

/// A `/proc/self/status` field in kB (`VmRSS`, `VmHWM`), 0 where there is none.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Runs the ignored test `name` of this binary alone in a child process with `env` set (memory
/// is measured there: other tests of this binary allocate at the same time) and checks it passed.
fn run_in_child(name: &str, env: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, "1")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && all.contains("1 passed"), "{all}");
}

/// Minimal DER editing for building hostile certificates from a real one.
mod der {
    /// (tag, header length, content length) of the element at the start of `data`.
    pub(crate) fn header(data: &[u8]) -> (u8, usize, usize) {
        let first = data[1];
        if first < 0x80 {
            return (data[0], 2, first as usize);
        }
        let count = (first & 0x7f) as usize;
        let len = data[2..2 + count].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (data[0], 2 + count, len)
    }

    /// The elements inside a constructed element's content.
    pub(crate) fn children(element: &[u8]) -> Vec<Vec<u8>> {
        let (_, head, len) = header(element);
        let mut rest = &element[head..head + len];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (_, h, l) = header(rest);
            out.push(rest[..h + l].to_vec());
            rest = &rest[h + l..];
        }
        out
    }

    pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|&b| b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// The certificate with the TBS field at `index` replaced by `field`.
    pub(crate) fn replace_tbs_field(cert: &[u8], index: usize, field: Vec<u8>) -> Vec<u8> {
        let parts = children(cert);
        let mut tbs = children(&parts[0]);
        tbs[index] = field;
        let tbs = encode(0x30, &tbs.concat());
        encode(0x30, &[tbs, parts[1].clone(), parts[2].clone()].concat())
    }
}

fn test_cert_der() -> Vec<u8> {
    let pem = std::fs::read(common::pki("ca/alipay_cert.pem")).unwrap();
    openssl::x509::X509::from_pem(&pem).unwrap().to_der().unwrap()
}

mod certificate_bytes {
    use alipay_sdk::cert::CertificateChain;
    use alipay_sdk::lifecycle::AlipayCertStore;

    use super::{common, der, test_cert_der};

    /// The certificate with a multi-byte UTF-8 character inside its notBefore time.
    fn with_utf8_in_time(tag: u8) -> Vec<u8> {
        let cert = test_cert_der();
        let validity = der::children(&der::children(&cert)[0])[4].clone();
        let times = der::children(&validity);
        let mut content = match tag {
            0x17 => b"26010".to_vec(),
            _ => b"2026010".to_vec(),
        };
        content.extend("é".as_bytes()); // two bytes: a slice at a digit boundary falls inside it
        content.extend(b"000000Z");
        let validity = der::encode(0x30, &[der::encode(tag, &content), times[1].clone()].concat());
        der::replace_tbs_field(&cert, 4, validity)
    }

    #[test]
    fn a_multibyte_character_in_a_time_is_an_error_not_a_panic() {
        for tag in [0x17, 0x18] {
            let cert = with_utf8_in_time(tag);
            let error = CertificateChain::from_bytes(&cert).unwrap_err();
            assert!(error.to_string().contains("time"), "{error}");
            // The same bytes downloaded from the gateway: refused, nothing stored.
            let store = AlipayCertStore::new([]).unwrap();
            assert!(store.validate(&cert, "0123456789abcdef0123456789abcdef").is_err());
            assert!(store.sns().is_empty());
        }
        // A sign in the digits (`+1`) is not a number either.
        let cert = test_cert_der();
        let validity = der::children(&der::children(&cert)[0])[4].clone();
        let times = der::children(&validity);
        let validity = der::encode(0x30, &[der::encode(0x17, b"+60101000000Z"), times[1].clone()].concat());
        assert!(CertificateChain::from_bytes(&der::replace_tbs_field(&cert, 4, validity)).is_err());
    }

    fn with_serial(content: &[u8]) -> Vec<u8> {
        der::replace_tbs_field(&test_cert_der(), 1, der::encode(0x02, content))
    }

    #[test]
    fn serials_are_bounded_and_minimal_but_21_octets_work() {
        // 64 KB: refused at once, before any base-10 arithmetic.
        let mut huge = vec![0x01];
        huge.extend(std::iter::repeat_n(0x5a, 64 * 1024));
        let error = CertificateChain::from_bytes(&with_serial(&huge)).unwrap_err();
        assert!(error.to_string().contains("serialNumber") && error.to_string().contains("65537 octets"), "{error}");
        // Not minimally encoded: refused like the JDK and OpenSSL do.
        let error = CertificateChain::from_bytes(&with_serial(&[0x00, 0x01])).unwrap_err();
        assert!(error.to_string().contains("minimally"), "{error}");

        // 21 octets (a 160-bit serial with its high bit set) and 40: the SN is MD5 of the issuer
        // and the decimal serial, the decimal computed here by OpenSSL's BIGNUM.
        for serial in [[&[0x00u8][..], &[0xc3; 20][..]].concat(), [&[0x12u8][..], &[0x34; 39][..]].concat()] {
            let chain = CertificateChain::from_bytes(&with_serial(&serial)).unwrap();
            let decimal = openssl::bn::BigNum::from_slice(&serial).unwrap().to_dec_str().unwrap().to_string();
            assert_eq!(chain.leaf().serial_decimal(), decimal);
            let issuer = chain.leaf().issuer().to_string();
            let digest =
                openssl::hash::hash(openssl::hash::MessageDigest::md5(), format!("{issuer}{decimal}").as_bytes());
            let expected: String = digest.unwrap().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(chain.sn(), expected);
        }
        // And the JDK oracle's 21-octet certificate keeps its JDK-computed SN.
        let oracle = common::oracle_for("cjk_utf8.pem");
        let chain = CertificateChain::from_path(common::pki("dn/cjk_utf8.pem")).unwrap();
        let der = openssl::x509::X509::from_pem(&std::fs::read(common::pki("dn/cjk_utf8.pem")).unwrap()).unwrap();
        assert_eq!(der.serial_number().to_bn().unwrap().num_bytes(), 20, "160 bits: 21 octets with the sign byte");
        assert_eq!(chain.sn(), oracle["sn"].as_str().unwrap());
    }
}

mod notification_content {
    use alipay_sdk::charset::Charset;
    use alipay_sdk::excerpt::SIGN_CONTENT_EXCERPT_BYTES;
    use alipay_sdk::key::{PublicKey, SignType};
    use alipay_sdk::notify::{NotificationVerifier, NotifyErrorKind, Rule};
    use alipay_sdk::primitives::notification::sign_params;

    use super::common::pki;
    use super::common::wire::alipay_key;

    fn verifier() -> NotificationVerifier {
        NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap())
    }

    fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
        params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn form(params: &[(String, String)], charset: Charset) -> String {
        params
            .iter()
            .map(|(k, v)| {
                let encode = |s: &str| {
                    let bytes = charset.encode(s, "test").unwrap().into_owned();
                    url::form_urlencoded::byte_serialize(&bytes).collect::<String>()
                };
                format!("{}={}", encode(k), encode(v))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn signed(params: &[(&str, &str)], charset: Charset) -> Vec<(String, String)> {
        let mut params = owned(params);
        let sign = sign_params(&params, Rule::V1, &alipay_key(), SignType::Rsa2, charset).unwrap();
        params.push(("sign".into(), sign));
        params
    }

    const GENUINE: &[(&str, &str)] = &[
        ("app_id", "2021000000000001"),
        ("notify_id", "n-1"),
        ("out_trade_no", "o-1"),
        ("total_amount", "100.00"),
        ("trade_no", "t-1"),
        ("trade_status", "TRADE_CLOSED"),
        ("subject", "A&B coffee"),
    ];

    #[test]
    fn genuine_values_holding_ampersand_name_equals_verify_as_in_java() {
        // Real notifications carry such values: a passback_params of `a=1&b=2`, a subject such
        // as `Fish&Chips=5`. Alipay signs them unescaped and Java verifies them.
        let mut genuine = GENUINE.to_vec();
        genuine.push(("passback_params", "a=1&b=2"));
        genuine.push(("body", "Fish&Chips=5"));
        let params = signed(&genuine, Charset::Utf8);
        let body = form(&params, Charset::Utf8);
        assert!(body.contains("passback_params=a%3D1%26b%3D2"), "{body}");
        let verified = verifier().verify((body.as_bytes(), None), Rule::V1).unwrap();
        assert_eq!(verified.get("passback_params"), Some("a=1&b=2"));
        assert_eq!(verified.get("body"), Some("Fish&Chips=5"));
        assert_eq!(verified.trade().unwrap().total_amount.to_string(), "100.00");
    }

    #[test]
    fn a_merged_parameter_verifies_but_cannot_pass_as_a_typed_field() {
        // The protocol's own ambiguity (documented in the security section): hide trade_status
        // inside trade_no (they sort next to each other), and the signed content is the same.
        let genuine = signed(GENUINE, Charset::Utf8);
        let mut merged: Vec<(String, String)> = genuine.iter().filter(|(k, _)| k != "trade_status").cloned().collect();
        for (k, v) in merged.iter_mut() {
            if k == "trade_no" {
                *v = "t-1&trade_status=TRADE_CLOSED".into();
            }
        }
        let content = |params: &[(String, String)]| {
            alipay_sdk::primitives::notification::sign_content(
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                Rule::V1,
            )
        };
        assert_eq!(content(&merged), content(&genuine), "the merge keeps the signed content");
        let verified = verifier().verify((form(&merged, Charset::Utf8).as_bytes(), None), Rule::V1).unwrap();
        // The typed notification does not invent the missing status.
        match verified.trade() {
            Err(e) => assert!(matches!(e.kind(), NotifyErrorKind::Field { field: "trade_status", .. }), "{e}"),
            Ok(trade) => panic!("a merged status passed as a typed field: {trade:?}"),
        }
        // Merged into an amount, the amount is not an amount.
        let mut amount_merged = owned(&[
            ("app_id", "2021000000000001"),
            ("notify_id", "n-2"),
            ("out_trade_no", "o-1"),
            ("total_amount", "100.00&receipt_amount=90.00"),
            ("trade_no", "t-1"),
            ("trade_status", "TRADE_SUCCESS"),
        ]);
        let sign = sign_params(&amount_merged, Rule::V1, &alipay_key(), SignType::Rsa2, Charset::Utf8).unwrap();
        amount_merged.push(("sign".into(), sign));
        let verified = verifier().verify(amount_merged, Rule::V1).unwrap();
        let error = verified.trade().unwrap_err();
        assert!(matches!(error.kind(), NotifyErrorKind::Field { field: "total_amount", .. }), "{error}");
    }

    #[test]
    fn the_typed_notification_treats_blank_values_as_absent() {
        let mut with_blanks = GENUINE.to_vec();
        with_blanks.push(("merchant_app_id", " "));
        with_blanks.push(("seller_id", "\t"));
        with_blanks.push(("receipt_amount", "  "));
        let verified = verifier().verify(signed(&with_blanks, Charset::Utf8), Rule::V1).unwrap();
        let trade = verified.trade().unwrap();
        assert_eq!(trade.merchant_app_id, None);
        assert_eq!(trade.seller_id, None);
        assert_eq!(trade.receipt_amount, None);
        // A blank required field is missing, not an empty value.
        let mut blank_id = GENUINE.to_vec();
        blank_id.retain(|(k, _)| *k != "out_trade_no");
        blank_id.push(("out_trade_no", "   "));
        let verified = verifier().verify(signed(&blank_id, Charset::Utf8), Rule::V1).unwrap();
        let error = verified.trade().unwrap_err();
        assert!(matches!(error.kind(), NotifyErrorKind::Field { field: "out_trade_no", .. }), "{error}");
    }

    #[test]
    fn percent_escapes_take_exactly_two_hex_digits() {
        for bad in ["a=%+1", "a=%-1", "a=%1", "a=%zz", "a=%", "%+1=x"] {
            assert!(
                matches!(alipay_sdk::notify::Form::parse(bad.as_bytes(), None).map(|form| form.to_pairs()), Err(e) if matches!(e.kind(), NotifyErrorKind::Malformed { .. })),
                "{bad}"
            );
        }
        let ok = alipay_sdk::notify::Form::parse(b"a=%41%2b+b", None).map(|form| form.to_pairs()).unwrap();
        assert_eq!(ok, vec![("a".to_string(), "A+ b".to_string())]);
    }

    #[test]
    fn gbk_named_only_by_the_content_type_verifies_over_the_bytes_sent() {
        let params =
            signed(&[("app_id", "2021000000000001"), ("notify_id", "g-1"), ("subject", "中文商品")], Charset::Gbk);
        let body = form(&params, Charset::Gbk);
        let verified = verifier()
            .verify((body.as_bytes(), Some("application/x-www-form-urlencoded; charset=GBK")), Rule::V1)
            .unwrap();
        assert_eq!(verified.get("subject"), Some("中文商品"));
        // Without the header the bytes are not UTF-8: a clear charset error, not a bad signature.
        assert!(
            matches!(verifier().verify((body.as_bytes(), None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::Charset(_)))
        );
        // A charset parameter that contradicts the decoding is refused.
        let mixed = owned(&[("charset", "GBK"), ("a", "1"), ("sign", "x")]);
        assert!(verifier().verify((mixed, Charset::Utf8), Rule::V1).is_err());
    }

    #[test]
    fn a_huge_notification_makes_a_small_error_that_gives_the_length() {
        let big = "x".repeat(5_000_000);
        let body = format!("app_id=1&notify_id=2&body={big}&sign=AAAA");
        let error = verifier().verify((body.as_bytes(), None), Rule::V1).unwrap_err();
        let message = error.to_string();
        assert!(message.len() < SIGN_CONTENT_EXCERPT_BYTES + 512, "{} bytes", message.len());
        // Sorted: app_id=1&body=…&notify_id=2
        let full = "app_id=1&body=".len() + big.len() + "&notify_id=2".len();
        assert!(message.contains(&format!("{full} bytes")), "the full length is given: {message:.200}");
        let NotifyErrorKind::InvalidSignature { sign_content, sign_content_len } = error.kind() else { panic!() };
        assert_eq!(*sign_content_len, full);
        assert!(sign_content.starts_with("app_id=1&body=xxx"));
    }

    #[test]
    fn many_parameters_are_checked_for_duplicates_in_linear_time() {
        // 200,000 distinct parameters then a duplicate: found (the old check was quadratic).
        let mut body: String = (0..200_000).map(|i| format!("p{i}=v&")).collect();
        body.push_str("p7=again");
        match alipay_sdk::notify::Form::parse(body.as_bytes(), None).map(|form| form.to_pairs()) {
            Err(e) if matches!(e.kind(), NotifyErrorKind::DuplicateParameter { name } if name == "p7") => {}
            other => panic!("{:?}", other.map(|p| p.len())),
        }
    }
}

mod amplification {
    use std::time::Duration;

    use alipay_sandbox::Sandbox;
    use alipay_sdk::lifecycle::DownloadErrorKind;
    use alipay_sdk::notify::Rule;

    const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

    /// A forged notification naming `sn`, signed with nothing of Alipay's.
    fn forged(sn: &str, i: usize) -> String {
        format!(
            "app_id=2021000000000001&notify_id=f{i}&out_trade_no=o{i}&trade_status=TRADE_SUCCESS&total_amount=1.00&alipay_cert_sn={sn}&sign_type=RSA2&sign=QUJD"
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_forged_posts_with_fresh_sns_make_at_most_the_budget_of_downloads() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
        let store = client.config().cert_mode().unwrap().store().clone();

        // Malformed SNs: nothing is downloaded at all, and the error does not echo 1 MB.
        for (i, sn) in ["NOT-AN-SN", "0123456789ABCDEF0123456789ABCDEF", &"a".repeat(1 << 20)].iter().enumerate() {
            let error = client.verify_notification((forged(sn, i).as_bytes(), None), Rule::V1).await.unwrap_err();
            assert!(
                matches!(error.alipay_cert().map(|e| e.kind()), Some(DownloadErrorKind::MalformedSn { .. })),
                "{error}"
            );
            assert!(error.to_string().len() < 400);
        }
        assert_eq!(sandbox.request_count(DOWNLOAD), 0);

        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    let sn = format!("{:032x}", 0x5eed_0000_u128 + i as u128);
                    client.verify_notification((forged(&sn, i).as_bytes(), None), Rule::V1).await
                })
            })
            .collect();
        let mut rate_limited = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => panic!("a forged notification was accepted"),
                Err(error) => {
                    if let Some(DownloadErrorKind::RateLimited { limit, .. }) = error.alipay_cert().map(|e| e.kind()) {
                        assert_eq!(*limit, 5);
                        rate_limited += 1;
                    }
                }
            }
        }
        let downloads = sandbox.request_count(DOWNLOAD);
        assert!(downloads <= 5, "{downloads} downloads for 200 forged posts");
        assert_eq!(downloads as u64, store.download_count());
        assert_eq!(rate_limited, 200 - downloads);
        // Nothing is left behind per SN: the maps stay bounded by the budget, not the flood.
        assert_eq!(store.stats().in_flight, 0);
        assert!(store.stats().remembered_failures <= 5);
        // A genuine rotation is still followed once the budget refills (here: a fresh store).
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    #[test]
    fn the_failure_memory_is_bounded() {
        let store =
            alipay_sdk::lifecycle::AlipayCertStore::new([]).unwrap().download_limit(5000, Duration::from_secs(1));
        let store = std::sync::Arc::new(store);
        for i in 0..3000u128 {
            let sn = format!("{i:032x}");
            let down = std::sync::Arc::new(std::io::Error::other("down"));
            let _ = store.fetch_blocking(&sn, || Err(DownloadErrorKind::Call { sn: sn.clone(), source: down }.into()));
        }
        assert!(store.stats().remembered_failures <= 1024, "{}", store.stats().remembered_failures);
        assert_eq!(store.stats().in_flight, 0);
    }
}

mod sandbox_http {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use alipay_sandbox::Sandbox;

    pub(super) fn exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(raw).unwrap();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    pub(super) fn status(answer: &str) -> &str {
        answer.split_whitespace().nth(1).unwrap_or("")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn malformed_http_is_a_400_and_the_server_keeps_serving() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let addr = sandbox.addr();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "chunk size overflow",
                b"POST /gateway.do HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n".to_vec(),
            ),
            (
                "conflicting lengths",
                b"POST /gateway.do HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            ),
            (
                "length and chunked",
                b"POST /gateway.do HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    .to_vec(),
            ),
            ("unknown encoding", b"POST /gateway.do HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec()),
            ("huge request line", [b"GET /".to_vec(), vec![b'a'; 40 * 1024], b" HTTP/1.1\r\n\r\n".to_vec()].concat()),
        ];
        for (name, raw) in cases {
            let answer = tokio::task::spawn_blocking(move || exchange(addr, &raw)).await.unwrap();
            assert_eq!(status(&answer), "400", "{name}: {answer}");
        }
        // Trailers are consumed: the next request on the connection is answered as itself.
        let raw = b"POST /sandbox/notifications HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n\r\nGET /sandbox/notifications HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec();
        let answer = tokio::task::spawn_blocking(move || exchange(addr, &raw)).await.unwrap();
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 2, "{answer}");
        assert!(!answer.contains(" 400 "), "{answer}");
    }

    const CHILD: &str = "ALIPAY_SDK_RSS_CHILD";

    /// The process's memory is measured, so the measurement runs alone in a child process:
    /// other tests of this binary allocate at the same time.
    #[test]
    fn announced_bodies_are_not_allocated_ahead_of_the_bytes() {
        super::run_in_child("sandbox_http::announced_bodies_in_child", CHILD);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "helper: run by announced_bodies_are_not_allocated_ahead_of_the_bytes in a child process"]
    async fn announced_bodies_in_child() {
        assert!(std::env::var(CHILD).is_ok(), "run only as a child");
        let sandbox = Sandbox::builder().start().await.unwrap();
        let addr = sandbox.addr();
        let rss = || super::status_kb("VmRSS");
        let before = rss();
        // 40 connections each announcing 20 MB and sending 10 bytes, held open.
        let streams: Vec<TcpStream> = (0..40)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"POST /gateway.do HTTP/1.1\r\nContent-Length: 20000000\r\n\r\n0123456789").unwrap();
                s
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let grown_kb = rss().saturating_sub(before);
        assert!(grown_kb < 100 * 1024, "RSS grew {grown_kb} kB for 40 announced 20 MB bodies");
        drop(streams);
        // Still serving.
        let answer = tokio::task::spawn_blocking(move || {
            exchange(addr, b"GET /sandbox/notifications HTTP/1.1\r\nConnection: close\r\n\r\n")
        })
        .await
        .unwrap();
        assert_eq!(status(&answer), "200", "{answer}");
    }

    #[test]
    fn rotating_under_a_current_thread_runtime_does_not_panic() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let sandbox = Sandbox::builder().start().await.unwrap();
            let before = sandbox.info().alipay_cert_sn;
            let client = reqwest::Client::new();
            let answer = client
                .post(format!("http://{}/sandbox/rotate", sandbox.addr()))
                .header("x-sandbox-token", sandbox.control_token())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            assert_ne!(sandbox.info().alipay_cert_sn, before);
        });
    }
}

mod fuzz_corpus {
    use std::path::PathBuf;

    fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
        let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        files.sort();
        files
    }

    /// Replays the committed corpus and every regression input of `target` on stable.
    fn replay(target: &str, run: fn(&[u8])) {
        let corpus = inputs("corpus", target);
        assert!(corpus.len() >= 3, "{target}: the corpus is committed");
        let regressions = inputs("regressions", target);
        for (path, bytes) in corpus.iter().chain(&regressions) {
            if let Err(panic) = std::panic::catch_unwind(|| run(bytes)) {
                panic!("{target}: {} panics: {panic:?}", path.display());
            }
        }
    }

    #[test]
    fn certificate() {
        replay("certificate", super::harness::certificate);
    }

    #[test]
    fn key() {
        replay("key", super::harness::key);
    }

    #[test]
    fn response() {
        replay("response", super::harness::response);
    }

    #[test]
    fn notification() {
        replay("notification", super::harness::notification);
    }

    #[cfg(feature = "bill")]
    #[test]
    fn bill() {
        replay("bill", super::harness::bill);
        // The seeds (written by Python in `fuzz/seed.py`) reach the typed rows.
        let parsed = |name: &str| {
            let path = crate::common::root().join("fuzz/corpus/bill").join(name);
            super::harness::bill_parsed(&std::fs::read(path).unwrap())
        };
        for seed in ["trade_zip", "account_zip", "trade_detail_text", "account_detail_text"] {
            assert!(parsed(seed) >= 1, "{seed} parses");
        }
        assert!(parsed("trade_summary_text") >= 1 && parsed("account_summary_text") >= 1);
    }

    #[test]
    fn v3() {
        replay("v3", super::harness::v3);
        // The seeds reach the verified path, and only the signed ones do.
        let seed = |name: &str| {
            let path = crate::common::root().join("fuzz/corpus/v3").join(name);
            super::harness::v3_verified(&std::fs::read(path).unwrap())
        };
        assert_eq!(seed("success"), 2, "plain request, both modes");
        assert_eq!(seed("success_public_key_mode"), 2);
        assert_eq!(seed("unsigned_success"), 0);
        assert_eq!(seed("signed_failure"), 0, "an error answer is never a success");
    }
}

/// Flipping bytes of genuinely signed messages: whatever still verifies must carry exactly the
/// signed content that Alipay's key signed.
mod mutation_sweep {
    use alipay_sdk::cert::CertificateChain;
    use alipay_sdk::charset::Charset;
    use alipay_sdk::key::SignType;
    use alipay_sdk::notify::{NotificationVerifier, Rule};
    use alipay_sdk::primitives::notification::sign_params;
    use alipay_sdk::response::ResponseVerifier;
    use proptest::prelude::*;

    use super::common::pki;
    use super::common::wire::{alipay_cert_sn, alipay_key, signed_body};

    const METHOD: &str = "alipay.trade.query";
    const NODE: &str = r#"{"code":"10000","msg":"Success","out_trade_no":"o-1","trade_no":"2026","total_amount":"88.88","buyer_logon_id":"a**@x.com","trade_status":"TRADE_SUCCESS","url":"https:\/\/m.example\/r","note":"咖啡 \"x\""}"#;

    fn response_verifier() -> ResponseVerifier {
        ResponseVerifier::certificates([CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap()]).unwrap()
    }

    fn response() -> Vec<u8> {
        signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &alipay_key()).into_bytes()
    }

    fn notification_params() -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("app_id", "2021000000000001"),
            ("notify_id", "n-42"),
            ("out_trade_no", "o-1"),
            ("trade_no", "2026"),
            ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", "88.88"),
            ("subject", "咖啡 A&B"),
            ("alipay_cert_sn", &alipay_cert_sn()),
            ("charset", "utf-8"),
            ("gmt_payment", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sign = sign_params(&params, Rule::V1, &alipay_key(), SignType::Rsa2, Charset::Utf8).unwrap();
        params.push(("sign_type".into(), "RSA2".into()));
        params.push(("sign".into(), sign));
        params
    }

    fn notification() -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(notification_params()).finish().into_bytes()
    }

    fn notification_verifier() -> NotificationVerifier {
        NotificationVerifier::certificates([CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap()]).unwrap()
    }

    /// The signed part of a notification: every parameter but `sign` and `sign_type`, sorted.
    fn signed_part<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
        let mut kept: Vec<_> = params
            .into_iter()
            .filter(|(k, _)| *k != "sign" && *k != "sign_type")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        kept.sort();
        kept
    }

    fn check_response(verifier: &ResponseVerifier, mutated: &[u8]) -> bool {
        match verifier.verify(METHOD, mutated) {
            Ok(verified) => {
                assert_eq!(
                    verified.node(),
                    NODE,
                    "changed signed content verified: {}",
                    String::from_utf8_lossy(mutated)
                );
                true
            }
            Err(_) => false,
        }
    }

    fn check_notification(verifier: &NotificationVerifier, expected: &[(String, String)], mutated: &[u8]) -> bool {
        match verifier.verify((mutated, None), Rule::V1) {
            Ok(verified) => {
                assert_eq!(
                    signed_part(verified.params()),
                    expected,
                    "changed signed content verified: {}",
                    String::from_utf8_lossy(mutated)
                );
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn every_bit_of_a_signed_response_flipped() {
        let verifier = response_verifier();
        let body = response();
        assert!(check_response(&verifier, &body), "the genuine response verifies");
        let mut accepted = 0;
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut mutated = body.clone();
                mutated[at] ^= 1 << bit;
                accepted += usize::from(check_response(&verifier, &mutated));
            }
        }
        // Only flips outside the signed content can survive (none are expected in practice).
        assert!(accepted < body.len(), "{accepted} of {} flips verified", body.len() * 8);
    }

    #[test]
    fn every_bit_of_a_signed_notification_flipped() {
        let verifier = notification_verifier();
        let body = notification();
        let expected = signed_part(notification_params().iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert!(check_notification(&verifier, &expected, &body), "the genuine notification verifies");
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut mutated = body.clone();
                mutated[at] ^= 1 << bit;
                check_notification(&verifier, &expected, &mutated);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_multi_byte_edits_never_verify_changed_content(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..5),
        ) {
            let response_verifier = response_verifier();
            let mut body = response();
            for (at, byte) in &edits {
                let i = at.index(body.len());
                body[i] = *byte;
            }
            check_response(&response_verifier, &body);

            let verifier = notification_verifier();
            let expected = signed_part(notification_params().iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut form = notification();
            for (at, byte) in &edits {
                let i = at.index(form.len());
                form[i] = *byte;
            }
            check_notification(&verifier, &expected, &form);
        }
    }
}

/// Bill archives come from the network: a damaged or hostile zip is a typed error, never a
/// panic, and sizes stay capped.
#[cfg(feature = "bill")]
mod bill_archives {
    use std::io::Write;

    use alipay_sdk::bill::{self, BillLimits};
    use alipay_sdk::model::settle::BillType;
    use proptest::prelude::*;

    fn archive() -> Vec<u8> {
        let detail = "#支付宝业务明细查询\r\n\"支付宝交易号\",\"商户订单号\",\"业务类型\",\"订单金额（元）\"\r\n\
                      \"2026\t\",\"o-1\t\",\"交易\",\"1.00\"\r\n#导出时间：[2026-12-01]\r\n";
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file("x_业务明细.csv", options).unwrap();
            writer.write_all(&encoding_rs::GBK.encode(detail).0).unwrap();
            writer.finish().unwrap();
        }
        buffer.into_inner()
    }

    #[test]
    fn the_untouched_archive_parses() {
        let parsed = bill::parse(&archive(), BillType::Trade, BillLimits::default()).unwrap();
        assert_eq!(parsed.details.len(), 1);
    }

    /// A header of 20,000 columns over 20,000 two-value rows: each row's `extra` holds what the
    /// row holds, not an entry per header column (which was 400 million strings).
    #[test]
    fn a_wide_header_costs_nothing_in_short_rows() {
        let mut text = String::from("\u{feff}支付宝交易号,订单金额（元）");
        for i in 0..20_000 {
            text.push_str(&format!(",c{i}"));
        }
        text.push_str("\r\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},1.00\r\n"));
        }
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file("x_业务明细.csv", options).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
            writer.finish().unwrap();
        }
        let parsed = bill::parse(&buffer.into_inner(), BillType::Trade, BillLimits::default()).unwrap();
        let alipay_sdk::bill::BillDetails::Trade(rows) = &parsed.details else { panic!("trade rows") };
        assert_eq!(rows.len(), 20_000);
        assert!(rows.iter().all(|row| row.extra.is_empty()));
        assert_eq!(rows[19_999].trade_no, "19999");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn damaged_archives_are_errors_not_panics(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = archive();
            for (at, value) in edits {
                let index = at.index(bytes.len());
                bytes[index] = value;
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep.max(bytes.len() / 2));
            let limits = BillLimits { max_unpacked_bytes: 1 << 20, ..BillLimits::default() };
            let _ = bill::parse(&bytes, BillType::Trade, limits);
        }
    }
}

/// Another merchant's certificates chain to the same roots as ours (Alipay's Class 1 CA issues
/// every app certificate, its Class 2 CA every Alipay certificate), and their owners hold the
/// keys. Planted in storage, in the fleet's Redis or in a certificate-download answer (signed
/// or not), they are refused, and a notification signed with their keys does not verify.
mod foreign_certificates {
    use std::sync::Arc;

    use alipay_sdk::Client;
    use alipay_sdk::cert::CertificateChain;
    use alipay_sdk::lifecycle::DownloadErrorKind;
    use alipay_sdk::notify::Rule;
    use base64::Engine as _;
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::{X509, X509NameBuilder};

    use crate::common::pki;
    use crate::common::wire::{CaptureServer, FixedClock, cert_config};

    /// A certificate issued by the test PKI's CA to someone else, with its key.
    struct Stranger {
        what: &'static str,
        pem: Vec<u8>,
        key: PKey<Private>,
        sn: String,
    }

    fn issue(what: &'static str, ca: &str, cn: &str) -> Stranger {
        let ca_cert = X509::from_pem(&std::fs::read(pki(&format!("ca/{ca}.pem"))).unwrap()).unwrap();
        let ca_key = PKey::private_key_from_pem(&std::fs::read(pki(&format!("ca/{ca}.key"))).unwrap()).unwrap();
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "CN").unwrap();
        name.append_entry_by_text("O", "another merchant").unwrap();
        name.append_entry_by_text("OU", "Alipay").unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(0x5eed_0000 + cn.len() as u32).unwrap();
        builder.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(ca_cert.subject_name()).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder.set_not_before(ca_cert.not_before()).unwrap();
        builder.set_not_after(ca_cert.not_after()).unwrap();
        builder.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let mut pem = builder.build().to_pem().unwrap();
        pem.extend(ca_cert.to_pem().unwrap());
        let sn = CertificateChain::from_bytes(&pem).unwrap().sn().to_string();
        Stranger { what, pem, key, sn }
    }

    /// Another merchant's app certificate (Class 1) and another merchant's Alipay certificate
    /// (Class 2): both chain to the configured roots.
    fn strangers() -> Vec<Stranger> {
        vec![
            issue("another merchant's app certificate", "class1", "2088000000000099-2021000000000099"),
            issue("another merchant's Alipay certificate", "class2", "支付宝(中国)网络技术有限公司-2088000000000099"),
        ]
    }

    /// Inside every test certificate's validity, whatever today's date.
    fn clock() -> Arc<FixedClock> {
        let ours = CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap();
        Arc::new(FixedClock(ours.leaf().not_before() + chrono::Duration::days(1)))
    }

    fn sign(key: &PKey<Private>, content: &[u8]) -> String {
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key).unwrap();
        base64::engine::general_purpose::STANDARD.encode(signer.sign_oneshot_to_vec(content).unwrap())
    }

    /// A TRADE_SUCCESS notification for our app, signed (V1 rule, built here from the protocol
    /// text, not by the SDK) with the stranger's key and naming the stranger's SN.
    fn notification(stranger: &Stranger) -> Vec<u8> {
        let mut params = vec![
            ("app_id", "2021000000000001".to_string()),
            ("charset", "utf-8".into()),
            ("notify_id", "forged-1".into()),
            ("notify_time", "2024-01-01 12:00:00".into()),
            ("notify_type", "trade_status_sync".into()),
            ("out_trade_no", "order-1".into()),
            ("total_amount", "88.88".into()),
            ("trade_no", "2024010122001400000000000001".into()),
            ("trade_status", "TRADE_SUCCESS".into()),
            ("version", "1.0".into()),
            ("alipay_cert_sn", stranger.sn.clone()),
        ];
        params.sort();
        let content = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        params.push(("sign", sign(&stranger.key, content.as_bytes())));
        params.push(("sign_type", "RSA2".into()));
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish().into_bytes()
    }

    fn refused_as_foreign(error: &alipay_sdk::Error) -> bool {
        error.alipay_cert().is_some_and(|e| matches!(e.kind(), DownloadErrorKind::NotThisAppsAlipayCert { .. }))
    }

    #[tokio::test]
    async fn in_a_download_answer_signed_or_unsigned() {
        for stranger in strangers() {
            for signed in [true, false] {
                let content = base64::engine::general_purpose::STANDARD.encode(&stranger.pem);
                let node = format!(r#"{{"code":"10000","msg":"Success","alipay_cert_content":"{content}"}}"#);
                let name = "alipay_open_app_alipaycert_download_response";
                let body = if signed {
                    let sign = sign(&stranger.key, node.as_bytes());
                    format!(r#"{{"{name}":{node},"alipay_cert_sn":"{}","sign":"{sign}"}}"#, stranger.sn)
                } else {
                    format!(r#"{{"{name}":{node}}}"#)
                };
                let server = CaptureServer::start(move |_| (200, body.clone().into_bytes())).await;
                let client = Client::new(cert_config(&server.url).clock(clock()).build().unwrap()).unwrap();
                let what = format!("{} (answer signed: {signed})", stranger.what);
                let error = client.verify_notification((&notification(&stranger), None), Rule::V1).await.unwrap_err();
                assert!(refused_as_foreign(&error), "{what}: {error}");
                let text = alipay_sdk::lifecycle::DownloadError::to_string(error.alipay_cert().unwrap());
                assert!(text.contains("2088000000000099") && text.contains("2088000000000001"), "{what}: {text}");
                let store = client.config().cert_mode().unwrap().store();
                assert!(!store.contains(&stranger.sn), "{what}");
                assert_eq!(store.refused_count(), 1, "{what}: counted like a refused download");
                // Remembered like any refused certificate: not downloaded again at once.
                let again = client.verify_notification((&notification(&stranger), None), Rule::V1).await.unwrap_err();
                assert!(
                    again.alipay_cert().is_some_and(|e| matches!(e.kind(), DownloadErrorKind::RecentlyFailed { .. })),
                    "{what}: {again}"
                );
            }
        }
    }

    #[tokio::test]
    async fn in_the_certificate_directory() {
        for stranger in strangers() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(format!("alipayCertPublicKey_{}.crt", stranger.sn)), &stranger.pem).unwrap();
            // Nothing listens at the gateway: the only way to the key would be the directory.
            let config = cert_config("http://127.0.0.1:9/gateway.do")
                .clock(clock())
                .alipay_cert_dir(dir.path())
                .build()
                .unwrap();
            let store = config.cert_mode().unwrap().store().clone();
            assert!(!store.contains(&stranger.sn), "{}", stranger.what);
            assert_eq!(store.refused_count(), 1, "{}", stranger.what);
            let client = Client::new(config).unwrap();
            let error = client.verify_notification((&notification(&stranger), None), Rule::V1).await.unwrap_err();
            assert_eq!(error.kind(), alipay_sdk::ErrorKind::AlipayCert, "{}: {error}", stranger.what);
            assert!(!store.contains(&stranger.sn));
        }
    }

    #[cfg(feature = "redis")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_the_fleets_redis() {
        let redis = crate::common::redis_server::RedisServer::start();
        let client = redis::Client::open(redis.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        for stranger in strangers() {
            let () = redis::cmd("SET")
                .arg(format!("alipay:cert:{}", stranger.sn))
                .arg(&stranger.pem)
                .query_async(&mut connection)
                .await
                .unwrap();
            let fleet = alipay_sdk::redis_fleet::RedisFleet::connect(&redis.url()).unwrap();
            let config = cert_config("http://127.0.0.1:9/gateway.do").clock(clock()).fleet(fleet).build().unwrap();
            let client = Client::new(config).unwrap();
            let error = client.verify_notification((&notification(&stranger), None), Rule::V1).await.unwrap_err();
            assert_eq!(error.kind(), alipay_sdk::ErrorKind::AlipayCert, "{}: {error}", stranger.what);
            let store = client.config().cert_mode().unwrap().store();
            assert!(!store.contains(&stranger.sn), "{}", stranger.what);
            assert!(store.refused_count() >= 1, "{}: the fleet's copy was refused and counted", stranger.what);
        }
    }

    #[test]
    fn our_own_alipay_certificate_still_passes_the_same_checks() {
        // The control: a certificate with the configured CN, issued by the same CA, is accepted.
        let ours = issue("our rotated Alipay certificate", "class2", "支付宝(中国)网络技术有限公司-2088000000000001");
        let config = cert_config("http://127.0.0.1:9/gateway.do").clock(clock()).build().unwrap();
        let store = config.cert_mode().unwrap().store().clone();
        store.validate(&ours.pem, &ours.sn).unwrap();
        for stranger in strangers() {
            let error = store.validate(&stranger.pem, &stranger.sn).unwrap_err();
            assert!(matches!(error.kind(), DownloadErrorKind::NotThisAppsAlipayCert { .. }), "{error}");
        }
    }
}

/// A failed certificate download is not an outage: a reset while fetching a rotated
/// certificate is retried after seconds, and the call that resolves a trade works again.
mod download_outages {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reset_download_is_not_an_outage_calls_recover_within_seconds() {
        use alipay_sandbox::{Fault, FaultRule, Sandbox};
        use alipay_sdk::model::trade::TradePrecreate;
        const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";
        let sandbox = Sandbox::builder().start().await.unwrap();
        let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
        client.call(&TradePrecreate::new("reset-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
        sandbox.set_faults(DOWNLOAD, vec![FaultRule::times(Fault::ResetBeforeProcessing, 1)]);
        let new_sn = sandbox.rotate_alipay_cert().unwrap();
        let started = std::time::Instant::now();
        let first = client.call(&alipay_sdk::model::trade::TradeQuery::by_out_trade_no("reset-1")).await.unwrap_err();
        let failure = first.alipay_cert().expect("the download failed");
        assert!(matches!(failure.kind(), alipay_sdk::lifecycle::DownloadErrorKind::Unreachable { .. }), "{first}");
        assert!(failure.to_string().contains("failed for now ("), "the cause is given: {failure}");
        // The query that resolves the trade works again within seconds, not after ten minutes.
        let mut waits = 0;
        let answer = loop {
            match client.call(&alipay_sdk::model::trade::TradeQuery::by_out_trade_no("reset-1")).await {
                Ok(answer) => break answer,
                Err(error) => {
                    let kind = error.alipay_cert().map(|e| e.kind());
                    assert!(
                        matches!(kind, Some(alipay_sdk::lifecycle::DownloadErrorKind::RecentlyFailed { .. })),
                        "{error}"
                    );
                    assert!(
                        started.elapsed() < std::time::Duration::from_secs(5),
                        "not recovered after {:?}",
                        started.elapsed()
                    );
                    waits += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        };
        assert_eq!(answer.out_trade_no, "reset-1");
        assert!(waits > 0, "the retry waited for its backoff");
        assert!(client.config().cert_mode().unwrap().store().contains(&new_sn));
        assert_eq!(sandbox.request_count(DOWNLOAD), 2, "one failed download, one that worked");
    }
}

/// An Alipay public key or certificate that cannot be Alipay's (e = 1 makes every encoding its
/// own signature; an even or small exponent, a short modulus) is refused when the
/// configuration is built, by the rule downloads pass too.
mod configured_keys {
    use alipay_sdk::config::ConfigErrorKind;
    use alipay_sdk::key::SignType;
    use openssl::bn::BigNum;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::X509;

    use crate::common::pki;
    use crate::common::wire::{cert_config, public_key_config};

    /// (what, modulus bits, exponent)
    const WEAK: &[(&str, u32, u32)] = &[
        ("e = 1", 2048, 1),
        ("e = 2", 2048, 2),
        ("e = 3", 2048, 3),
        ("even e", 2048, 65_538),
        ("RSA-1024", 1024, 65_537),
    ];

    fn public_key(bits: u32, e: u32) -> PKey<openssl::pkey::Public> {
        let n = Rsa::generate(bits).unwrap().n().to_owned().unwrap();
        PKey::from_rsa(Rsa::from_public_components(n, BigNum::from_u32(e).unwrap()).unwrap()).unwrap()
    }

    fn certificate(key: &PKey<openssl::pkey::Public>) -> Vec<u8> {
        let ca = X509::from_pem(&std::fs::read(pki("ca/class2.pem")).unwrap()).unwrap();
        let ca_key = PKey::private_key_from_pem(&std::fs::read(pki("ca/class2.key")).unwrap()).unwrap();
        let ours = X509::from_pem(&std::fs::read(pki("ca/alipay_cert.pem")).unwrap()).unwrap();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_serial_number(&BigNum::from_u32(77).unwrap().to_asn1_integer().unwrap()).unwrap();
        builder.set_subject_name(ours.subject_name()).unwrap();
        builder.set_issuer_name(ca.subject_name()).unwrap();
        builder.set_pubkey(key).unwrap();
        builder.set_not_before(ours.not_before()).unwrap();
        builder.set_not_after(ours.not_after()).unwrap();
        builder.sign(&ca_key, openssl::hash::MessageDigest::sha256()).unwrap();
        let mut pem = builder.build().to_pem().unwrap();
        pem.extend(ca.to_pem().unwrap());
        pem
    }

    fn weak(error: &alipay_sdk::config::ConfigError) -> Option<&str> {
        match error.kind() {
            ConfigErrorKind::WeakAlipayKey { weakness, .. } => Some(weakness),
            _ => None,
        }
    }

    #[test]
    fn weak_alipay_keys_and_certificates_are_refused_at_build() {
        let dir = tempfile::tempdir().unwrap();
        for &(what, bits, e) in WEAK {
            let key = public_key(bits, e);
            let key_file = dir.path().join(format!("key-{bits}-{e}.pem"));
            std::fs::write(&key_file, key.public_key_to_pem().unwrap()).unwrap();
            let error = public_key_config("http://127.0.0.1:9/gateway.do")
                .alipay_public_key_file(&key_file)
                .build()
                .unwrap_err();
            let weakness = weak(&error).unwrap_or_else(|| panic!("{what}: {error}"));
            let named = if bits < 2048 { format!("RSA-{bits}") } else { format!("exponent {e}") };
            assert!(weakness.contains(&named), "{what}: {weakness}");
            assert!(error.to_string().contains("alipay_public_key"), "{what}: names the setting: {error}");

            let cert_file = dir.path().join(format!("cert-{bits}-{e}.pem"));
            std::fs::write(&cert_file, certificate(&key)).unwrap();
            let error = cert_config("http://127.0.0.1:9/gateway.do").alipay_cert_file(&cert_file).build();
            let error = error.err().unwrap_or_else(|| panic!("{what}: a weak Alipay certificate was configured"));
            assert!(weak(&error).is_some(), "{what}: {error}");
            assert!(error.to_string().contains("alipay_cert"), "{what}: {error}");
        }
        // The genuine test key passes, and so does a legacy RSA (SHA1) app's 1024-bit Alipay key
        // (old public-key-mode apps may hold one); its exponent is still checked.
        public_key_config("http://127.0.0.1:9/gateway.do").build().unwrap();
        let legacy = dir.path().join("legacy.pem");
        std::fs::write(&legacy, public_key(1024, 65_537).public_key_to_pem().unwrap()).unwrap();
        public_key_config("http://127.0.0.1:9/gateway.do")
            .sign_type(SignType::Rsa)
            .alipay_public_key_file(&legacy)
            .build()
            .unwrap();
        let legacy_e1 = dir.path().join("legacy-e1.pem");
        std::fs::write(&legacy_e1, public_key(1024, 1).public_key_to_pem().unwrap()).unwrap();
        let error = public_key_config("http://127.0.0.1:9/gateway.do")
            .sign_type(SignType::Rsa)
            .alipay_public_key_file(&legacy_e1)
            .build()
            .unwrap_err();
        assert!(weak(&error).is_some_and(|w| w.contains("exponent 1")), "{error}");
    }
}

/// OpenAPI v3 answers: the verified body is the exact signed bytes, a line break in a signed
/// header is refused before it enters the content, and an old signed answer replayed is refused.
mod v3_answers {
    use std::sync::Arc;
    use std::time::Duration;

    use alipay_sdk::flow::HttpResponse;
    use alipay_sdk::key::SignType;
    use alipay_sdk::v3::{V3ErrorKind, V3Request};

    use crate::common::wire::{FixedClock, alipay_cert_sn, alipay_key, cert_config};

    const NOW_MS: i64 = 1_700_000_000_000;

    fn config(window: Option<Duration>) -> alipay_sdk::Config {
        let clock = Arc::new(FixedClock(chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap()));
        let builder = cert_config("http://127.0.0.1:9/gateway.do").clock(clock);
        match window {
            Some(window) => builder.v3_answer_window(window),
            None => builder,
        }
        .build()
        .unwrap()
    }

    /// An answer signed by the test PKI's Alipay key over `timestamp\nnonce\nbody\n`, built
    /// here from the protocol text with OpenSSL directly.
    fn answer(timestamp: &str, nonce: &str, body: &[u8]) -> HttpResponse {
        use base64::Engine as _;
        let mut content = format!("{timestamp}\n{nonce}\n").into_bytes();
        content.extend_from_slice(body);
        content.push(b'\n');
        let key = alipay_key();
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key.openssl_key()).unwrap();
        let signature = base64::engine::general_purpose::STANDARD.encode(signer.sign_oneshot_to_vec(&content).unwrap());
        assert!(key.sign(&content, SignType::Rsa2).unwrap() == signature, "PKCS#1 v1.5 is deterministic");
        HttpResponse::new(200, body.to_vec())
            .header("alipay-timestamp", timestamp)
            .header("alipay-nonce", nonce)
            .header("alipay-signature", &signature)
            .header("alipay-sn", &alipay_cert_sn())
    }

    #[test]
    fn the_verified_body_is_the_exact_signed_bytes() {
        let config = config(None);
        let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query")).unwrap();
        // GBK bytes inside a JSON string: not UTF-8, signed as they are.
        let body = b"{\"subject\":\"\xd6\xd0\xce\xc4\"}".to_vec();
        let verified = config.verify_v3(&signed, &answer(&NOW_MS.to_string(), "n-1", &body)).unwrap();
        assert_eq!(verified.bytes(), &body[..], "no lossy conversion");
        let error = verified.text().unwrap_err();
        assert!(error.to_string().contains("not UTF-8 at byte 12"), "{error}");
        let utf8 = "{\"subject\":\"中文\"}".as_bytes();
        let verified = config.verify_v3(&signed, &answer(&NOW_MS.to_string(), "n-2", utf8)).unwrap();
        assert_eq!(verified.text().unwrap(), "{\"subject\":\"中文\"}");
    }

    #[test]
    fn a_line_break_in_a_signed_header_is_refused() {
        let config = config(None);
        let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query")).unwrap();
        let now = NOW_MS.to_string();
        // The signature holds, but the boundaries of the content moved.
        for (timestamp, nonce) in [(now.as_str(), "n\n1"), (now.as_str(), "n\r1"), ("1700000000000\nx", "n")] {
            let error = config.verify_v3(&signed, &answer(timestamp, nonce, b"{}")).unwrap_err();
            assert!(matches!(error.kind(), V3ErrorKind::BadHeader { .. }), "{timestamp:?} {nonce:?}: {error}");
            assert!(error.to_string().contains("line break"), "{error}");
        }
    }

    #[test]
    fn an_old_signed_answer_replayed_is_refused() {
        let config = config(None);
        let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query")).unwrap();
        let minutes = |m: i64| (NOW_MS + m * 60_000).to_string();
        for inside in [minutes(-14), minutes(14), minutes(0)] {
            config.verify_v3(&signed, &answer(&inside, "n", b"{}")).unwrap();
        }
        for outside in [minutes(-16), minutes(16), minutes(-60 * 24 * 365)] {
            let error = config.verify_v3(&signed, &answer(&outside, "n", b"{}")).unwrap_err();
            assert!(matches!(error.kind(), V3ErrorKind::Stale { .. }), "{outside}: {error}");
        }
        // Seconds are read as seconds; garbage is refused.
        config.verify_v3(&signed, &answer(&(NOW_MS / 1000).to_string(), "n", b"{}")).unwrap();
        let error = config.verify_v3(&signed, &answer("yesterday", "n", b"{}")).unwrap_err();
        assert!(matches!(error.kind(), V3ErrorKind::BadHeader { header: "alipay-timestamp", .. }), "{error}");
        // The window is configurable.
        let wide = self::config(Some(Duration::from_secs(3600)));
        let signed = wide.sign_v3(&V3Request::for_api("alipay.trade.query")).unwrap();
        wide.verify_v3(&signed, &answer(&minutes(-59), "n", b"{}")).unwrap();
    }
}

/// Once-only notifications stay once-only off the happy path: a handler slower than its claim,
/// Redis frozen across a claim, Redis killed and restarted between deliveries, an instance
/// killed mid-handler, and all of it at once over four instances. Every notification is
/// processed exactly once and never acknowledged before it was processed.
#[cfg(feature = "redis")]
mod once_only {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use alipay_sdk::charset::Charset;
    use alipay_sdk::key::{PublicKey, SignType};
    use alipay_sdk::notify::{NotificationVerifier, Rule, VerifiedNotification};
    use alipay_sdk::redis_fleet::{Handled, NotifyOnce, RedisFleet, WhenUnreachable};

    use crate::common::redis_server::RedisServer;

    fn notification(name: &str) -> VerifiedNotification {
        let key = crate::common::wire::alipay_key();
        let verifier =
            NotificationVerifier::public_key(PublicKey::from_bytes(key.public_key().to_pem().as_bytes()).unwrap());
        let mut params: Vec<(String, String)> = vec![
            ("app_id".into(), "2021000000000001".into()),
            ("notify_id".into(), name.into()),
            ("out_trade_no".into(), format!("order-{name}")),
            ("trade_status".into(), "TRADE_SUCCESS".into()),
            ("total_amount".into(), "1.00".into()),
        ];
        let sign =
            alipay_sdk::primitives::notification::sign_params(&params, Rule::V1, &key, SignType::Rsa2, Charset::Utf8)
                .unwrap();
        params.push(("sign".into(), sign));
        verifier.verify(params, Rule::V1).unwrap()
    }

    /// Completed processings and acknowledgements per notification.
    #[derive(Default, Debug, Clone)]
    struct Entry {
        processed: usize,
        acked: usize,
        acked_before_processed: bool,
    }

    type Ledger = Arc<Mutex<HashMap<String, Entry>>>;

    fn guard(redis: &RedisServer, claim: Duration) -> Arc<NotifyOnce> {
        let fleet = RedisFleet::connect_with(&redis.url(), "alipay:", Duration::from_millis(200)).unwrap();
        Arc::new(NotifyOnce::new(fleet).processing_timeout(claim))
    }

    /// One delivery as Alipay makes it: the handler takes `work`, then records the processing.
    async fn deliver(
        guard: &NotifyOnce,
        notification: &VerifiedNotification,
        ledger: &Ledger,
        work: Duration,
    ) -> Handled {
        let id = notification.get("notify_id").unwrap().to_string();
        let handled = guard
            .handle(notification, || async {
                tokio::time::sleep(work).await;
                ledger.lock().unwrap().entry(id.clone()).or_default().processed += 1;
                Ok::<(), std::io::Error>(())
            })
            .await
            .unwrap();
        if handled.ack() == "success" {
            let mut ledger = ledger.lock().unwrap();
            let entry = ledger.entry(id).or_default();
            entry.acked += 1;
            entry.acked_before_processed |= entry.processed == 0;
        }
        handled
    }

    /// Redelivers to the instances in turn until one answers `success`.
    async fn until_acked(guards: &[Arc<NotifyOnce>], notification: &VerifiedNotification, ledger: &Ledger) -> usize {
        for attempt in 0..400 {
            let guard = &guards[attempt % guards.len()];
            if deliver(guard, notification, ledger, Duration::from_millis(5)).await.ack() == "success" {
                return attempt + 1;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} never acknowledged", notification.get("notify_id").unwrap());
    }

    fn assert_once(ledger: &Ledger, ids: &[&str]) {
        let ledger = ledger.lock().unwrap();
        for id in ids {
            let entry = ledger.get(*id).unwrap_or_else(|| panic!("{id} was never processed"));
            assert_eq!(entry.processed, 1, "{id}: {entry:?}");
            assert!(entry.acked >= 1 && !entry.acked_before_processed, "{id}: {entry:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handler_slower_than_its_claim_keeps_it() {
        let redis = RedisServer::start();
        let guards: Vec<_> = (0..3).map(|_| guard(&redis, Duration::from_millis(300))).collect();
        let ledger = Ledger::default();
        let slow = notification("slow-1");
        // The handler takes five claim lifetimes; the claim is renewed meanwhile.
        let running = Arc::new(tokio::sync::Notify::new());
        let first = {
            let (guard, slow, ledger, running) = (guards[0].clone(), slow.clone(), ledger.clone(), running.clone());
            tokio::spawn(async move {
                guard
                    .handle(&slow, || async {
                        running.notify_one();
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                        ledger.lock().unwrap().entry("slow-1".into()).or_default().processed += 1;
                        Ok::<(), std::io::Error>(())
                    })
                    .await
                    .unwrap()
            })
        };
        running.notified().await;
        let started = Instant::now();
        let mut elsewhere = 0;
        while started.elapsed() < Duration::from_millis(1200) {
            let handled = deliver(&guards[1 + elsewhere % 2], &slow, &ledger, Duration::ZERO).await;
            assert_eq!(handled, Handled::ProcessingElsewhere, "after {:?}", started.elapsed());
            elsewhere += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(first.await.unwrap(), Handled::Processed);
        assert_eq!(deliver(&guards[2], &slow, &ledger, Duration::ZERO).await, Handled::AlreadyProcessed);
        assert_once(&ledger, &["slow-1"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_frozen_across_a_claim_defers_then_processes_once() {
        let redis = RedisServer::start();
        let guards: Vec<_> = (0..4).map(|_| guard(&redis, Duration::from_secs(3))).collect();
        let ledger = Ledger::default();
        let frozen = notification("frozen-1");
        // Warm the connections, then freeze Redis and deliver: the claim does not come back in
        // time, but it is queued on the socket and lands when Redis thaws.
        assert_eq!(deliver(&guards[0], &notification("warm"), &ledger, Duration::ZERO).await, Handled::Processed);
        redis.pause();
        let handled = deliver(&guards[0], &frozen, &ledger, Duration::ZERO).await;
        assert_eq!(handled, Handled::Deferred, "not processed while Redis cannot say");
        assert_eq!(guards[0].pending_reconciliations(), 1, "the given-up claim is to be released");
        tokio::time::sleep(Duration::from_millis(500)).await;
        redis.resume();
        // The late claim is released long before it would expire (3 s): redeliveries to the
        // other instances are processed once, soon.
        let started = Instant::now();
        until_acked(&guards[1..], &frozen, &ledger).await;
        assert!(started.elapsed() < Duration::from_millis(2500), "blocked for {:?}", started.elapsed());
        for guard in &guards {
            assert_eq!(deliver(guard, &frozen, &ledger, Duration::ZERO).await, Handled::AlreadyProcessed);
        }
        assert_once(&ledger, &["warm", "frozen-1"]);
        assert_eq!(guards[0].pending_reconciliations(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processed_locally_during_a_freeze_is_marked_done_when_redis_thaws() {
        let redis = RedisServer::start();
        let fleet = RedisFleet::connect_with(&redis.url(), "alipay:", Duration::from_millis(200)).unwrap();
        let local = Arc::new(NotifyOnce::new(fleet).when_unreachable(WhenUnreachable::ProcessLocally));
        let other = guard(&redis, Duration::from_secs(3));
        let ledger = Ledger::default();
        let n = notification("local-1");
        deliver(&local, &notification("warm"), &ledger, Duration::ZERO).await;
        redis.pause();
        assert_eq!(deliver(&local, &n, &ledger, Duration::ZERO).await, Handled::Processed);
        redis.resume();
        // Once reconciled, the other instance knows it was processed.
        let deadline = Instant::now() + Duration::from_secs(3);
        while local.pending_reconciliations() > 0 {
            assert!(Instant::now() < deadline, "never reconciled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(deliver(&other, &n, &ledger, Duration::ZERO).await, Handled::AlreadyProcessed);
        assert_once(&ledger, &["local-1"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_killed_and_restarted_between_two_deliveries() {
        let mut redis = RedisServer::start_persistent();
        let guards: Vec<_> = (0..2).map(|_| guard(&redis, Duration::from_secs(3))).collect();
        let ledger = Ledger::default();
        let n = notification("restart-1");
        assert_eq!(deliver(&guards[0], &n, &ledger, Duration::ZERO).await, Handled::Processed);
        redis.stop();
        // While it is down, deliveries are deferred, not processed.
        assert_eq!(deliver(&guards[1], &n, &ledger, Duration::ZERO).await, Handled::Deferred);
        redis.restart();
        until_acked(&guards[1..], &n, &ledger).await;
        assert_once(&ledger, &["restart-1"]);
    }

    /// The entry point of the worker process `an_instance_killed_mid_handler` starts (this test
    /// binary run again with `ONCE_WORKER` set): it claims a notification and hangs in its
    /// handler until killed.
    #[test]
    #[ignore = "a worker process of once_only::an_instance_killed_mid_handler, started by it"]
    fn once_worker() {
        let Ok(spec) = std::env::var("ONCE_WORKER") else { return };
        let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let fleet = RedisFleet::connect(spec["redis"].as_str().unwrap()).unwrap();
            let guard = NotifyOnce::new(fleet).processing_timeout(Duration::from_millis(600));
            let started = std::path::PathBuf::from(spec["started"].as_str().unwrap());
            let _ = guard
                .handle(&notification("killed-1"), || async {
                    std::fs::write(&started, b"").unwrap();
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<(), std::io::Error>(())
                })
                .await;
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_instance_killed_mid_handler() {
        let redis = RedisServer::start();
        let signals = tempfile::tempdir().unwrap();
        let started = signals.path().join("started");
        let spec = serde_json::json!({ "redis": redis.url(), "started": started });
        /// The worker, killed when the test ends however it ends (its handler hangs for an hour).
        struct Worker(std::process::Child);
        impl Drop for Worker {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let mut worker = Worker(
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["once_only::once_worker", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
                .env("ONCE_WORKER", spec.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !started.exists() {
            assert!(Instant::now() < deadline, "the worker never started its handler");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let guards: Vec<_> = (0..2).map(|_| guard(&redis, Duration::from_millis(600))).collect();
        let ledger = Ledger::default();
        let n = notification("killed-1");
        // Alive, it holds the claim (renewed past its 600 ms lifetime).
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(deliver(&guards[0], &n, &ledger, Duration::ZERO).await, Handled::ProcessingElsewhere);
        worker.0.kill().unwrap();
        worker.0.wait().unwrap();
        // Dead, its claim expires and a redelivery is processed elsewhere, once.
        let started = Instant::now();
        until_acked(&guards, &n, &ledger).await;
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_once(&ledger, &["killed-1"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn four_instances_many_redeliveries_with_slow_handlers_and_a_freeze() {
        let redis = Arc::new(RedisServer::start());
        let guards: Vec<_> = (0..4).map(|_| guard(&redis, Duration::from_millis(1500))).collect();
        let guards = Arc::new(guards);
        let ledger = Ledger::default();
        let names: Vec<String> = (0..40).map(|i| format!("soak-{i:02}")).collect();
        let freezer = {
            let redis = redis.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(400)).await;
                redis.pause();
                tokio::time::sleep(Duration::from_millis(700)).await;
                redis.resume();
            })
        };
        let mut tasks = Vec::new();
        for (index, name) in names.iter().enumerate() {
            // Three concurrent delivery streams per notification, as Alipay's retries and a
            // load balancer make them; every 5th handler outlives its claim.
            for stream in 0..3 {
                let (guards, ledger, n) = (guards.clone(), ledger.clone(), notification(name));
                tasks.push(tokio::spawn(async move {
                    let work = if index % 5 == 0 { Duration::from_millis(2500) } else { Duration::from_millis(20) };
                    for attempt in 0..400 {
                        let guard = &guards[(index + stream + attempt) % 4];
                        tokio::time::sleep(Duration::from_millis(((index * 37 + stream * 11) % 50) as u64)).await;
                        if deliver(guard, &n, &ledger, work).await.ack() == "success" {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(30)).await;
                    }
                    panic!("never acknowledged");
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        freezer.await.unwrap();
        let ids: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_once(&ledger, &ids);
    }
}

/// No attacker-sized string reaches an error or a log whole: each is cut, with its length
/// given. 5 MB in every field a peer controls makes an error of a few kilobytes.
mod bounded_errors {
    use alipay_sdk::charset::Charset;
    use alipay_sdk::flow::HttpResponse;
    use alipay_sdk::key::PublicKey;
    use alipay_sdk::notify::{NotificationVerifier, Rule};
    use alipay_sdk::response::ResponseVerifier;
    use alipay_sdk::v3::V3Request;

    use crate::common::pki;
    use crate::common::wire::cert_config;

    const HUGE: usize = 5_000_000;
    const BOUND: usize = 16 * 1024;

    fn huge(letter: char) -> String {
        std::iter::repeat_n(letter, HUGE).collect()
    }

    fn assert_bounded(what: &str, error: &(dyn std::error::Error + 'static), debug: String) {
        let mut shown = error.to_string();
        let mut cause = error.source();
        while let Some(next) = cause {
            shown.push_str(&format!(": {next}"));
            cause = next.source();
        }
        assert!(shown.len() < BOUND, "{what}: Display is {} bytes", shown.len());
        assert!(debug.len() < BOUND, "{what}: Debug is {} bytes", debug.len());
        assert!(shown.contains(&format!("{HUGE} bytes")), "{what}: the length is given: {shown:.300}");
    }

    #[test]
    fn a_notifications_sign_type_and_charset() {
        let verifier = NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap());
        let body = format!("app_id=1&notify_id=2&sign_type={}&sign=AAAA", huge('R'));
        let error = verifier.verify((body.as_bytes(), None), Rule::V1).unwrap_err();
        assert_bounded("sign_type", &error, format!("{error:?}"));
        let body = format!("app_id=1&charset={}&sign=AAAA", huge('x'));
        let error = verifier.verify((body.as_bytes(), None), Rule::V1).unwrap_err();
        assert_bounded("charset", &error, format!("{error:?}"));
        let content_type = format!("application/x-www-form-urlencoded; charset={}", huge('y'));
        let error = verifier.verify((b"app_id=1&sign=AAAA", Some(content_type.as_str())), Rule::V1).unwrap_err();
        assert_bounded("Content-Type charset", &error, format!("{error:?}"));
        assert!(Charset::Utf8.to_string().len() < 10);
    }

    #[test]
    fn an_unsigned_failures_codes_and_messages() {
        let verifier = ResponseVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap());
        let node = format!(
            r#"{{"code":"{}","msg":"{}","sub_code":"{}","sub_msg":"{}"}}"#,
            huge('4'),
            huge('m'),
            huge('c'),
            huge('s')
        );
        let body = format!(r#"{{"error_response":{node}}}"#);
        let error = verifier.verify("alipay.trade.query", body.as_bytes()).unwrap_err();
        assert_bounded("error_response", &error, format!("{error:?}"));
        let as_sdk_error = alipay_sdk::Error::from(error);
        assert!(format!("{as_sdk_error:?}").len() < BOUND);
    }

    #[test]
    fn a_v3_error_answers_message() {
        let config = cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
        let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query")).unwrap();
        let detail = serde_json::json!({"field": huge('f'), "issue": huge('i'), "description": huge('d')});
        let answer = serde_json::json!({"code": huge('c'), "message": huge('m'), "details": vec![detail; 3]});
        let error = config.verify_v3(&signed, &HttpResponse::new(400, answer.to_string().into_bytes())).unwrap_err();
        assert_bounded("v3 failure", &error, format!("{error:?}"));
    }

    #[cfg(feature = "bill")]
    #[test]
    fn a_bill_value() {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("2088000000000001_20240101_业务明细.csv", options).unwrap();
        let header = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,订单金额（元）,商家实收（元）\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(header);
        zip.write_all(&gbk).unwrap();
        let row = format!("t1,o1,交易,Tea,2024-01-01 10:00:00,2024-01-01 10:00:01,{},1.00\n", huge('9'));
        let (gbk, _, _) = encoding_rs::GBK.encode(&row);
        zip.write_all(&gbk).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        // (The default line limit, 1 MiB, would refuse the line before its value is read.)
        let limits = alipay_sdk::bill::BillLimits { max_line_bytes: 16 << 20, ..Default::default() };
        let error = alipay_sdk::bill::parse(&bytes, alipay_sdk::model::settle::BillType::Trade, limits).unwrap_err();
        assert_bounded("bill value", &error, format!("{error:?}"));
    }
}

/// Bills are bounded in memory, not only in bytes: a small archive that unpacks into millions
/// of tiny rows is refused by the in-memory parser at its row and memory limits, and read in
/// constant memory by the streaming reader; downloads have a total deadline and follow
/// redirects only to allowed hosts.
#[cfg(feature = "bill")]
mod bill_memory {
    use std::io::Write as _;
    use std::time::Duration;

    use alipay_sdk::bill::{self, BillErrorKind, BillHosts, BillLimits};
    use alipay_sdk::model::settle::BillType;

    const ROWS: usize = 2_000_000;
    const CHILD: &str = "ALIPAY_SDK_BILL_CHILD";

    /// A deflated archive of a trade detail file with `ROWS` tiny rows (a few kilobytes).
    fn blow_up_archive() -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("x_业务明细.csv", options).unwrap();
        let (header, _, _) = encoding_rs::GBK.encode("支付宝交易号,订单金额（元）\n");
        zip.write_all(&header).unwrap();
        let block = "t,1\n".repeat(10_000);
        for _ in 0..ROWS / 10_000 {
            zip.write_all(block.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn the_in_memory_parser_stops_at_its_row_and_memory_limits() {
        let archive = blow_up_archive();
        assert!(archive.len() < 64 * 1024, "{} bytes", archive.len());
        let error = bill::parse(&archive, BillType::Trade, BillLimits::default()).unwrap_err();
        assert!(matches!(error.kind(), BillErrorKind::TooLarge { limit_name: "max_rows", .. }), "{error}");
        let small = BillLimits { max_row_bytes: 16 << 20, ..BillLimits::default() };
        let error = bill::parse(&archive, BillType::Trade, small).unwrap_err();
        assert!(matches!(error.kind(), BillErrorKind::TooLarge { limit_name: "max_row_bytes", .. }), "{error}");
        // A long line is refused at its limit, not read whole.
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("x_业务明细.csv", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&vec![b'a'; 3 << 20]).unwrap();
        let long = zip.finish().unwrap().into_inner();
        let error = bill::parse(&long, BillType::Trade, BillLimits::default()).unwrap_err();
        assert!(error.to_string().contains("max_line_bytes"), "{error}");
    }

    /// Memory is measured, so the reading runs alone in a child process.
    #[test]
    fn the_streaming_reader_reads_millions_of_rows_in_constant_memory() {
        crate::run_in_child("bill_memory::stream_in_child", CHILD);
    }

    #[test]
    #[ignore = "helper: run by the_streaming_reader_reads_millions_of_rows_in_constant_memory in a child process"]
    fn stream_in_child() {
        assert!(std::env::var(CHILD).is_ok(), "run only as a child");
        let peak = || crate::status_kb("VmHWM");
        let archive = blow_up_archive();
        let before = peak();
        let mut cents = 0i64;
        let overview = bill::read(std::io::Cursor::new(&archive), BillType::Trade, BillLimits::default(), |row| {
            if let bill::BillRow::Trade(row) = row {
                cents += row.total_amount.cents();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(overview.rows, ROWS as u64);
        assert_eq!(cents, 100 * ROWS as i64);
        let grown_kb = peak().saturating_sub(before);
        // Held whole, these rows took gigabytes; streamed, a few buffers.
        assert!(grown_kb < 32 * 1024, "peak memory grew {grown_kb} kB for {ROWS} rows");
    }

    /// A server that trickles a byte now and then is cut off at the total deadline, not kept
    /// alive by the per-chunk stall timeout.
    #[tokio::test]
    async fn a_download_has_a_total_deadline() {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n").await;
            for _ in 0..100 {
                if socket.write_all(b"P").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let limits = BillLimits { max_download_time: Duration::from_millis(800), ..BillLimits::default() };
        let started = std::time::Instant::now();
        let hosts = BillHosts::none().allow("127.0.0.1");
        let url = format!("http://{addr}/bill.zip");
        let error = bill::download(&reqwest::Client::new(), &url, limits, &hosts, |_, _| {}).await.unwrap_err();
        assert!(matches!(error.kind(), BillErrorKind::Deadline { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        server.abort();
    }

    /// Redirects are followed only to allowed http(s) hosts; the first URL is checked too.
    #[tokio::test]
    async fn redirects_stay_on_allowed_hosts() {
        // Answers every request with a redirect chosen by its path.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let mut request = vec![0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]).to_string();
                let location = if request.contains("to-metadata") {
                    "http://169.254.169.254/latest/meta-data/"
                } else if request.contains("to-file") {
                    "file:///etc/passwd"
                } else {
                    "/bill.zip"
                };
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let base = format!("http://{addr}");
        let local = BillHosts::alipay().allow("127.0.0.1");
        for path in ["to-metadata", "to-file"] {
            let url = format!("{base}/{path}");
            let error = bill::download(&http, &url, BillLimits::default(), &local, |_, _| {}).await.unwrap_err();
            assert!(matches!(error.kind(), BillErrorKind::HostNotAllowed { .. }), "{path}: {error}");
        }
        // A bill URL on a host nobody allowed is not fetched at all.
        let error = bill::download(&http, &format!("{base}/x"), BillLimits::default(), &BillHosts::alipay(), |_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(error.kind(), BillErrorKind::HostNotAllowed { .. }), "{error}");
        assert!(error.to_string().contains("alipay.com"), "{error}");
        for (host, allowed) in [
            ("https://dwbillcenter.alipay.com/x", true),
            ("http://dwbillcenter.alipay.com/x", true),
            ("https://x.alipaydev.com/x", true),
            ("https://evilalipay.com/x", false),
            ("https://alipay.com.evil.example/x", false),
            ("ftp://dwbillcenter.alipay.com/x", false),
        ] {
            assert_eq!(BillHosts::alipay().allows(&url::Url::parse(host).unwrap()), allowed, "{host}");
        }
        server.abort();
    }
}

/// The sandbox's web side is safe on a developer's machine: state changes only by POST with
/// the process's token, no GET that makes it POST anywhere, a `Host` check against DNS
/// rebinding, no header splitting through `return_url`, private keys readable by their owner
/// only, and a server that slow clients cannot take over, with bounded memory.
mod sandbox_web {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use alipay_sandbox::Sandbox;
    use alipay_sdk::model::trade::TradePrecreate;

    use super::sandbox_http::{exchange, status};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn state_changes_need_post_and_the_process_token() {
        let sandbox = Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
        let addr = sandbox.addr();
        let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
        client.call(&TradePrecreate::new("web-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
        // A listener the sandbox must never be made to POST to by a GET or a forged POST.
        let victim = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        victim.set_nonblocking(true).unwrap();
        let victim_url = format!("http://{}/steal", victim.local_addr().unwrap());
        let encoded: String = url::form_urlencoded::byte_serialize(victim_url.as_bytes()).collect();
        let before = sandbox.info().alipay_cert_sn;
        let cases = [
            ("GET", "/sandbox/rotate".to_string(), "405"),
            ("POST", "/sandbox/rotate".to_string(), "403"),
            ("GET", format!("/sandbox/notify?out_trade_no=web-1&url={encoded}"), "405"),
            ("POST", format!("/sandbox/notify?out_trade_no=web-1&url={encoded}"), "403"),
            ("GET", format!("/sandbox/spi?url={encoded}"), "405"),
            ("POST", format!("/sandbox/spi?url={encoded}&token=wrong"), "403"),
            ("GET", "/sandbox/pay?out_trade_no=web-1".to_string(), "405"),
            ("POST", "/sandbox/dashboard/rotate".to_string(), "403"),
            ("GET", "/sandbox/dashboard/faults".to_string(), "403"),
        ];
        for (method, path, want) in cases {
            let raw = format!(
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let answer = tokio::task::spawn_blocking(move || exchange(addr, raw.as_bytes())).await.unwrap();
            assert_eq!(status(&answer), want, "{method} {path}: {answer}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(victim.accept().is_err(), "the sandbox posted to the victim");
        assert_eq!(sandbox.info().alipay_cert_sn, before, "nothing rotated");
        assert!(sandbox.deliveries().is_empty(), "nothing delivered");
        // With the token, the same POST works.
        let answer = reqwest::Client::new()
            .post(format!("http://{addr}/sandbox/rotate"))
            .header("x-sandbox-token", sandbox.control_token())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_ne!(sandbox.info().alipay_cert_sn, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_ip_literals_and_localhost_are_served() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let addr = sandbox.addr();
        let port = addr.port();
        for (host, want) in [
            (format!("attacker.example:{port}"), "421"),
            ("rebind.attacker.example".to_string(), "421"),
            (format!("127.0.0.1:{port}"), "200"),
            (format!("localhost:{port}"), "200"),
            (format!("[::1]:{port}"), "200"),
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            let answer = tokio::task::spawn_blocking(move || exchange(addr, raw.as_bytes())).await.unwrap();
            assert_eq!(status(&answer), want, "{host}");
            if want == "421" {
                assert!(!answer.contains(sandbox.control_token()), "no token to a foreign host");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_return_url_with_a_line_break_is_refused() {
        use alipay_sdk::model::EntryPointApi as _;
        use alipay_sdk::model::trade::TradePagePay;
        use alipay_sdk::page::PageMethod;
        let sandbox = Sandbox::builder().start().await.unwrap();
        let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
        let request = TradePagePay::new("crlf-1", "1.00".parse().unwrap(), "Tea")
            .to_request()
            .return_url("http://shop.example/return\r\nSet-Cookie: stolen=1");
        let url = client.page_execute(&request, PageMethod::Get).unwrap();
        let answer = reqwest::Client::new().get(&url).send().await.unwrap();
        assert!(answer.headers().get("set-cookie").is_none());
        let page = answer.text().await.unwrap();
        assert!(page.contains("isv.invalid-parameter") && page.contains("return_url"), "{page}");
        assert_eq!(sandbox.trade_status("crlf-1"), None, "no trade, no cashier session");
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn private_keys_are_written_for_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::builder().dir(dir.path()).start().await.unwrap();
        sandbox.rotate_alipay_cert().unwrap();
        let mode = |file: &str| std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        for file in [
            "app_private_key.pem",
            "aes_key.txt",
            "sandbox.json",
            "sandbox-private/class2.key",
            "sandbox-private/alipay_1.key",
            "sandbox-private/alipay_2.key",
        ] {
            assert_eq!(mode(file), 0o600, "{file}");
        }
        assert_eq!(mode("alipayRootCert.crt") & 0o044, 0o044, "certificates stay readable");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_hundred_slow_clients_do_not_keep_new_ones_out() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let addr = sandbox.addr();
        // Slowloris: 300 connections that start a request and send a byte now and then.
        let slow: Vec<TcpStream> = (0..300)
            .map(|_| {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.write_all(b"POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
                stream
            })
            .collect();
        /// Stops the dripping thread when the test ends, failing or not.
        struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let dripping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let stop = StopOnDrop(dripping.clone());
        let drip = {
            let dripping = dripping.clone();
            std::thread::spawn(move || {
                let mut slow = slow;
                while dripping.load(std::sync::atomic::Ordering::Relaxed) {
                    for stream in &mut slow {
                        let _ = stream.write_all(b"a");
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        // New clients are still served, at once.
        for _ in 0..5 {
            let started = Instant::now();
            let answer = tokio::task::spawn_blocking(move || {
                exchange(addr, b"GET /sandbox/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            })
            .await
            .unwrap();
            assert_eq!(status(&answer), "200", "{answer}");
            assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        }
        drop(stop);
        drip.join().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_in_memory_history_is_bounded() {
        let sandbox = Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
        let addr = sandbox.addr();
        let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
        client.call(&TradePrecreate::new("hist-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
        // 1,200 redeliveries requested: the latest 1,000 are remembered.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let http = reqwest::Client::new();
        for _ in 0..1200 {
            let answer = http
                .post(format!("http://{addr}/sandbox/notify?out_trade_no=hist-1&url=http://{closed}/n"))
                .header("x-sandbox-token", sandbox.control_token())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 202);
        }
        assert_eq!(sandbox.deliveries().len(), 1000);
        // 1,500 distinct method names: counted, but in bounded memory.
        for i in 0..1500 {
            let _ =
                http.post(format!("http://{addr}/gateway.do?charset=utf-8&method=made.up.{i}")).send().await.unwrap();
        }
        assert_eq!(sandbox.request_count("made.up.1"), 1);
        assert_eq!(sandbox.request_count("made.up.1499"), 0, "beyond the bound");
        assert!(sandbox.request_count("<other>") >= 500);
    }
}
