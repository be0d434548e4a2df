//! What Alipay sends us: form bodies decoded exactly once ([`form`]), notifications, returns
//! and Alipay's calls verified ([`notify`]), and the signed answers an ISV server sends back
//! ([`server`]).

pub mod form;
pub mod notify;
pub mod server;
