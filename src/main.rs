//! Entry point: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    bigtop_k8s::install_crypto_provider();
    bigtop_k8s::cli::run(bigtop_k8s::cli::Cli::parse()).await.into()
}
