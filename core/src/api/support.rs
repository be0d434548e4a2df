//! What every generated operation shares: the file part type, the trait naming an operation's
//! error codes, and the two conversions (gateway and v3) driven by the operation table.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::request::Request;
use crate::v3::{V3Api, V3Request};

/// A file sent in a multipart upload (`image_content`, `file_content`, …): never signed, never
/// serialized into JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Upload {
    /// The file name sent with the part; its extension picks the part's content type.
    pub file_name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl Upload {
    /// A file part named `file_name` holding `bytes`.
    pub fn new(file_name: impl Into<String>, bytes: Vec<u8>) -> Upload {
        Upload { file_name: file_name.into(), bytes }
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("file_name", &self.file_name).field("len", &self.bytes.len()).finish()
    }
}

/// A generated operation: typed on both protocols, with the error codes Alipay documents
/// for it.
pub trait Operation: V3Api {
    /// The operation's error codes (the `code` of a v3 error body, the `sub_code` of a
    /// gateway failure), each a variant, the gateway-wide ones under `Common`, anything newer
    /// kept as `Other`.
    type ErrorCode: for<'a> From<&'a str> + AsRef<str> + std::fmt::Debug + Clone + PartialEq;
}

/// Parameters the gateway sends beside `biz_content`, not in it (the v3 form carries them in
/// the body, the query or a header).
const GATEWAY_TOP_LEVEL: [&str; 4] = ["notify_url", "return_url", "app_auth_token", "auth_token"];

/// The fields of a generated request as a JSON object (absent fields left out).
fn fields<T: Serialize>(value: &T) -> Result<Map<String, Value>, serde_json::Error> {
    match serde_json::to_value(value)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// A query, path or text-part value as text: a string as it is, anything else as its JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The gateway form of a generated operation: its fields in `biz_content` (for an upload, as
/// text parameters beside the file parts, as the gateway's upload APIs take them), the
/// gateway's own top-level parameters (`notify_url`, `auth_token`, …) beside it.
pub(crate) fn gateway_request<T: Serialize>(method: &str, value: &T, files: &[(&str, &Upload)]) -> Request {
    let mut request = Request::new(method);
    let mut map = match fields(value) {
        Ok(map) => map,
        // Keeps the serializer's error for signing to report (generated types never fail).
        Err(_) => return request.biz(value),
    };
    for name in GATEWAY_TOP_LEVEL {
        if let Some(value) = map.remove(name) {
            let value = text(&value);
            request = match name {
                "notify_url" => request.notify_url(value),
                "return_url" => request.return_url(value),
                "app_auth_token" => request.app_auth_token(value),
                _ => request.auth_token(value),
            };
        }
    }
    if files.is_empty() {
        return request.biz(&map);
    }
    for (name, value) in &map {
        request = request.param(name.clone(), text(value));
    }
    for (name, upload) in files {
        request = request.file(*name, upload.file_name.clone(), upload.bytes.clone());
    }
    request
}

/// The v3 form of a generated operation, as the operation table places each field: path
/// parameters into the path, query parameters into the query, `app_auth_token` into its
/// header, the rest into the JSON body (for an upload, the `data` part beside the files; for a
/// GET or DELETE, which have no body, the query).
pub(crate) fn v3_request<T: Serialize>(method: &str, value: &T, files: &[(&str, &Upload)]) -> V3Request {
    let mut request = V3Request::for_api(method);
    let mut map = match fields(value) {
        Ok(map) => map,
        Err(_) => return request.body(value),
    };
    if let Some(op) = crate::v3::operation(method) {
        for name in op.path_params {
            if let Some(value) = map.remove(*name) {
                request = request.path_param(*name, text(&value));
            }
        }
        for name in op.query_params {
            if let Some(value) = map.remove(*name) {
                request = request.query(*name, text(&value));
            }
        }
    }
    if let Some(token) = map.remove("app_auth_token") {
        request = request.app_auth_token(text(&token));
    }
    for (name, upload) in files {
        request = request.file(*name, upload.file_name.clone(), upload.bytes.clone());
    }
    // A GET or DELETE has no body: what is left (fields newer than the description, set in
    // `other_fields`) goes in the query.
    if matches!(request.method(), crate::wire::Method::Get | crate::wire::Method::Delete) {
        for (name, value) in &map {
            request = request.query(name.clone(), text(value));
        }
        return request;
    }
    // No body at all for an upload with nothing but files; `{}` for an empty POST.
    if map.is_empty() && (!files.is_empty() || request.method() != crate::wire::Method::Post) {
        return request;
    }
    request.body(&map)
}
