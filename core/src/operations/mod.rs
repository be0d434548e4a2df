//! Alipay's operations as its v3 interface description lists them: for each method, the verb,
//! path and parameters of its v3 form. A leaf both protocols read (the v3 driver to send, the
//! gateway to point a refused method to its v3 form); published as [`crate::v3::operation`].

mod table;

/// One of Alipay's v3 operations as its interface description states it: where a request for
/// `method` goes. From [`operation`] / [`operations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct V3Operation {
    /// The operation's method name, which is also its gateway method (e.g. `alipay.trade.query`).
    pub method: &'static str,
    /// The HTTP verb.
    pub http_method: crate::wire::Method,
    /// The path, with `{placeholders}` for the path parameters.
    pub path: &'static str,
    /// The path parameters' names (each a `{placeholder}` of the path).
    pub path_params: &'static [&'static str],
    /// The query parameters' names.
    pub query_params: &'static [&'static str],
    /// Whether the request is a multipart upload (a `data` JSON part and file parts).
    pub multipart: bool,
}

/// The v3 operation whose method name is `method`, as Alipay's v3 interface description of
/// 2025-08-05 lists it (767 operations; `codegen/alipay-api/` in the repository).
pub fn operation(method: &str) -> Option<&'static V3Operation> {
    let found = table::OPERATIONS.binary_search_by(|op| op.method.cmp(method)).ok()?;
    table::OPERATIONS.get(found)
}

/// Every v3 operation of Alipay's interface description, sorted by method name.
pub fn operations() -> &'static [V3Operation] {
    table::OPERATIONS
}
