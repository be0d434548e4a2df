//! Encodings: DER (`der`) and PEM (`pem`) readers, what a file really is ([`kind`]),
//! UTF-8 / GBK / GB18030 exactly as Java decodes them ([`charset`]), and bounded error
//! excerpts ([`excerpt`]).

pub mod charset;
pub(crate) mod der;
pub(crate) mod escape;
pub mod excerpt;
pub mod kind;
pub(crate) mod pem;
