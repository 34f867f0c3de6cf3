//! The `cafix` command: parse the command line, dispatch (src/cli/).

use clap::Parser;

fn main() {
    let cli = cafix::cli::Cli::parse();
    let code = cafix::cli::dispatch(cli);
    std::process::exit(code);
}
