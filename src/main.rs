//! Entry point: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    bigtop_k8s::install_crypto_provider();
    let cli = match bigtop_k8s::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // clap's own errors (exit 2) end with a hint like ours; --help and --version exit 0.
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                eprintln!("hint: `bigtop-k8s --help` lists the commands, `bigtop-k8s <command> --help` their flags");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    bigtop_k8s::cli::run(cli).await.into()
}
