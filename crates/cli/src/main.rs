//! The `eardrum` binary: argument parsing and dispatch, nothing more.

mod agent;
mod args;
mod bench;
mod commands;
mod remote;
mod serve;
mod shell;
mod transfer;

use args::{Cli, Command};
use clap::Parser;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Put(args) => commands::put(args),
        Command::Get(args) => commands::get(args),
        Command::Shell(remote) => shell::run(remote),
        Command::Stats(args) => commands::stats(args),
        Command::Bench(args) => bench::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Import(args) => transfer::import(args),
        Command::Export(args) => transfer::export(args),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
