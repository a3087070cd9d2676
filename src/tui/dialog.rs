//! Modal dialogs: forms, yes/no questions, the operator picker, the feed's filter
//! picker, the lead card and the audit log. A dialog captures every key until it is
//! confirmed or closed; what it returns is typed (a [`FormKind`] with its values, a
//! [`Pending`] change).

use crate::routing::Ineligibility;
use crate::store::{AuditEntry, Contact, LeadWithContacts, Seen, StaleField};

use super::app::{Selection, TextFilter};

#[derive(Debug)]
pub enum Dialog {
    Form(Form),
    Confirm(Confirm),
    Assign(AssignPicker),
    FeedFilter(FilterPicker),
    Lead(LeadCard),
    Audit(AuditView),
}

impl Dialog {
    /// Whether typed characters go into a text field rather than to key bindings.
    pub fn takes_text(&self) -> bool {
        match self {
            Dialog::Form(f) => matches!(
                f.fields.get(f.focus).map(|x| &x.kind),
                Some(FieldKind::Text { .. } | FieldKind::Number { .. })
            ),
            Dialog::Audit(a) => a.filter.editing,
            _ => false,
        }
    }
}

/// What a form creates or changes when confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    AddOperator,
    EditOperator(i64),
    AddSource,
    EditSource(i64),
    /// Source choices are "all" then these source ids, in order.
    Simulate(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text {
        max: usize,
    },
    /// Digits and, when `decimal`, one dot.
    Number {
        decimal: bool,
    },
    Choice {
        options: Vec<String>,
        index: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub label: &'static str,
    pub value: String,
    pub kind: FieldKind,
    /// The value when the form opened (for a choice, its index as text): a save
    /// writes only the fields whose value differs, and expects the file to still
    /// hold this.
    pub original: String,
    /// Typed into (or erased from) since the form opened: the first digit typed
    /// into a pre-filled number replaces it rather than appending to it.
    pub touched: bool,
}

impl Field {
    pub fn text(label: &'static str, value: &str, max: usize) -> Field {
        Field {
            label,
            value: value.to_string(),
            kind: FieldKind::Text { max },
            original: value.to_string(),
            touched: false,
        }
    }

    pub fn number(label: &'static str, value: &str, decimal: bool) -> Field {
        Field {
            label,
            value: value.to_string(),
            kind: FieldKind::Number { decimal },
            original: value.to_string(),
            touched: false,
        }
    }

    pub fn choice(label: &'static str, options: Vec<String>, index: usize) -> Field {
        Field {
            label,
            value: String::new(),
            kind: FieldKind::Choice { options, index },
            original: index.to_string(),
            touched: false,
        }
    }

    /// The text shown for the field's value.
    pub fn shown(&self) -> &str {
        match &self.kind {
            FieldKind::Choice { options, index } => {
                options.get(*index).map(String::as_str).unwrap_or("")
            }
            _ => &self.value,
        }
    }

    /// The value as compared with `original`.
    pub fn current(&self) -> String {
        match &self.kind {
            FieldKind::Choice { index, .. } => index.to_string(),
            _ => self.value.clone(),
        }
    }

    /// Whether the supervisor changed this field since the form opened.
    pub fn edited(&self) -> bool {
        match &self.kind {
            FieldKind::Text { .. } => self.value.trim() != self.original.trim(),
            FieldKind::Number { .. } => {
                self.value.trim().trim_start_matches('0')
                    != self.original.trim().trim_start_matches('0')
            }
            FieldKind::Choice { .. } => self.current() != self.original,
        }
    }

    pub fn choice_index(&self) -> usize {
        match &self.kind {
            FieldKind::Choice { index, .. } => *index,
            _ => 0,
        }
    }

    /// Types one character, if the field takes it.
    pub fn input(&mut self, c: char) {
        match &mut self.kind {
            FieldKind::Text { max } => {
                if self.value.chars().count() < *max && !c.is_control() {
                    self.value.push(c);
                }
            }
            FieldKind::Number { decimal } => {
                if !self.touched && (c.is_ascii_digit() || c == '.') {
                    self.value.clear();
                }
                let ok = c.is_ascii_digit() || (*decimal && c == '.' && !self.value.contains('.'));
                if ok && self.value.len() < 12 {
                    self.value.push(c);
                    self.touched = true;
                }
            }
            FieldKind::Choice { .. } => {}
        }
    }

    pub fn backspace(&mut self) {
        self.value.pop();
        self.touched = true;
    }

    /// Next (`+1`) or previous (`-1`) choice.
    pub fn cycle(&mut self, delta: isize) {
        if let FieldKind::Choice { options, index } = &mut self.kind
            && !options.is_empty()
        {
            let n = options.len() as isize;
            *index = (((*index as isize + delta) % n + n) % n) as usize;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last confirm was refused; the form stays open.
    pub error: Option<String>,
    /// Another writer changed fields this form edits since it opened: each with the
    /// value the form opened with and the value now. The next confirm overwrites.
    pub conflict: Vec<StaleField>,
}

impl Form {
    pub fn new(kind: FormKind, title: impl Into<String>, fields: Vec<Field>) -> Form {
        Form {
            kind,
            title: title.into(),
            fields,
            focus: 0,
            error: None,
            conflict: Vec::new(),
        }
    }

    pub fn value(&self, i: usize) -> &str {
        self.fields.get(i).map(|f| f.value.as_str()).unwrap_or("")
    }
}

/// A change waiting for yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    DeleteOperator {
        id: i64,
        name: String,
    },
    DeleteSource {
        id: i64,
        name: String,
    },
    /// Assign contacts that need a yes first: a reassignment, or an inactive or full
    /// operator (`force`: the store's force path).
    Assign {
        contacts: Vec<(i64, Seen)>,
        operator_id: i64,
        operator: String,
        force: bool,
    },
    /// Close several marked contacts (each with what it was when marked).
    Close {
        contacts: Vec<(i64, Seen)>,
    },
    /// Quit while a simulator runs (it stops).
    Quit,
    /// Stop the demo's simulator.
    StopSimulator,
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    /// Exactly what will change.
    pub lines: Vec<String>,
    pub yes: String,
    pub pending: Pending,
}

#[derive(Debug, Clone)]
pub struct PickRow {
    pub operator_id: i64,
    pub name: String,
    /// Weight for the contacts' source (the smallest, if several sources).
    pub weight: u32,
    pub load: u32,
    pub max_load: u32,
    /// Why routing would not give it the contacts (empty: it would), by the one rule
    /// routing and the store's force check use.
    pub why: Ineligibility,
}

#[derive(Debug, Clone)]
pub struct AssignPicker {
    /// The contacts to assign, with the state the supervisor saw.
    pub contacts: Vec<(i64, Seen)>,
    /// Contacts among them that an operator holds now, and who: assigning them is a
    /// reassignment, which is confirmed first.
    pub held: Vec<(i64, String)>,
    /// Their sources, for eligibility.
    pub sources: Vec<i64>,
    /// e.g. "contact #12 (telegram-bot)" or "3 marked contacts".
    pub subject: String,
    pub rows: Vec<PickRow>,
    pub sel: Selection,
}

#[derive(Debug, Clone)]
pub struct FilterPicker {
    /// (id, label); index 0 is "any".
    pub sources: Vec<(Option<i64>, String)>,
    pub operators: Vec<(Option<i64>, String)>,
    pub statuses: Vec<(Option<crate::domain::ContactStatus>, String)>,
    /// Chosen index per row: source, operator, status.
    pub chosen: [usize; 3],
    pub focus: usize,
}

#[derive(Debug, Clone)]
pub struct LeadCard {
    pub lead: LeadWithContacts,
    /// The contact the card was opened from.
    pub from_contact: i64,
    pub sel: Selection,
}

#[derive(Debug, Clone)]
pub struct AuditView {
    pub entries: Vec<AuditEntry>,
    pub sel: Selection,
    pub filter: TextFilter,
    /// No older entries left to load.
    pub complete: bool,
}

/// A contact's one-line description, for dialog titles.
pub fn contact_subject(c: &Contact) -> String {
    format!("contact #{} from {} ({})", c.id, c.lead, c.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_fields_take_digits_only() {
        let mut f = Field::number("n", "", false);
        for c in "1a2.3".chars() {
            f.input(c);
        }
        assert_eq!(f.value, "123");
        let mut d = Field::number("r", "", true);
        for c in "0.5.1".chars() {
            d.input(c);
        }
        assert_eq!(d.value, "0.51");
    }

    #[test]
    fn typing_into_a_prefilled_number_replaces_it() {
        let mut f = Field::number("max load", "5", false);
        f.input('x');
        assert_eq!(
            f.value, "5",
            "a key the field does not take changes nothing"
        );
        f.input('1');
        f.input('2');
        assert_eq!(f.value, "12");
        // Erasing first edits what is there.
        let mut g = Field::number("max load", "15", false);
        g.backspace();
        g.input('8');
        assert_eq!(g.value, "18");
    }

    #[test]
    fn choices_cycle_both_ways() {
        let mut f = Field::choice("s", vec!["a".into(), "b".into(), "c".into()], 0);
        f.cycle(-1);
        assert_eq!(f.shown(), "c");
        f.cycle(2);
        assert_eq!(f.shown(), "b");
    }
}
