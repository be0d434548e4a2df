//! The crate's macros: the shape of every layer's error. A leaf: every layer uses it and it uses
//! no layer, so layers do not depend on the aggregate [`crate::Error`] that wraps them.

/// Declares a layer's error: a one-pointer wrapper around its boxed kind (the enum that says
/// what went wrong, with the details a person needs to fix it), with the kind's `Display` and
/// `source()`. Errors stay cheap to return however much a kind carries. Exported so that the
/// crates built on the core (the SDK's `alipay.toml` loading, say) declare their layers alike.
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// #[non_exhaustive]
/// pub enum WidgetErrorKind {
///     /// The widget is missing.
///     #[error("no widget named {0}")]
///     Missing(String),
/// }
///
/// alipay_core::layer_error!(
///     /// Why a widget could not be used.
///     WidgetError => WidgetErrorKind
/// );
///
/// let error = WidgetError::from(WidgetErrorKind::Missing("w".into()));
/// assert_eq!(error.to_string(), "no widget named w");
/// assert_eq!(std::mem::size_of::<WidgetError>(), std::mem::size_of::<usize>());
/// ```
#[macro_export]
macro_rules! layer_error {
    ($(#[$meta:meta])* $name:ident => $kind:ident) => {
        $(#[$meta])*
        pub struct $name(Box<$kind>);

        impl $name {
            /// What went wrong.
            pub fn kind(&self) -> &$kind {
                &self.0
            }

            /// What went wrong, by value.
            pub fn into_kind(self) -> $kind {
                *self.0
            }
        }

        // Anything the kind converts from (the kind itself, and the kind's `#[from]` causes),
        // so `?` works on both.
        impl<T> From<T> for $name
        where
            $kind: From<T>,
        {
            fn from(cause: T) -> Self {
                $name(Box::new($kind::from(cause)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&*self.0, f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl std::error::Error for $name {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                std::error::Error::source(&*self.0)
            }
        }
    };
}
