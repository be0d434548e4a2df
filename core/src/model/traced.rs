//! A typed answer with the trace id of the call that brought it.

use std::ops::{Deref, DerefMut};

/// A typed, verified answer and the call's trace id — what Alipay support asks for first,
/// so it is kept on success too, not only in errors. Derefs to the answer, so fields and
/// methods read as if it were the answer itself:
///
/// ```
/// use alipay_core::model::Traced;
///
/// struct Query { trade_status: String }
/// let answer = Traced::new(Query { trade_status: "TRADE_SUCCESS".into() }, Some("0b1f".into()));
/// assert_eq!(answer.trade_status, "TRADE_SUCCESS");
/// assert_eq!(answer.trace_id(), Some("0b1f"));
/// let query: Query = answer.into_inner();
/// # let _ = query;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced<T> {
    value: T,
    trace_id: Option<String>,
}

impl<T> Traced<T> {
    /// An answer and the trace id its call returned, if any.
    pub fn new(value: T, trace_id: Option<String>) -> Traced<T> {
        Traced { value, trace_id }
    }

    /// The trace id of the call (the gateway's `trace_id` header, v3's `alipay-trace-id`).
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// The answer itself.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The answer and the trace id.
    pub fn into_parts(self) -> (T, Option<String>) {
        (self.value, self.trace_id)
    }
}

impl<T> Deref for Traced<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Traced<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}
