//! What can happen to the App: bindable commands (the keymap's vocabulary) and the
//! few inputs that are not keys bound by name (typed text, ticks, resizes).

use std::fmt;

/// A named thing a key can do. Which ones exist in which context, with their help
/// text, is the table in [`crate::tui::keymap::BINDABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    // global
    Quit,
    Help,
    TabOperators,
    TabSources,
    TabWeights,
    TabFeed,
    NextTab,
    PrevTab,
    Simulate,
    Audit,
    // navigation (tables, lists, dialogs)
    Up,
    Down,
    Left,
    Right,
    First,
    Last,
    PageUp,
    PageDown,
    Filter,
    Back,
    // views
    Open,
    Add,
    Edit,
    ToggleActive,
    Increase,
    Decrease,
    Delete,
    CycleStrategy,
    Clear,
    Assign,
    Close,
    Reopen,
    Mark,
    MarkAll,
    ClearMarks,
    WaitingOnly,
    PickFilter,
    Drain,
    /// Sort a table by its next column.
    Sort,
    /// Reverse a table's sort, or the feed's order.
    Reverse,
    // dialogs
    Confirm,
    Yes,
    NextField,
    PrevField,
}

impl Command {
    /// Whether the command changes the file (refused with `--read-only`).
    pub fn edits(self) -> bool {
        matches!(
            self,
            Command::Add
                | Command::Edit
                | Command::ToggleActive
                | Command::Increase
                | Command::Decrease
                | Command::Delete
                | Command::CycleStrategy
                | Command::Clear
                | Command::Assign
                | Command::Close
                | Command::Reopen
                | Command::Drain
                | Command::Simulate
        )
    }
}

/// One step of the App's life. Keys become actions through the keymap; the event
/// loop adds ticks and resizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Command(Command),
    /// A character typed into a text field, a filter or a weight cell.
    Input(char),
    /// Deletes the last typed character.
    Backspace,
    /// The terminal has a new size.
    Resize(u16, u16),
    /// ~200 ms passed: poll for other processes' changes, the simulator, expiring
    /// highlights.
    Tick,
    /// A write running in the background finished.
    WriteDone,
}

impl From<Command> for Action {
    fn from(c: Command) -> Self {
        Action::Command(c)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
