//! Test support: the virtual-clock [`Pair`](crate::sim::Pair) harness for the sync
//! [`Connection`](crate::Connection), the fuzz target bodies, and (feature `testing`) the
//! `conformance` suite every transport runs; with the adapters' features too, the suites every
//! runtime adapter runs through its `adapter::Adapter` implementation (`adapter::keepalive`,
//! `adapter::half_open`, `adapter::reconnect`).

#[cfg(all(
    feature = "testing",
    feature = "http-service",
    feature = "websocket",
    feature = "tls"
))]
pub mod adapter;
#[cfg(feature = "testing")]
pub mod conformance;

pub(crate) mod fuzzing;
pub(crate) mod sim;
#[cfg(feature = "testing")]
pub mod subscriptions;

#[cfg(test)]
mod connection_tests;
