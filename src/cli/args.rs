//! The command line, as clap parses it. These names are an interface: scripts and
//! tests depend on them.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

use crate::domain::Role;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Terminal mini-CRM: routes customer contacts to operators by per-source weights and load limits",
    long_about = "Terminal mini-CRM: routes customer contacts to operators by per-source weights and \
                  load limits, on one SQLite file shared by supervisors and intake processes.\n\n\
                  With no subcommand, opens the supervisor TUI."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Database file [default: $SWITCHBOARD_DB, else ./switchboard.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Who makes the changes, for the audit log [default: $USER]
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Print JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// TUI: disable every editing key
    #[arg(long)]
    pub read_only: bool,
    /// TUI: capture the mouse (off by default: it breaks text selection)
    #[arg(long)]
    pub mouse: bool,
    /// TUI: open switchboard-demo.db (created from the demo data) with a slow simulator
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or migrate the file; safe to repeat
    Init,
    /// Operators: who takes contacts
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Sources: where contacts come from
    #[command(subcommand)]
    Source(SourceCmd),
    /// Weights: an operator's share of a source's traffic
    #[command(subcommand)]
    Weight(WeightCmd),
    /// Contacts: add, list, assign, close, reopen
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Leads
    #[command(subcommand)]
    Lead(LeadCmd),
    /// API tokens of the HTTP server: add, list, revoke
    #[command(subcommand)]
    Token(TokenCmd),
    /// Per source and operator: weight, configured share, actual count and share; waiting per source
    Stats,
    /// Serve the HTTP API (and the older services' paths) on this file until Ctrl-C or SIGTERM
    Serve {
        /// Address to listen on: HOST:PORT, or a port alone for 127.0.0.1:PORT
        #[arg(long, default_value = crate::server::DEFAULT_LISTEN, value_name = "ADDR")]
        listen: String,
    },
    /// Take in contacts as JSON Lines (no FILE or '-' = stdin)
    Ingest {
        /// JSON Lines file; '-' or nothing reads stdin
        file: Option<PathBuf>,
        /// Most lines committed in one transaction
        #[arg(long, default_value_t = crate::intake::DEFAULT_BATCH, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Longest a batch holds the write lock, in milliseconds (0: no time bound);
        /// other writers wait about this long behind intake at most
        #[arg(long, default_value_t = crate::intake::DEFAULT_BATCH_MS, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        batch_ms: u32,
    },
    /// What a shared setup needs: owners and modes of the file, its folder, -wal, -shm
    /// and -turn against the file's group; SQLite's integrity check; each operator's
    /// load against its active contacts. Exit code 1 on a problem, each with its fix
    Check {
        /// First set every operator's load that disagrees to its active contacts
        #[arg(long)]
        repair: bool,
    },
    /// Load the demo data (assets/demo.toml) into the file
    Demo {
        /// Load even if the file is not empty (adds to what is there)
        #[arg(long)]
        force: bool,
    },
    /// Generate contacts through the real intake path, without the TUI
    Simulate(SimulateArgs),
    /// The audit log, newest first
    Audit {
        /// Only entries containing this text
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Args, Clone)]
pub struct SimulateArgs {
    /// How many contacts
    #[arg(long)]
    pub count: u64,
    /// Contacts per second (default: as fast as possible)
    #[arg(long)]
    pub rate: Option<f64>,
    /// Source to use (repeatable); default: every source, by the configured mix
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Share of contacts from existing leads coming back (0..1)
    #[arg(long, default_value_t = 0.2)]
    pub repeat: f64,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Add an operator
    Add {
        name: String,
        /// Most open contacts it may hold
        #[arg(long, default_value_t = 5)]
        max_load: u32,
        /// Add it inactive (it takes no traffic)
        #[arg(long)]
        inactive: bool,
    },
    /// Change an operator (by name or id)
    Set {
        operator: String,
        #[arg(long)]
        max_load: Option<u32>,
        #[arg(long, value_parser = BoolishValueParser::new(), value_name = "true|false")]
        active: Option<bool>,
        #[arg(long, value_name = "NEW")]
        rename: Option<String>,
    },
    /// Delete an operator that holds no open contacts
    Delete { operator: String },
    /// List operators with their load
    List,
}

#[derive(Debug, Subcommand)]
pub enum SourceCmd {
    /// Add a source
    Add {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value = "weighted", value_name = "weighted|capacity")]
        strategy: String,
    },
    /// Change a source (by name or id)
    Set {
        source: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_name = "weighted|capacity")]
        strategy: Option<String>,
        #[arg(long, value_name = "NEW")]
        rename: Option<String>,
    },
    /// Delete a source that has no contacts
    Delete { source: String },
    /// List sources
    List,
}

#[derive(Debug, Subcommand)]
pub enum WeightCmd {
    /// Set an operator's weight for a source (0 = no traffic)
    #[command(allow_negative_numbers = true)]
    Set {
        operator: String,
        source: String,
        /// Whole number from 0 to 1000000
        weight: u32,
    },
    /// List non-zero weights
    List,
}

#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    /// Take in one contact (routed at once, or waiting)
    Add {
        #[arg(long)]
        source: String,
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List contacts, newest first
    List {
        #[arg(long, value_name = "waiting|active|closed")]
        status: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        operator: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Assign a waiting contact to an operator (an inactive or full one needs --force)
    Assign {
        id: i64,
        operator: String,
        /// Allow an inactive or full operator
        #[arg(long)]
        force: bool,
        /// Move a contact another operator already holds
        #[arg(long)]
        reassign: bool,
    },
    /// Close a contact
    Close { id: i64 },
    /// Reopen a closed contact
    Reopen { id: i64 },
    /// Route the waiting backlog of every source now
    Drain,
}

#[derive(Debug, Subcommand)]
pub enum LeadCmd {
    /// Each lead with its contacts, newest first
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Add a token and print its secret, once (only its hash is stored)
    Add {
        name: String,
        /// intake: only hands in contacts; viewer: only reads; supervisor: everything
        #[arg(long, value_name = "intake|viewer|supervisor")]
        role: Role,
    },
    /// List tokens (names and roles; never secrets)
    List,
    /// Revoke a token: its secret stops working at once
    Revoke { name: String },
}
