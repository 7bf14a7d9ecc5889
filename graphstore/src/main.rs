//! The `graphstore` binary: see the library's docs and `graphstore --help`.

use std::process::ExitCode;

use clap::Parser;

/// The exit status of a process ended by SIGPIPE (128 + 13).
const EXIT_BROKEN_PIPE: i32 = 141;

fn main() -> ExitCode {
    // A panic is a bug, never the user's fault: one line, no backtrace.
    // The one exception: `println!` panics when stdout is a closed pipe
    // (`graphstore stats STORE | head`); then stop quietly, with the exit
    // status of a process killed by SIGPIPE, as other tools do.
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        if text.contains("failed printing to stdout") && text.contains("os error 32") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        eprintln!("graphstore: internal error: {info} (this is a bug; please report it)");
    }));
    let cli = graphstore::Cli::parse();
    match graphstore::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.message.contains("os error 32") => ExitCode::from(141),
        Err(e) => {
            eprintln!("graphstore: error: {}", e.message);
            ExitCode::from(u8::try_from(e.code).unwrap_or(1))
        }
    }
}
