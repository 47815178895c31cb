//! Test support: the virtual-clock [`Pair`](crate::sim::Pair) harness for the sync
//! [`Connection`](crate::Connection), the fuzz target bodies, and (feature `testing`) the
//! `conformance` suite every transport runs.

#[cfg(feature = "testing")]
pub mod conformance;
pub(crate) mod fuzzing;
pub(crate) mod sim;
#[cfg(feature = "testing")]
pub mod subscriptions;

#[cfg(test)]
mod connection_tests;
