use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match mlspend::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let mlspend::Error::Write { source, .. } = &e {
                if source.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            // Each error's message already ends with its cause: the whole chain is one line.
            let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
