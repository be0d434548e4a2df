//! Certificates and their lifecycle: parsing, DNs and SNs exactly as Alipay's Java servers
//! compute them, root bundles ([`cert`]); the Alipay certificate store with its single-flight
//! downloads, validation, storage, fleet seam, app key pair reload and expiry ([`lifecycle`]).

pub mod cert;
pub mod lifecycle;
