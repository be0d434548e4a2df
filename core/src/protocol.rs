//! The protocol facts this crate follows, and why — documentation only, no code.
//!
//! Alipay's servers are Java, so where the official SDKs disagree the crate does what Alipay's
//! Java SDK does. Each section names the module that implements it.
//!
//! # Certificate serial numbers
//!
//! `app_cert_sn` and `alipay_cert_sn` are `md5(issuer + serial)` in 32 lowercase hex digits
//! (zero-padded: real certificates hash to values starting with `00`). `issuer` is the issuer
//! name exactly as the JDK's `X500Principal.getName()` renders it: relative names in reverse
//! order joined by `,`, multi-valued ones joined by `+` in their encoded order, keywords only
//! for `CN C L ST O OU STREET DC UID` and `OID=#hex-of-the-encoded-value` for every other
//! attribute, `, + " \ < > ; =` and every `#` escaped, and a BMPString's raw bytes decoded as
//! UTF-8 (the JDK's quirk, which the gateway hashes). `serial` is the serial in signed base 10:
//! serials of 160 bits are common, so no machine integer will do. A serial that is not minimally
//! encoded, or longer than 40 octets, is refused (the JDK refuses the first; the second bounds
//! the quadratic base-10 conversion on hostile input). A file holding a chain is identified by
//! its first certificate. See [`crate::cert`].
//!
//! # The root SN
//!
//! `alipay_root_cert_sn` joins with `_`, in file order, the SNs of the bundle's roots signed in
//! the app's key-algorithm family ([`crate::key::KeyAlgorithm::root_signature_oid_prefix`]: for
//! RSA, OIDs under `1.2.840.113549.1.1.`; for SM2, SM3withSM2 `1.2.156.10197.1.501`). The
//! production bundle holds an SM2 root (it alone is an SM2 app's root SN,
//! `9e64d67d36446de33aae13a33a89e5a7`) and an ECDSA root with a non-standard NULL parameter that
//! counts for nobody: counting another family's root makes the gateway answer
//! `invalid-alipay-root-cert-sn`, and strict parsers reject them, so each block is read on its
//! own and skipped, never fatal. A bundle without a root of the family is an error when the
//! configuration is built, never an empty SN on the wire. A CA certificate that is not
//! self-signed (an intermediate, or a root cross-signed for a migration) counts like any other,
//! as in Alipay's Java, Node and Python SDKs (`alipay doctor` warns about it); a file without a
//! self-signed root, or with an end-entity certificate (the Alipay certificate file given as
//! the bundle), is refused, saying what it looks like.
//!
//! # Signing a request
//!
//! The system parameters (`app_id method format charset sign_type timestamp version`, plus
//! `app_cert_sn` and `alipay_root_cert_sn` in certificate mode, and `notify_url` and friends)
//! and the application parameters (`biz_content`, …) are signed together: `sign` and empty
//! values dropped, sorted by key in byte order, `key=value` joined with `&` without URL-encoding,
//! encoded in the request charset (UTF-8, or GBK for older merchants), then SHA256withRSA
//! (`RSA2`) in base64. `timestamp` is `yyyy-MM-dd HH:mm:ss` in UTC+8 whatever the host's zone.
//! The system parameters travel in the query string, the application parameters as a form body
//! (or as multipart text parts beside unsigned file parts). See [`crate::request`] and
//! [`crate::config::Config::sign_request`].
//!
//! # Verifying a response
//!
//! An answer is `{"<method>_response":{…},"alipay_cert_sn":"…","sign":"…"}`. The signature covers
//! the exact bytes of the node's value as received, so the node is located by a scan that
//! understands strings and escapes, never by re-serializing; a body where the node, `sign` or
//! `alipay_cert_sn` appears twice is refused as forged, and the business object is
//! deserialized from the verified bytes. A successful answer without `sign`, or (certificate
//! mode) without `alipay_cert_sn`, is refused; an unsigned failure is returned only as
//! unverified. The signature type comes from configuration, never from the message. Like Java,
//! a failed check is retried once with `\/` replaced by `/`. An encrypted node is a JSON string
//! whose quotes are signed; it is decrypted after verifying. See [`crate::response`].
//!
//! # Following Alipay's certificate rotation
//!
//! An answer or notification naming an `alipay_cert_sn` the client does not have triggers
//! `alipay.open.app.alipaycert.download`. The certificate it carries is accepted only if it
//! chains by signature to the configured root bundle, every link is inside its validity period,
//! its recomputed SN is the one asked for, its key is RSA of at least 2048 bits with an odd
//! exponent of at least 65537 (key usage is not checked by default, like Java: Alipay's sandbox
//! intermediate lacks `keyCertSign`), and it is this app's Alipay certificate: not an app
//! certificate or a CA, and with the subject CN of the configured Alipay certificate
//! (`支付宝(中国)网络技术有限公司-<partner id>`; a rotated one keeps it). Any merchant's app
//! certificate (Class 1 CA) and any merchant's Alipay certificate (Class 2 CA) chain to the same
//! roots, and their owners hold their keys. Certificates from storage or a fleet pass the same
//! checks. Downloads are single-flight per SN, rate-limited across SNs (a forged notification can
//! name any SN); a refused certificate is not fetched again for 10 minutes, a transport failure
//! after a short backoff. See [`crate::flow`] and [`crate::lifecycle`].
//!
//! # Notifications
//!
//! A form-encoded POST, decoded exactly once in the form's `charset` (else the `Content-Type`
//! charset, else UTF-8), and verified over its parameters: `sign` left out, and for payment
//! notifications (`Rule::V1`) `sign_type` too; empty values kept; sorted; `k=v&…` in that charset.
//! When that fails, the content without empty values (what Alipay's current Java SDKs sign).
//! Because the content is not escaped, a value holding `&name=` cannot be told from two
//! parameters: a relay can merge or split parameters without breaking the signature. Genuine
//! notifications hold such values (`passback_params=a=1&b=2`), so they are verified as Java
//! verifies them, and the typed notification is strict instead (blank values absent, amounts
//! and times parsed strictly), so a merged parameter cannot pass as a typed field. `app_id`,
//! `seller_id` and the amount are then checked against the merchant's own records; Alipay
//! redelivers until it receives `success`. See [`crate::notify`].
//!
//! # Content encryption
//!
//! `encrypt_type=AES`: AES-128-CBC, a zero IV, PKCS#7 padding, base64; the request's
//! `biz_content` is encrypted before signing. Alipay's Java SDK adds `AES_V2` (AES-CBC with a
//! random 16-byte IV in front) and `SM4` (SM4-GCM, a random 16-byte IV in front, the 128-bit
//! tag behind). The scheme is configured with the key. See [`crate::aes`].
//!
//! # SM2 (国密)
//!
//! `sign_type=SM2`: SM3withSM2 over the same sign contents as RSA2, the signature the base64 of
//! the DER `SEQUENCE{r, s}`, with the user id `1234567812345678` in `Z` — OpenSSL's default is an
//! empty id, which Alipay does not accept, so the crate computes `Z` itself. SM2 signatures are
//! randomised. SM2 certificate chains are signed with the same id. See [`crate::sm2`].
//!
//! # Browser and app entry points
//!
//! Page pay posts an auto-submitting form (every value HTML-escaped) or opens a URL with all
//! signed parameters; app and mini-program payment take an order string of all parameters,
//! values URL-encoded. See [`crate::page`].
//!
//! # Answering Alipay
//!
//! An ISV server answers `{"response":{…},"sign":"…","app_cert_sn":"…"}` with `sign` over the
//! exact text of the `response` value; in XML, over the text between `<response>` and
//! `</response>`. `app_cert_sn` is not signed and is required in certificate mode. See
//! [`crate::server`].
//!
//! # OpenAPI v3
//!
//! The header-signed protocol ([`crate::v3`]). A request signs
//! `authString\nMETHOD\nURI\nBODY\n` (then `app_auth_token\n` when one is sent) with
//! SHA256withRSA, where `authString = app_id=…[,app_cert_sn=…],nonce=…,timestamp=<ms>`; URI is
//! the path and query exactly as sent, BODY the JSON text (or its AES ciphertext, or the `data`
//! part of a multipart upload), empty when there is none — the line is still there. It is sent
//! as `Authorization: ALIPAY-SHA256withRSA <authString>,sign=<base64>`, with
//! `alipay-root-cert-sn` in certificate mode. An answer signs `timestamp\nnonce\nBODY\n` over
//! the raw body, in `alipay-timestamp` / `alipay-nonce` / `alipay-signature`, with `alipay-sn`
//! naming the Alipay certificate (an unknown one is fetched as for the gateway). Peers skip
//! whitespace in the signature's base64, and so does this crate. A 2xx answer without a
//! signature is refused: Alipay's Java v3 SDK returns an empty unsigned 2xx as a success, which
//! anyone on the path could forge.
//!
//! # What the protocol cannot prevent
//!
//! The response node's name is not signed, so someone inside the TLS channel could replay a
//! signed answer under another method's name: the crate trusts only TLS validated by the
//! operating system's store and looks the node up by the method it called. Notifications carry
//! no nonce: process each `notify_id` once.
