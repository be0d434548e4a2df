//! The boxed future the async seams return (fleet locks, remote signers): trait methods
//! cannot be `async fn` and stay object-safe, so they return this. A leaf: no runtime, no IO.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, as the crate's object-safe async traits return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
