//! The protocol core, IO-free: certificates and SNs, keys, request signing, response and
//! notification verification, entry points, configuration errors, the UTC+8 timestamp.
//!
//! One test binary per package area keeps a clean build on 2 cores fast; one module per
//! capability.

#[path = "../common/mod.rs"]
mod common;

mod api_facts;
#[cfg(feature = "api-all")]
mod api_models;
#[cfg(feature = "bill")]
mod bills;
mod certificates;
mod config_errors;
mod entry_points;
mod java_parity;
mod keys;
mod notifications;
mod response_verify;
mod sm2;
mod timestamp_tz;
