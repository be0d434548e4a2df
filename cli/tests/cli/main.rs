//! The `alipay` command: certificates, signing and verifying, notifications, the sandbox and
//! demo, alipay.toml, doctor, call, key gen and CSR.
//!
//! One test binary per package area keeps a clean build on 2 cores fast; one module per
//! capability.

mod command;
#[path = "../../../tests/common/mod.rs"]
mod common;

mod cli_bill;
mod cli_cert;
mod cli_gateway;
mod cli_notify;
mod cli_sandbox;
mod cli_sm2;
mod cli_v3;
mod operator;
