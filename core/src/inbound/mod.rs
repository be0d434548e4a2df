//! What Alipay sends us: form bodies decoded exactly once ([`notify::Form`](crate::notify::Form)), notifications, returns
//! and Alipay's calls verified ([`notify`]), and the signed answers an ISV server sends back
//! ([`server`]).

pub mod notify;
pub mod server;
