//! What can be bound: the contexts (sections of the keymap file) and every command
//! with its name in the file, its footer label and its help text.

use super::super::action::Command;

/// Where a binding applies. Sections of the keymap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Navigation,
    Operators,
    Sources,
    Weights,
    Feed,
    Dialog,
}

impl Context {
    pub const ALL: [Context; 7] = [
        Context::Global,
        Context::Navigation,
        Context::Operators,
        Context::Sources,
        Context::Weights,
        Context::Feed,
        Context::Dialog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Navigation => "navigation",
            Context::Operators => "operators",
            Context::Sources => "sources",
            Context::Weights => "weights",
            Context::Feed => "feed",
            Context::Dialog => "dialog",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Navigation => "Moving around",
            Context::Operators => "Operators tab",
            Context::Sources => "Sources tab",
            Context::Weights => "Weights tab",
            Context::Feed => "Feed tab",
            Context::Dialog => "Dialogs",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// One bindable command in one context: its name in the file, its footer hint (if it
/// has one) and its help text.
pub struct Bindable {
    pub context: Context,
    pub command: Command,
    pub name: &'static str,
    pub hint: Option<&'static str>,
    pub help: &'static str,
}

const fn b(
    context: Context,
    command: Command,
    name: &'static str,
    hint: Option<&'static str>,
    help: &'static str,
) -> Bindable {
    Bindable {
        context,
        command,
        name,
        hint,
        help,
    }
}

use Command as C;
use Context as X;

/// Everything a key can be bound to, in help order.
/// Opposite commands the footer shows as one hint, where both are bound and follow
/// each other in [`BINDABLE`]: (context, first, second, the shared label).
pub const PAIRED_HINTS: &[(Context, Command, Command, &str)] = &[
    (
        Context::Operators,
        Command::Increase,
        Command::Decrease,
        "max",
    ),
    (Context::Weights, Command::Increase, Command::Decrease, "±1"),
];

pub const BINDABLE: &[Bindable] = &[
    b(
        X::Global,
        C::TabOperators,
        "tab_operators",
        None,
        "Operators tab",
    ),
    b(X::Global, C::TabSources, "tab_sources", None, "Sources tab"),
    b(X::Global, C::TabWeights, "tab_weights", None, "Weights tab"),
    b(X::Global, C::TabFeed, "tab_feed", None, "Feed tab"),
    b(X::Global, C::NextTab, "next_tab", None, "next tab"),
    b(X::Global, C::PrevTab, "prev_tab", None, "previous tab"),
    b(
        X::Global,
        C::Simulate,
        "simulate",
        Some("simulate"),
        "start or stop the contact simulator",
    ),
    b(
        X::Global,
        C::Audit,
        "audit",
        Some("audit"),
        "audit log: who changed what",
    ),
    b(X::Global, C::Help, "help", Some("help"), "this help"),
    b(X::Global, C::Quit, "quit", Some("quit"), "quit"),
    b(X::Navigation, C::Up, "up", None, "move up"),
    b(X::Navigation, C::Down, "down", None, "move down"),
    b(
        X::Navigation,
        C::Left,
        "left",
        None,
        "move left (Weights), previous choice",
    ),
    b(
        X::Navigation,
        C::Right,
        "right",
        None,
        "move right (Weights), next choice",
    ),
    b(
        X::Navigation,
        C::First,
        "first",
        None,
        "first row (the feed: back to the top)",
    ),
    b(X::Navigation, C::Last, "last", None, "last row"),
    b(X::Navigation, C::PageUp, "page_up", None, "page up"),
    b(X::Navigation, C::PageDown, "page_down", None, "page down"),
    b(
        X::Navigation,
        C::Filter,
        "filter",
        Some("filter"),
        "filter the table by text",
    ),
    b(
        X::Navigation,
        C::Back,
        "back",
        None,
        "close, clear the filter, cancel",
    ),
    b(
        X::Operators,
        C::Open,
        "open",
        Some("detail"),
        "show or hide the operator's detail pane",
    ),
    b(X::Operators, C::Add, "add", Some("add"), "add an operator"),
    b(
        X::Operators,
        C::Edit,
        "edit",
        Some("edit"),
        "edit name and max load",
    ),
    b(
        X::Operators,
        C::ToggleActive,
        "toggle_active",
        Some("active"),
        "switch active / inactive",
    ),
    b(
        X::Operators,
        C::Increase,
        "increase",
        Some("max+"),
        "max load + 1",
    ),
    b(
        X::Operators,
        C::Decrease,
        "decrease",
        Some("max-"),
        "max load - 1",
    ),
    b(
        X::Operators,
        C::Delete,
        "delete",
        Some("delete"),
        "delete (asks first)",
    ),
    b(
        X::Operators,
        C::Sort,
        "sort",
        Some("sort"),
        "sort by the next column (the header marks it ▲ or ▼)",
    ),
    b(
        X::Operators,
        C::Reverse,
        "reverse",
        None,
        "reverse the sort",
    ),
    b(X::Sources, C::Add, "add", Some("add"), "add a source"),
    b(
        X::Sources,
        C::Edit,
        "edit",
        Some("edit"),
        "edit name and description",
    ),
    b(
        X::Sources,
        C::CycleStrategy,
        "cycle_strategy",
        Some("strategy"),
        "next routing strategy",
    ),
    b(
        X::Sources,
        C::Delete,
        "delete",
        Some("delete"),
        "delete (asks first)",
    ),
    b(
        X::Sources,
        C::Sort,
        "sort",
        Some("sort"),
        "sort by the next column (the header marks it ▲ or ▼)",
    ),
    b(X::Sources, C::Reverse, "reverse", None, "reverse the sort"),
    b(
        X::Weights,
        C::Edit,
        "edit",
        Some("edit"),
        "edit the cell: digits, then Enter sets, Esc cancels",
    ),
    b(
        X::Weights,
        C::Increase,
        "increase",
        Some("+1"),
        "weight + 1",
    ),
    b(
        X::Weights,
        C::Decrease,
        "decrease",
        Some("-1"),
        "weight - 1",
    ),
    b(
        X::Weights,
        C::Clear,
        "clear",
        Some("clear"),
        "clear the cell (weight 0)",
    ),
    b(
        X::Feed,
        C::Open,
        "open",
        Some("lead"),
        "lead card: the lead and all its contacts",
    ),
    b(
        X::Feed,
        C::Assign,
        "assign",
        Some("assign"),
        "assign to an operator (marked rows too)",
    ),
    b(
        X::Feed,
        C::Close,
        "close",
        Some("close"),
        "close (marked rows too)",
    ),
    b(
        X::Feed,
        C::Reopen,
        "reopen",
        Some("reopen"),
        "reopen a closed contact",
    ),
    b(
        X::Feed,
        C::Mark,
        "mark",
        Some("mark"),
        "mark / unmark the row",
    ),
    b(
        X::Feed,
        C::MarkAll,
        "mark_all",
        None,
        "mark every contact in view",
    ),
    b(
        X::Feed,
        C::ClearMarks,
        "clear_marks",
        None,
        "clear every mark (out of view too)",
    ),
    b(
        X::Feed,
        C::WaitingOnly,
        "waiting_only",
        Some("waiting"),
        "waiting only, on / off",
    ),
    b(
        X::Feed,
        C::PickFilter,
        "pick_filter",
        Some("filters"),
        "filter by source, operator, status",
    ),
    b(
        X::Feed,
        C::Drain,
        "drain",
        Some("route backlog"),
        "route the waiting backlog now",
    ),
    b(
        X::Feed,
        C::Reverse,
        "reverse",
        None,
        "newest or oldest first (the longest waiting on top)",
    ),
    b(X::Dialog, C::Confirm, "confirm", Some("ok"), "confirm"),
    b(X::Dialog, C::Yes, "yes", None, "yes, in a yes/no question"),
    b(X::Dialog, C::NextField, "next_field", None, "next field"),
    b(
        X::Dialog,
        C::PrevField,
        "prev_field",
        None,
        "previous field",
    ),
];
