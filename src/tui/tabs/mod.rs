//! The four tabs, one module each: its state, how it reads the file, and its commands.
//! A command changes its own state and returns what it asks of the App
//! ([`crate::tui::effect::Out`]): a message, a dialog, a write.

pub mod feed;
pub mod operators;
pub mod sources;
pub mod weights;
