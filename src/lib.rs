//! bigtop-k8s: analytics services on Kubernetes, installed in phases that each end in a
//! checkpoint proving they work.
//!
//! The pipeline is spec → catalog → plan → fetch → render → apply → wait → checkpoint → state;
//! one module per stage. `commands` strings the stages together; `cli` is the only clap user.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apply;
pub mod budget;
pub mod catalog;
pub mod checkpoint;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod contracts;
pub mod credentials;
pub mod diagnose;
pub mod docker;
pub mod error;
pub mod fetch;
pub mod forward;
pub mod jupyter;
pub mod kafka;
pub mod nifi;
pub mod output;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod preflight;
pub mod profile;
pub mod progress;
pub mod provider;
pub mod remove;
pub mod render;
pub mod s3;
pub mod secrets;
pub mod setup;
pub mod sigv4;
pub mod spark;
pub mod spec;
pub mod sql;
pub mod state;
pub mod validation;
pub mod wait;
pub mod zeppelin;

#[cfg(test)]
mod test_pages;

/// An HTTP client for services reached through port-forwards on loopback: never through a proxy
/// from the environment, a bounded connect, and `timeout` per request.
///
/// # Errors
/// Only if the TLS backend cannot initialise.
pub fn local_http_client(timeout: std::time::Duration) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder().no_proxy().connect_timeout(std::time::Duration::from_secs(10)).timeout(timeout).build()
}

/// Select ring as the process-wide rustls provider (kube uses ring; reqwest is built without a
/// provider). Idempotent; every HTTP client constructor calls it, so library users need not.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
