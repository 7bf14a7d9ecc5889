//! The `graphstore` binary: see the library's docs and `graphstore --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A panic is a bug, never the user's fault: one line, no backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("graphstore: internal error: {info} (this is a bug; please report it)");
    }));
    let cli = graphstore::Cli::parse();
    match graphstore::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("graphstore: error: {}", e.message);
            ExitCode::from(u8::try_from(e.code).unwrap_or(1))
        }
    }
}
