//! The `kompile` binary: parse arguments, run one command, map the result to an exit code
//! (0 ok, 1 errors found, 2 could not run). All conversion logic lives in the library; this
//! file and `cli/` are the edge: arguments, the process environment, files and stdout.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // File names and flag values in the message come from the command line.
            let message = kompile::diag::without_os_error(&format!("{err:#}"));
            eprintln!("error: {}", kompile::diag::escape_control(&message));
            ExitCode::from(2)
        }
    }
}
