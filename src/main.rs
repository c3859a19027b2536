//! Entry point: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // kube uses ring; reqwest is built without a provider, so pick one process-wide.
    let _ = rustls::crypto::ring::default_provider().install_default();
    bigtop_k8s::cli::run(bigtop_k8s::cli::Cli::parse()).await.into()
}
