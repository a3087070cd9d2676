//! What a tab's command or a dialog asks of the App, as data: a message, a dialog to
//! open, a write to run. A write runs on the writer's thread and comes back as a
//! [`Report`], which the App applies the same way for every write: forget the marks
//! it used, select a new row, read the file again, show the message, reopen a form
//! that was refused.

use ratatui::layout::Rect;

use crate::store::{Store, StoreError};

use super::keymap::Keymap;
use super::model::{Message, Tab};
use super::overlays::Dialog;

/// What a command needs besides its own state.
pub struct Cx<'a> {
    pub store: &'a mut Store,
    pub keymap: &'a Keymap,
    /// The terminal.
    pub area: Rect,
}

/// What a command asks of the App. Empty: it changed only its own state.
#[derive(Default)]
#[must_use]
pub struct Out {
    pub message: Option<Message>,
    pub open: Option<Dialog>,
    pub write: Option<Write>,
}

impl Out {
    pub fn none() -> Out {
        Out::default()
    }

    pub fn info(text: impl Into<String>) -> Out {
        Out {
            message: Some(Message::info(text)),
            ..Out::default()
        }
    }

    pub fn error(text: impl Into<String>) -> Out {
        Out {
            message: Some(Message::error(text)),
            ..Out::default()
        }
    }

    pub fn open(dialog: Dialog) -> Out {
        Out {
            open: Some(dialog),
            ..Out::default()
        }
    }

    pub fn write(write: Write) -> Out {
        Out {
            write: Some(write),
            ..Out::default()
        }
    }

    /// "no operator selected".
    pub fn nothing_selected(what: &str) -> Out {
        Out::error(format!("no {what} selected"))
    }
}

/// A change to the file: what the status bar says while it waits, and the job.
pub struct Write {
    pub what: String,
    pub job: Job,
}

/// A write's job: runs on the writer's session (or the App's store in tests).
pub type Job = Box<dyn FnOnce(&mut Store) -> Written + Send>;

/// What a write came back with.
pub type Written = Result<Report, StoreError>;

impl Write {
    pub fn new(
        what: impl Into<String>,
        job: impl FnOnce(&mut Store) -> Written + Send + 'static,
    ) -> Write {
        Write {
            what: what.into(),
            job: Box::new(job),
        }
    }
}

/// What a finished write asks of the App, applied after the file is read again.
#[derive(Default)]
pub struct Report {
    pub message: Option<Message>,
    /// The row to select (a new operator or source).
    pub select: Option<(Tab, i64)>,
    /// Feed marks the write used up; marks made while it waited stay.
    pub unmark: Vec<i64>,
    /// A dialog to open again (a form the store refused), unless another is open.
    pub reopen: Option<Dialog>,
}

impl Report {
    pub fn info(text: impl Into<String>) -> Report {
        Report {
            message: Some(Message::info(text)),
            ..Report::default()
        }
    }

    pub fn error(text: impl Into<String>) -> Report {
        Report {
            message: Some(Message::error(text)),
            ..Report::default()
        }
    }
}

/// "; 5 waiting contacts routed" after a change that drained the backlog.
pub fn routed_note(routed: usize) -> String {
    match routed {
        0 => String::new(),
        1 => "; 1 waiting contact routed".to_string(),
        n => format!("; {n} waiting contacts routed"),
    }
}
