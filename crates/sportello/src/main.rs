//! `sportello`: the server and its administration verbs.

mod bench;
mod cli;
mod config;
mod exit;
mod keys;
mod open;
mod progress;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // `--help` and `--version` are answers; anything else is a usage error, 1 like every
            // other (clap's own convention would be 2, which here means "a check failed").
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::Class::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::class_of(&e).code())
        }
    }
}
