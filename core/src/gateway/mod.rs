//! The gateway protocol (`gateway.do`): signed requests and their sign content with Java's
//! blank rules ([`request`]), answers located by a string-aware scan and verified over their
//! exact bytes ([`response`]), and the signed page / app entry points ([`page`]).

pub(crate) mod content;
pub mod page;
pub mod request;
pub mod response;
