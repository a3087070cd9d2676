//! Headless subcommands: parse -> store call -> print. Thin on purpose: validation,
//! routing and audit live in the store. Text from the file or the command line is
//! printed through `escape_control` (tables escape their cells themselves); `--json`
//! output is escaped by serde_json.

pub mod args;
use crate::intake as ingest;
pub mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::domain::{ContactStatus, EntityRef, Strategy, display_width, escape_control};
use crate::store::{
    Contact, Expect, FeedFilter, NewContact, OpenOptions, OperatorPatch, SourcePatch, Store,
    StoreError, default_actor,
};
use args::{Command, ContactCmd, Global, LeadCmd, OperatorCmd, SourceCmd, TokenCmd, WeightCmd};
use table::{Align, Table, pad, preview};

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

/// `--db`, else `$SWITCHBOARD_DB`, else `./switchboard.db`.
pub fn db_path(global: &Global) -> PathBuf {
    global
        .db
        .clone()
        .or_else(|| std::env::var_os("SWITCHBOARD_DB").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("switchboard.db"))
}

pub fn open_store(global: &Global) -> Result<Store, CliError> {
    let mut options = OpenOptions::from_env()?;
    options.actor = Some(global.actor.clone().unwrap_or_else(default_actor));
    options.read_only = global.read_only;
    Ok(Store::open(db_path(global), options)?)
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Io(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn local_time(ms: i64) -> String {
    use chrono::{Local, TimeZone};
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn parse_strategy(s: &str) -> Result<Strategy, CliError> {
    Ok(s.parse::<Strategy>().map_err(StoreError::from)?)
}

/// The lead listing's text for one page of leads.
fn print_leads(leads: &[crate::store::LeadWithContacts]) {
    for l in leads {
        let ids: Vec<String> = [
            l.lead
                .external_id
                .as_ref()
                .map(|x| format!("external_id {}", escape_control(x))),
            l.lead
                .phone
                .as_ref()
                .map(|x| format!("phone {}", escape_control(x))),
            l.lead
                .email
                .as_ref()
                .map(|x| format!("email {}", escape_control(x))),
        ]
        .into_iter()
        .flatten()
        .collect();
        println!(
            "lead #{} {} ({}), {} contact(s)",
            l.lead.id,
            escape_control(l.lead.name.as_deref().unwrap_or("(no name)")),
            ids.join(", "),
            l.contacts.len()
        );
        for c in &l.contacts {
            println!(
                "    #{:<6} {}  {} {:<8} {}",
                c.id,
                local_time(c.created_at),
                pad(&c.source, 14),
                c.status.as_str(),
                escape_control(c.operator.as_deref().unwrap_or("—"))
            );
        }
    }
}

/// Rows per read of a long listing: the listing streams in flat memory.
const PAGE: usize = 500;

/// Prints a JSON array element by element, exactly as `to_string_pretty` of the
/// whole array would, without holding it.
struct JsonArray {
    first: bool,
}

impl JsonArray {
    fn new() -> JsonArray {
        JsonArray { first: true }
    }

    fn push<T: Serialize>(&mut self, value: &T) -> Result<(), CliError> {
        let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Io(e.to_string()))?;
        let indented: Vec<String> = s.lines().map(|l| format!("  {l}")).collect();
        print!(
            "{}{}",
            if self.first { "[\n" } else { ",\n" },
            indented.join("\n")
        );
        self.first = false;
        Ok(())
    }

    fn finish(self) {
        println!("{}", if self.first { "[]" } else { "\n]" });
    }
}

/// Reads a listing page by page (each call of `next_page` gets the rows after the
/// last one) and hands each page to `emit` with whether it is the only one; one page
/// is read ahead so a short listing knows it is short.
fn stream_pages<T>(
    limit: usize,
    mut next_page: impl FnMut(Option<&T>, usize) -> Result<Vec<T>, CliError>,
    mut emit: impl FnMut(&[T], bool) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut left = limit;
    let mut page = next_page(None, left.min(PAGE))?;
    left -= page.len();
    let mut only = true;
    loop {
        let ahead = if left > 0 && !page.is_empty() {
            next_page(page.last(), left.min(PAGE))?
        } else {
            Vec::new()
        };
        left -= ahead.len();
        only &= ahead.is_empty();
        emit(&page, only)?;
        if ahead.is_empty() {
            return Ok(());
        }
        page = ahead;
    }
}

/// A page of the contact table: columns at least `min` wide, the header line only
/// when `header`.
fn contacts_table(contacts: &[Contact], min: &[usize], header: bool) -> String {
    let mut t = Table::new(&[
        ("id", Align::Right),
        ("created", Align::Left),
        ("source", Align::Left),
        ("lead", Align::Left),
        ("operator", Align::Left),
        ("status", Align::Left),
        ("message", Align::Left),
    ]);
    for c in contacts {
        t.row(vec![
            c.id.to_string(),
            local_time(c.created_at),
            c.source.clone(),
            preview(&c.lead, 24),
            c.operator.clone().unwrap_or_else(|| "—".into()),
            c.status.to_string(),
            preview(&c.message, 40),
        ]);
    }
    t.with_min_widths(min).render_page(header)
}

fn print_contact(json: bool, c: &Contact, verb: &str) -> Result<(), CliError> {
    if json {
        return print_json(c);
    }
    match &c.operator {
        Some(op) if c.status == ContactStatus::Active => {
            println!(
                "contact #{} {verb}: {} (operator {})",
                c.id,
                c.status,
                escape_control(op)
            )
        }
        _ => println!("contact #{} {verb}: {}", c.id, c.status),
    }
    Ok(())
}

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
pub fn run(global: &Global, command: Command) -> Result<ExitCode, CliError> {
    quiet_on_closed_pipe();
    let json = global.json;
    if let Command::Check { repair } = command {
        return check(global, repair);
    }
    if let Command::Serve { listen } = &command {
        let addr =
            crate::server::parse_listen(listen).map_err(|e| CliError::Usage(e.to_string()))?;
        let store = open_store(global)?;
        crate::server::serve(store, addr).map_err(|e| match e {
            crate::server::ServeError::Store(s) => CliError::Store(s),
            other => CliError::Usage(other.to_string()),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = open_store(global)?;
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
                seed: OpenOptions::from_env()?.seed,
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
fn check(global: &Global, repair: bool) -> Result<ExitCode, CliError> {
    let path = db_path(global);
    let mut options = OpenOptions::from_env()?;
    options.actor = Some(global.actor.clone().unwrap_or_else(default_actor));
    let mut repaired = Vec::new();
    if repair {
        let mut store = open_store(global)?;
        repaired = store.repair_loads()?;
    }
    let report = crate::store::check(&path, options);
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

fn operator(store: &mut Store, json: bool, cmd: OperatorCmd) -> Result<(), CliError> {
    let show = |op: &crate::store::Operator, verb: &str| -> Result<(), CliError> {
        if json {
            return print_json(op);
        }
        println!(
            "operator #{} '{}' {verb}: {}, load {}/{}",
            op.id,
            escape_control(&op.name),
            if op.active { "active" } else { "inactive" },
            op.load,
            op.max_load
        );
        Ok(())
    };
    match cmd {
        OperatorCmd::Add {
            name,
            max_load,
            inactive,
        } => show(&store.add_operator(&name, max_load, !inactive)?, "added"),
        OperatorCmd::Set {
            operator,
            max_load,
            active,
            rename,
        } => {
            if max_load.is_none() && active.is_none() && rename.is_none() {
                return Err(CliError::Usage(
                    "nothing to change: give --max-load, --active or --rename".into(),
                ));
            }
            let patch = OperatorPatch {
                name: rename,
                max_load,
                active,
            };
            show(
                &store.update_operator(&EntityRef::parse(&operator), &patch)?,
                "updated",
            )
        }
        OperatorCmd::Delete { operator } => show(
            &store.delete_operator(&EntityRef::parse(&operator))?,
            "deleted",
        ),
        OperatorCmd::List => {
            let ops = store.operators()?;
            if json {
                return print_json(&ops);
            }
            let mut t = Table::new(&[
                ("id", Align::Right),
                ("name", Align::Left),
                ("active", Align::Left),
                ("load", Align::Right),
                ("max_load", Align::Right),
                ("sources", Align::Right),
                ("today", Align::Right),
            ]);
            for o in &ops {
                t.row(vec![
                    o.id.to_string(),
                    o.name.clone(),
                    if o.active { "yes" } else { "no" }.into(),
                    o.load.to_string(),
                    o.max_load.to_string(),
                    o.sources.to_string(),
                    o.assigned_today.to_string(),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

fn source(store: &mut Store, json: bool, cmd: SourceCmd) -> Result<(), CliError> {
    let show = |s: &crate::store::Source, verb: &str| -> Result<(), CliError> {
        if json {
            return print_json(s);
        }
        println!(
            "source #{} '{}' {verb} ({})",
            s.id,
            escape_control(&s.name),
            s.strategy
        );
        Ok(())
    };
    match cmd {
        SourceCmd::Add {
            name,
            description,
            strategy,
        } => {
            let strategy = parse_strategy(&strategy)?;
            show(&store.add_source(&name, &description, strategy)?, "added")
        }
        SourceCmd::Set {
            source,
            description,
            strategy,
            rename,
        } => {
            if description.is_none() && strategy.is_none() && rename.is_none() {
                return Err(CliError::Usage(
                    "nothing to change: give --description, --strategy or --rename".into(),
                ));
            }
            let patch = SourcePatch {
                name: rename,
                description,
                strategy: strategy.as_deref().map(parse_strategy).transpose()?,
                code: None,
            };
            show(
                &store.update_source(&EntityRef::parse(&source), &patch)?,
                "updated",
            )
        }
        SourceCmd::Delete { source } => {
            show(&store.delete_source(&EntityRef::parse(&source))?, "deleted")
        }
        SourceCmd::List => {
            let sources = store.sources()?;
            if json {
                return print_json(&sources);
            }
            let mut t = Table::new(&[
                ("id", Align::Right),
                ("name", Align::Left),
                ("strategy", Align::Left),
                ("waiting", Align::Right),
                ("today", Align::Right),
                ("total", Align::Right),
                ("description", Align::Left),
            ]);
            for s in &sources {
                t.row(vec![
                    s.id.to_string(),
                    s.name.clone(),
                    s.strategy.to_string(),
                    s.waiting.to_string(),
                    s.today.to_string(),
                    s.total.to_string(),
                    preview(&s.description, 40),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

fn weight(store: &mut Store, json: bool, cmd: WeightCmd) -> Result<(), CliError> {
    match cmd {
        WeightCmd::Set {
            operator,
            source,
            weight,
        } => {
            let w = store.set_weight(
                &EntityRef::parse(&operator),
                &EntityRef::parse(&source),
                weight,
            )?;
            if json {
                print_json(&w)?;
            } else {
                println!(
                    "weight {} x {} = {}",
                    escape_control(&w.operator),
                    escape_control(&w.source),
                    w.weight
                );
            }
        }
        WeightCmd::List => {
            let ws = store.weights()?;
            if json {
                return print_json(&ws);
            }
            let mut t = Table::new(&[
                ("source", Align::Left),
                ("operator", Align::Left),
                ("weight", Align::Right),
            ]);
            for w in &ws {
                t.row(vec![
                    w.source.clone(),
                    w.operator.clone(),
                    w.weight.to_string(),
                ]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}

fn token(store: &mut Store, json: bool, cmd: TokenCmd) -> Result<(), CliError> {
    match cmd {
        TokenCmd::Add { name, role } => {
            let secret = store.add_token(&name, role)?;
            // The name as stored (trimmed), read back through the secret just made.
            let token = store.authenticate(&secret)?.ok_or_else(|| {
                CliError::Io("the new token cannot be found by its secret".into())
            })?;
            if json {
                print_json(&serde_json::json!({
                    "name": token.name,
                    "role": token.role,
                    "token": secret,
                }))?;
            } else {
                // The secret alone on stdout, so `$(switchboard token add ...)` is it.
                println!("{secret}");
            }
            eprintln!(
                "token '{}' ({}) added; its secret is shown this once only: switchboard stores just its SHA-256 hash",
                escape_control(&token.name),
                token.role
            );
        }
        TokenCmd::List => {
            let tokens = store.list_tokens()?;
            if json {
                return print_json(&tokens);
            }
            let mut t = Table::new(&[
                ("name", Align::Left),
                ("role", Align::Left),
                ("created", Align::Left),
                ("created_by", Align::Left),
                ("last_used", Align::Left),
            ]);
            for tk in &tokens {
                t.row(vec![
                    tk.name.clone(),
                    tk.role.to_string(),
                    local_time(tk.created_at),
                    tk.created_by.clone(),
                    tk.last_used_at.map_or_else(|| "—".into(), local_time),
                ]);
            }
            print!("{}", t.render());
        }
        TokenCmd::Revoke { name } => {
            store.revoke_token(&name)?;
            let name = name.trim();
            if json {
                print_json(&serde_json::json!({"name": name, "revoked": true}))?;
            } else {
                println!("token '{}' revoked", escape_control(name));
            }
        }
    }
    Ok(())
}

fn contact(store: &mut Store, json: bool, cmd: ContactCmd) -> Result<(), CliError> {
    match cmd {
        ContactCmd::Add {
            source,
            external_id,
            phone,
            email,
            name,
            message,
            idempotency_key,
        } => {
            let intake = store.add_contact(&NewContact {
                source: Some(EntityRef::parse(&source)),
                external_id,
                phone,
                email,
                name,
                message,
                idempotency_key,
            })?;
            if json {
                print_json(&ingest::contact_json(&intake, None))?;
            } else if intake.duplicate {
                print_contact(
                    false,
                    &intake.contact,
                    "already exists (same idempotency key)",
                )?;
            } else {
                print_contact(false, &intake.contact, "added")?;
            }
        }
        ContactCmd::List {
            status,
            source,
            operator,
            limit,
        } => {
            let mut filter = FeedFilter {
                status: status
                    .as_deref()
                    .map(|s| s.parse::<ContactStatus>().map_err(StoreError::from))
                    .transpose()?,
                ..FeedFilter::default()
            };
            if let Some(s) = source {
                filter.source_id = Some(store.source(&EntityRef::parse(&s))?.id);
            }
            if let Some(o) = operator {
                filter.operator_id = Some(store.operator(&EntityRef::parse(&o))?.id);
            }
            // Columns of a listing longer than one page are as wide as any row can
            // need, so the pages line up: every source and operator name, the lead's
            // preview, the largest id (the first row).
            let widest = |names: Vec<String>| {
                names
                    .iter()
                    .map(|n| display_width(&escape_control(n)))
                    .max()
                    .unwrap_or(0)
            };
            let source_w = widest(store.sources()?.into_iter().map(|s| s.name).collect());
            let operator_w =
                widest(store.operators()?.into_iter().map(|o| o.name).collect()).max(1);
            let mut json_out = json.then(JsonArray::new);
            let mut first_id = None;
            let mut header = true;
            stream_pages(
                limit,
                |last: Option<&Contact>, n| Ok(store.contacts(&filter, last.map(|c| c.id), n)?),
                |page, only| {
                    if let Some(j) = &mut json_out {
                        return page.iter().try_for_each(|c| j.push(c));
                    }
                    let id_w = first_id
                        .get_or_insert_with(|| page.first().map_or(0, |c| c.id.to_string().len()));
                    let min = if only {
                        Vec::new()
                    } else {
                        vec![*id_w, 19, source_w, 24, operator_w, 7]
                    };
                    print!("{}", contacts_table(page, &min, header));
                    header = false;
                    Ok(())
                },
            )?;
            if let Some(j) = json_out {
                j.finish();
            }
        }
        ContactCmd::Assign {
            id,
            operator,
            force,
            reassign,
        } => {
            let expect = if reassign {
                Expect::Any
            } else {
                Expect::Waiting
            };
            let c = store
                .assign_contact(id, &EntityRef::parse(&operator), force, expect)
                .map_err(|e| match e {
                    e @ StoreError::NeedsForce { .. } => {
                        CliError::Usage(format!("{e} (use --force)"))
                    }
                    StoreError::AlreadyAssigned { contact, operator } if !reassign => CliError::Usage(
                        format!("contact #{contact} was already assigned to {operator} (use --reassign to move it)"),
                    ),
                    e => e.into(),
                })?;
            print_contact(json, &c, "assigned")?;
        }
        ContactCmd::Close { id } => print_contact(json, &store.close_contact(id)?, "closed")?,
        ContactCmd::Reopen { id } => print_contact(json, &store.reopen_contact(id)?, "reopened")?,
        ContactCmd::Drain => {
            let n = store.drain_all()?;
            if json {
                print_json(&serde_json::json!({"routed": n}))?;
            } else if n > 0 {
                println!("{n} waiting contact(s) routed");
            } else {
                match store.waiting_count()? {
                    0 => println!("0 routed: no contact is waiting"),
                    w => println!(
                        "0 routed: none of the {w} waiting contact(s) can be taken: no operator with a weight in their sources is active with room"
                    ),
                }
            }
        }
    }
    Ok(())
}
