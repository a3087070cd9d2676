//! switchboard: routes customer contacts from sources to operators by per-source weights
//! and per-operator load limits, on one SQLite file shared by several processes.

pub mod cli;
pub mod demo;
pub mod domain;
pub mod intake;
pub mod routing;
pub mod server;
pub mod settings;
pub mod sim;
pub mod store;
pub mod tui;
