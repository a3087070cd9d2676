//! Headless subcommands: parse -> store call -> print. Thin on purpose: validation,
//! routing and audit live in the store. Text from the file or the command line is
//! printed through `escape_control` (tables escape their cells themselves); `--json`
//! output is escaped by serde_json.

pub mod args;
use crate::intake as ingest;
pub mod table;

use std::io::Write;
use std::process::ExitCode;

use crate::domain::escape_control;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use args::{Command, Global, LeadCmd};
use table::{Align, Table};

/// A failure to report on one line of stderr. Its text may quote input: print it through
/// `escape_control`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

/// Opens the settings' file as their actor.
pub fn open_store(settings: &Settings, read_only: bool) -> Result<Store, CliError> {
    Ok(Store::open(&settings.db, settings.open_options(read_only))?)
}

mod contacts;
mod output;
mod roster;

use contacts::contact;
use output::*;
use roster::{operator, source, token, weight};

/// Lets a closed stdout (`switchboard contact list | head -1`) end the process quietly,
/// as it does for other Unix tools, instead of failing on every later write.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts;
    // no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs one subcommand against the store.
pub fn run(global: &Global, settings: &Settings, command: Command) -> Result<ExitCode, CliError> {
    quiet_on_closed_pipe();
    let json = global.json;
    if let Command::Check { repair } = command {
        return check(global, settings, repair);
    }
    if let Command::Serve { listen } = &command {
        let addr =
            crate::server::parse_listen(listen).map_err(|e| CliError::Usage(e.to_string()))?;
        let store = open_store(settings, global.read_only)?;
        crate::server::serve(store, addr).map_err(|e| match e {
            crate::server::ServeError::Store(s) => CliError::Store(s),
            other => CliError::Usage(other.to_string()),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = open_store(settings, global.read_only)?;
    match command {
        Command::Check { .. } | Command::Serve { .. } => unreachable!("handled above"),
        Command::Init => {
            // A file this user may only read opens fine; init says it cannot write it.
            store.ensure_writable()?;
            if json {
                print_json(&serde_json::json!({
                    "path": store.path().display().to_string(),
                    "schema_version": crate::store::latest_version(),
                }))?;
            } else {
                println!(
                    "{} is ready (schema version {})",
                    escape_control(&store.path().display().to_string()),
                    crate::store::latest_version()
                );
            }
        }
        Command::Operator(cmd) => operator(&mut store, json, cmd)?,
        Command::Source(cmd) => source(&mut store, json, cmd)?,
        Command::Weight(cmd) => weight(&mut store, json, cmd)?,
        Command::Contact(cmd) => contact(&mut store, json, cmd)?,
        Command::Token(cmd) => token(&mut store, json, cmd)?,
        Command::Lead(LeadCmd::List { limit }) => {
            let mut json_out = json.then(JsonArray::new);
            stream_pages(
                limit,
                |last: Option<&crate::store::LeadWithContacts>, n| {
                    Ok(store.leads_before(last.map(|l| l.lead.id), n)?)
                },
                |leads, _| {
                    if let Some(j) = &mut json_out {
                        return leads.iter().try_for_each(|l| j.push(l));
                    }
                    print_leads(leads);
                    Ok(())
                },
            )?;
            if let Some(j) = json_out {
                j.finish();
            }
        }
        Command::Stats => {
            let stats = store.stats()?;
            if json {
                print_json(&stats)?;
            } else {
                for s in &stats {
                    println!(
                        "{} ({}): {} contacts, {} routed, {} waiting",
                        escape_control(&s.source),
                        s.strategy,
                        s.total,
                        s.routed,
                        s.waiting
                    );
                    let mut t = Table::new(&[
                        ("  operator", Align::Left),
                        ("weight", Align::Right),
                        ("configured", Align::Right),
                        ("actual", Align::Right),
                        ("share", Align::Right),
                    ]);
                    for o in &s.operators {
                        t.row(vec![
                            format!("  {}", o.operator),
                            o.weight.to_string(),
                            format!("{:.1}%", o.configured_share * 100.0),
                            o.count.to_string(),
                            format!("{:.1}%", o.actual_share * 100.0),
                        ]);
                    }
                    print!("{}", t.render());
                    println!();
                }
            }
        }
        Command::Ingest {
            file,
            batch,
            batch_ms,
        } => {
            let time =
                (batch_ms > 0).then(|| std::time::Duration::from_millis(u64::from(batch_ms)));
            // Written from ingest's output thread, so the handle (not a lock) is moved.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            let report = match file {
                Some(path) if path.as_os_str() != "-" => {
                    let f = std::fs::File::open(&path).map_err(|e| {
                        CliError::Io(format!("cannot open {}: {e}", path.display()))
                    })?;
                    ingest::run_bounded(&mut store, f, &mut out, batch as usize, time)?
                }
                _ => ingest::run_bounded(
                    &mut store,
                    std::io::stdin(),
                    &mut out,
                    batch as usize,
                    time,
                )?,
            };
            out.flush().map_err(|e| CliError::Io(e.to_string()))?;
            if report.rejected > 0 {
                eprintln!(
                    "ingest: {} accepted, {} rejected",
                    report.accepted, report.rejected
                );
                return Ok(ExitCode::from(1));
            }
        }
        Command::Demo { force } => {
            let summary = crate::demo::load(&mut store, force)?;
            if json {
                print_json(&summary)?;
            } else {
                println!("{summary}");
            }
        }
        Command::Simulate(args) => {
            use crate::sim::{Plan, Progress, SourceMix};
            let plan = Plan {
                count: args.count,
                rate: args.rate,
                mix: SourceMix::resolve(&mut store, &args.sources)?,
                repeat: args.repeat,
                seed: settings.seed,
            };
            let report =
                crate::sim::run(&mut store, &plan, &std::sync::Arc::new(Progress::default()))?;
            if json {
                print_json(&report)?;
            } else {
                println!("{report}");
            }
        }
        Command::Audit { filter, limit } => {
            let entries = store.audit_log(filter.as_deref(), None, limit)?;
            if json {
                print_json(&entries)?;
            } else {
                let mut t = Table::new(&[
                    ("time", Align::Left),
                    ("actor", Align::Left),
                    ("action", Align::Left),
                    ("change", Align::Left),
                ]);
                for e in &entries {
                    t.row(vec![
                        local_time(e.at),
                        e.actor.clone(),
                        match e.entity_id {
                            Some(id) => format!("{} #{id}", e.action),
                            None => e.action.clone(),
                        },
                        e.summary(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `switchboard check [--repair]`: one line per finding, then a summary; exit code 1
/// when a problem is left.
fn check(global: &Global, settings: &Settings, repair: bool) -> Result<ExitCode, CliError> {
    let mut repaired = Vec::new();
    if repair {
        let mut store = open_store(settings, global.read_only)?;
        repaired = store.repair_loads()?;
    }
    let report = crate::store::check(&settings.db, settings.open_options(false));
    if global.json {
        let mut value = serde_json::to_value(&report).map_err(|e| CliError::Io(e.to_string()))?;
        if repair {
            value["repaired"] =
                serde_json::to_value(&repaired).map_err(|e| CliError::Io(e.to_string()))?;
        }
        print_json(&value)?;
    } else {
        for r in &repaired {
            println!(
                "repaired  operator #{} '{}': load {} -> {}",
                r.operator_id,
                escape_control(&r.operator),
                r.was,
                r.now
            );
        }
        // The longest name, "integrity": the details line up whatever was checked.
        let width = 9;
        for c in &report.checks {
            let mut line = format!(
                "{:<8} {:<width$} {}",
                if c.ok { "ok" } else { "PROBLEM" },
                c.name,
                c.detail
            );
            if let Some(fix) = &c.fix {
                line.push_str("; fix: ");
                line.push_str(fix);
            }
            println!("{}", escape_control(&line));
        }
        let problems = report.problems().count();
        if problems == 0 {
            println!(
                "{}: all {} checks passed",
                escape_control(&report.path),
                report.checks.len()
            );
        } else {
            println!(
                "{}: {problems} problem(s) in {} checks",
                escape_control(&report.path),
                report.checks.len()
            );
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
