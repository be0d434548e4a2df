//! Certificate lifecycle: the core's ([`alipay_core::lifecycle`]: the Alipay certificate store
//! and its single-flight, storage, app key pair reload, expiry) and, with the `redis` feature,
//! the fleet's driver ([`fleet`]: the waiting and the shared-state IO on the backend's runtime).

pub use alipay_core::lifecycle::*;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod fleet;
