//! The `cafix` command. `src/main.rs` parses arguments and calls [`dispatch`].
//!
//! Every subcommand returns its exit status, or an error line that is
//! printed as `cafix: <error>` with exit status 2.

pub mod args;
pub mod check;
pub mod doctor;
pub mod hash;
pub mod log;
pub mod man;
pub mod root_stores;
pub mod run;
pub mod style;
pub mod trace;

pub use args::Cli;
use args::Command;

/// Runs the parsed command line; returns the process exit status.
pub fn dispatch(cli: Cli) -> i32 {
    // A bug must still end in one line and exit status 2, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("cafix: internal error: {what}{place} (please report it)");
        std::process::exit(2);
    }));
    // `cafix doctor | head` ends quietly, as other Unix tools do.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    style::init(cli.color);
    let result = match cli.command {
        Command::Run(a) => run::run(&a),
        Command::Doctor(a) => doctor::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Hash(a) => hash::run_hash(&a),
        Command::Lookup(a) => hash::run_lookup(&a),
        Command::Trace(a) => trace::run(&trace::TraceOptions {
            json: a.json,
            output: a.output,
            fix: a.fix,
            command: a.command,
        }),
        Command::Log(a) => log::run(&a),
        Command::Man(a) => man::run(&a),
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut cmd, "cafix", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cafix: {e}");
            2
        }
    }
}
