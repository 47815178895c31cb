//! Shared code for the runnable examples: the calculator service (the seed's CalculatorNode).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let router = examples::calculator::router()?;
//! let running = transport_tokio::Server::builder(router)
//!     .http("127.0.0.1:0")
//!     .start()
//!     .await?;
//! println!("listening on {:?}", running.http_addr());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod auth_ratelimit;
pub mod browser;
pub mod calculator;
pub mod calculator_cli;
pub mod gateway;
pub mod greet;
pub mod lsp;
pub mod math_service;
pub mod notifications;
pub mod socket_activation;

/// README.md's Rust examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Turns an example's outcome into its exit code, printing the error if there is one.
pub fn exit_code<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
