//! Randomness from OpenSSL's generator, with one policy for a failing source:
//!
//! - where unpredictability is the point — v3 nonces and request ids, AES_V2 / SM4 IVs,
//!   multipart boundaries, lock and claim tokens — a failing source fails the operation with
//!   [`RandomError`]: nothing that merely looks random is ever sent in its place;
//! - where randomness only spreads load — the jitter of retries and download backoffs —
//!   [`jitter`] uses the longest wait instead: still bounded, just not spread.
//!
//! A failing generator means a broken host (no entropy source); the error says so.

use std::time::Duration;

/// The operating system's random source failed (through OpenSSL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the random source failed ({detail}): {purpose} needs unpredictable bytes; check the host's entropy source")]
pub struct RandomError {
    /// What the bytes were for.
    pub purpose: &'static str,
    /// OpenSSL's error, without key material (there is none).
    pub detail: String,
}

/// `N` random bytes for `purpose` (named in the error).
pub fn bytes<const N: usize>(purpose: &'static str) -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    openssl::rand::rand_bytes(&mut out).map_err(|e| RandomError { purpose, detail: e.to_string() })?;
    Ok(out)
}

/// `N` random bytes in lowercase hex.
pub fn hex<const N: usize>(purpose: &'static str) -> Result<String, RandomError> {
    Ok(crate::der::hex_lower(&bytes::<N>(purpose)?))
}

/// A random (version 4) UUID in its hyphenated form (the uuid crate's layout of our bytes).
pub fn uuid_v4(purpose: &'static str) -> Result<String, RandomError> {
    Ok(uuid::Builder::from_random_bytes(bytes::<16>(purpose)?).into_uuid().hyphenated().to_string())
}

/// A wait drawn at random from the upper half of `ceiling` (between half of it and all of
/// it), so that many instances do not retry in step; the whole `ceiling` when the source
/// fails.
pub fn jitter(ceiling: Duration) -> Duration {
    let fraction = match bytes::<8>("jitter") {
        // 53 bits: every value exactly representable in an f64 in [0, 1).
        Ok(random) => (u64::from_le_bytes(random) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    };
    ceiling.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (uuid_v4("test").unwrap(), uuid_v4("test").unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let ceiling = Duration::from_millis(1000);
        for _ in 0..200 {
            let wait = jitter(ceiling);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?}");
        }
    }
}
