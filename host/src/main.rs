//! `clienthub`: the host (`serve`), its benchmark (`bench`), and thin clients of the admin API.
//! The commands live in [`cli`].

mod cli;

/// Runs the command; an error is one line on stderr (with its causes), and its backtrace only
/// when `CLIENTHUB_BACKTRACE=1` asks for it.
fn main() -> std::process::ExitCode {
    clienthub::memory::bound_arenas();
    clienthub::private::by_default();
    match cli::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            if std::env::var("CLIENTHUB_BACKTRACE").is_ok_and(|v| v == "1") {
                eprintln!("clienthub: {error:?}");
            } else {
                eprintln!("clienthub: {error:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
