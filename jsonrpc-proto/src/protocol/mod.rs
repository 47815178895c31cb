//! L0, the protocol layer: pure and synchronous, no IO, no runtime, no clock, no feature.
//!
//! Messages ([`message`]), ids and errors, batches, byte-stream framing ([`codec`]), the
//! connection state machine ([`connection`]), limits (constants) and the pure HTTP decisions
//! ([`http`]). Nothing here names a module of the layers above (`peer`, `service`, `adapter`,
//! `testing`); the crate root re-exports what applications use.

/// Chainable `with_<field>` setters for a `#[non_exhaustive]` config struct, so users build it
/// from `Default` without a struct literal: `Config::default().with_max_pending(16)`.
macro_rules! config_setters {
    (<$($g:ident),*> $ty:ty { $($(#[$m:meta])* $name:ident => $field:ident: $fty:ty),* $(,)? }) => {
        impl<$($g),*> $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see the field's docs).")]
                $(#[$m])*
                #[must_use]
                pub fn $name(mut self, value: $fty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
    ($ty:ty { $($(#[$m:meta])* $name:ident => $field:ident: $fty:ty),* $(,)? }) => {
        crate::protocol::config_setters!(<> $ty { $($(#[$m])* $name => $field: $fty),* });
    };
}
pub(crate) use config_setters;

pub(crate) mod batch;
pub(crate) mod codec;
pub(crate) mod connection;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod http1;
pub(crate) mod id;
pub(crate) mod limits;
pub(crate) mod message;
