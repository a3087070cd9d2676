//! Parses the command line, reads the settings once, and dispatches: a subcommand
//! runs headless, none opens the TUI.

use std::borrow::Cow;
use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::{self, args::Cli};
use switchboard::domain::escape_control;
use switchboard::settings::Settings;

/// mimalloc instead of the system allocator: intake allocates on one thread and frees
/// on another (parsed lines, result lines), which glibc's arenas make expensive.
/// Measured with callgrind on 20,000 ingested lines: 4.6% fewer instructions on the
/// store's thread, 7% fewer in all.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Installed before anything else (and before the TUI enters the terminal), so a
    // panic is reported readably; user mistakes never get here as panics.
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(mut e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            escape_quoted_arguments(&mut e);
            eprintln!("{}", escape_control(&one_line(&e.render().to_string())));
            return ExitCode::from(2);
        }
    };
    // The environment, read here and nowhere else.
    let settings = match Settings::read(cli.global.db.clone(), cli.global.actor.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", escape_control(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let result = match cli.command {
        Some(command) => cli::run(&cli.global, &settings, command),
        None => match switchboard::tui::run(&cli.global, &settings) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("error: {}", escape_control(&e.to_string()));
                return ExitCode::from(1);
            }
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors quote names and input: one line, with nothing that acts on the
            // terminal.
            eprintln!("error: {}", escape_control(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

/// clap's message without its usage block, on one line.
fn one_line(rendered: &str) -> String {
    let head = rendered.split("\n\nUsage:").next().unwrap_or(rendered);
    let joined: Vec<&str> = head
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    format!("{} (see --help)", joined.join(" "))
}

/// Escapes the arguments clap quotes in its error (an invalid value, an unknown
/// argument) before it renders them: its plain rendering drops escape sequences, which
/// would quote a different value than the one given.
fn escape_quoted_arguments(e: &mut clap::Error) {
    use clap::error::ContextValue;
    let escaped: Vec<_> = e
        .context()
        .filter_map(|(kind, value)| match value {
            ContextValue::String(s) => match escape_control(s) {
                Cow::Owned(x) => Some((kind, ContextValue::String(x))),
                Cow::Borrowed(_) => None,
            },
            ContextValue::Strings(v) if v.iter().any(|s| escape_control(s) != s.as_str()) => {
                let v = v.iter().map(|s| escape_control(s).into_owned()).collect();
                Some((kind, ContextValue::Strings(v)))
            }
            _ => None,
        })
        .collect();
    for (kind, value) in escaped {
        e.insert(kind, value);
    }
}
