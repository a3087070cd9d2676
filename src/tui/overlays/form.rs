//! A form: fields typed into, one focused, confirmed with Enter. It adds or edits an
//! operator or a source, or starts the simulator. An edit writes only the fields the
//! supervisor changed, and only if the file still holds what the form opened with.

use crate::domain::{EntityRef, MAX_DESCRIPTION, MAX_ENTITY_NAME, Strategy};
use crate::sim::{Plan, SourceMix};
use crate::store::{Operator, OperatorPatch, Source, SourcePatch, StaleField, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{Hints, Tab, cycle, key_label, special_label};

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
        if let FieldKind::Choice { options, index } = &mut self.kind {
            *index = cycle(*index, options.len(), delta);
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

/// What a key did to an open form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormStep {
    Stay,
    Cancel,
    /// Enter: the App calls [`Form::submit`].
    Submit,
}

/// What confirming a form does.
pub enum Submission {
    /// Nothing differs from what the form opened with.
    Unchanged,
    /// A store write, described for the status bar.
    Write(String, FormJob),
    /// Start the simulator with this plan.
    Simulate(Plan),
}

/// What a form's write reports when it worked.
pub struct Saved {
    pub message: String,
    /// The row to select afterwards (a new operator or source).
    pub select: Option<(Tab, i64)>,
}

/// A form's store write.
pub type FormJob = Box<dyn FnOnce(&mut Store) -> Result<Saved, StoreError> + Send>;

impl Form {
    pub fn add_operator() -> Form {
        Form::new(
            FormKind::AddOperator,
            "Add operator",
            vec![
                Field::text("Name", "", MAX_ENTITY_NAME),
                Field::number("Max load", "5", false),
            ],
        )
    }

    pub fn edit_operator(op: &Operator) -> Form {
        Form::new(
            FormKind::EditOperator(op.id),
            format!("Edit operator '{}'", op.name),
            vec![
                Field::text("Name", &op.name, MAX_ENTITY_NAME),
                Field::number("Max load", &op.max_load.to_string(), false),
            ],
        )
    }

    pub fn add_source() -> Form {
        Form::new(
            FormKind::AddSource,
            "Add source",
            vec![
                Field::text("Name", "", MAX_ENTITY_NAME),
                Field::text("Description", "", MAX_DESCRIPTION),
                strategy_field(0),
            ],
        )
    }

    pub fn edit_source(s: &Source) -> Form {
        let index = Strategy::ALL
            .iter()
            .position(|x| *x == s.strategy)
            .unwrap_or(0);
        Form::new(
            FormKind::EditSource(s.id),
            format!("Edit source '{}'", s.name),
            vec![
                Field::text("Name", &s.name, MAX_ENTITY_NAME),
                Field::text("Description", &s.description, MAX_DESCRIPTION),
                strategy_field(index),
            ],
        )
    }

    /// The simulator's form: all sources by the configured mix, or one of `sources`.
    pub fn simulate(sources: &[Source]) -> Form {
        let mut options = vec!["all, by the configured mix".to_string()];
        options.extend(sources.iter().map(|s| s.name.clone()));
        Form::new(
            FormKind::Simulate(sources.iter().map(|s| s.id).collect()),
            "Simulate contacts",
            vec![
                Field::choice("Source", options, 0),
                Field::number("Count", "100", false),
                Field::number("Rate per second", "5", true),
                Field::number("Repeat leads (0-1)", "0.2", true),
            ],
        )
    }

    /// One key.
    pub fn handle(&mut self, action: &Action) -> FormStep {
        let n = self.fields.len();
        let focused = self.fields.get_mut(self.focus);
        match action {
            Action::Input(c) => {
                if let Some(f) = focused {
                    f.input(*c);
                }
            }
            Action::Backspace => {
                if let Some(f) = focused {
                    f.backspace();
                }
            }
            Action::Command(Command::Back) => return FormStep::Cancel,
            Action::Command(Command::NextField | Command::Down) => {
                self.focus = cycle(self.focus, n, 1)
            }
            Action::Command(Command::PrevField | Command::Up) => {
                self.focus = cycle(self.focus, n, -1)
            }
            Action::Command(Command::Right) => {
                if let Some(f) = focused {
                    f.cycle(1);
                }
            }
            Action::Command(Command::Left) => {
                if let Some(f) = focused {
                    f.cycle(-1);
                }
            }
            Action::Command(Command::Confirm) => {
                // A confirm with a conflict in view saves over the other writer's
                // values: the form already expects them (see `expect_now`).
                self.conflict.clear();
                return FormStep::Submit;
            }
            _ => {}
        }
        FormStep::Stay
    }

    /// Another writer changed these fields since the form opened: the form shows both
    /// values, and the next save expects what the file holds now, so a third change
    /// in between is caught again.
    pub fn expect_now(&mut self, changes: Vec<StaleField>) {
        for c in &changes {
            if let Some(f) = self
                .fields
                .iter_mut()
                .find(|f| f.label.eq_ignore_ascii_case(c.field))
            {
                f.original = match &f.kind {
                    FieldKind::Choice { options, .. } => options
                        .iter()
                        .position(|o| *o == c.now)
                        .unwrap_or(0)
                        .to_string(),
                    _ => c.now.clone(),
                };
            }
        }
        self.conflict = changes;
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'static> {
        let confirm = key_label(km, Context::Dialog, Command::Confirm);
        vec![
            (
                confirm,
                if matches!(self.kind, FormKind::Simulate(_)) {
                    "start"
                } else {
                    "save"
                },
            ),
            (
                key_label(km, Context::Dialog, Command::NextField),
                "next field",
            ),
            (
                format!(
                    "{}/{}",
                    special_label(km, Context::Navigation, Command::Left),
                    special_label(km, Context::Navigation, Command::Right)
                ),
                "choose",
            ),
            (key_label(km, Context::Navigation, Command::Back), "cancel"),
        ]
    }

    /// What confirming the form does. A value that does not parse is refused here,
    /// before anything is written.
    pub fn submit(&self, store: &mut Store) -> Result<Submission, StoreError> {
        let form = self;
        let whole = |label: &str, v: &str| -> Result<u32, StoreError> {
            v.trim().parse::<u32>().map_err(|_| {
                StoreError::Invalid(crate::domain::DomainError::new(format!(
                    "{label} must be a whole number"
                )))
            })
        };
        let decimal = |label: &str, v: &str| -> Result<f64, StoreError> {
            v.trim().parse::<f64>().map_err(|_| {
                StoreError::Invalid(crate::domain::DomainError::new(format!(
                    "{label} must be a number"
                )))
            })
        };
        let strategy = |form: &Form| {
            Strategy::ALL
                .get(form.fields.get(2).map_or(0, Field::choice_index))
                .copied()
                .unwrap_or_default()
        };
        match &form.kind {
            FormKind::AddOperator => {
                let max_load = whole("max load", form.value(1))?;
                let name = form.value(0).to_string();
                Ok(Submission::Write(
                    format!("adding operator '{name}'"),
                    Box::new(move |store: &mut Store| {
                        let op = store.add_operator(&name, max_load, true)?;
                        Ok(Saved {
                            message: format!(
                                "operator '{}' added (max load {})",
                                op.name, op.max_load
                            ),
                            select: Some((Tab::Operators, op.id)),
                        })
                    }),
                ))
            }
            FormKind::EditOperator(id) => {
                // Only the fields the supervisor changed are written, and only if the
                // file still holds what the form opened with.
                let (mut patch, mut seen) = (OperatorPatch::default(), OperatorPatch::default());
                if form.fields[0].edited() {
                    patch.name = Some(form.value(0).to_string());
                    seen.name = Some(form.fields[0].original.clone());
                }
                if form.fields[1].edited() {
                    patch.max_load = Some(whole("max load", form.value(1))?);
                    seen.max_load = Some(whole("max load", &form.fields[1].original)?);
                }
                if patch == OperatorPatch::default() {
                    return Ok(Submission::Unchanged);
                }
                let id = *id;
                Ok(Submission::Write(
                    "saving an operator".to_string(),
                    Box::new(move |store: &mut Store| {
                        let op = store.update_operator_seen(&EntityRef::Id(id), &patch, &seen)?;
                        Ok(Saved {
                            message: format!("operator '{}' saved", op.name),
                            select: None,
                        })
                    }),
                ))
            }
            FormKind::AddSource => {
                let (name, description, strategy) = (
                    form.value(0).to_string(),
                    form.value(1).to_string(),
                    strategy(form),
                );
                Ok(Submission::Write(
                    format!("adding source '{name}'"),
                    Box::new(move |store: &mut Store| {
                        let s = store.add_source(&name, &description, strategy)?;
                        Ok(Saved {
                            message: format!("source '{}' added ({})", s.name, s.strategy),
                            select: Some((Tab::Sources, s.id)),
                        })
                    }),
                ))
            }
            FormKind::EditSource(id) => {
                let (mut patch, mut seen) = (SourcePatch::default(), SourcePatch::default());
                if form.fields[0].edited() {
                    patch.name = Some(form.value(0).to_string());
                    seen.name = Some(form.fields[0].original.clone());
                }
                if form.fields[1].edited() {
                    patch.description = Some(form.value(1).to_string());
                    seen.description = Some(form.fields[1].original.clone());
                }
                if form.fields[2].edited() {
                    patch.strategy = Some(strategy(form));
                    seen.strategy = form.fields[2]
                        .original
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| Strategy::ALL.get(i).copied());
                }
                if patch == SourcePatch::default() {
                    return Ok(Submission::Unchanged);
                }
                let id = *id;
                Ok(Submission::Write(
                    "saving a source".to_string(),
                    Box::new(move |store: &mut Store| {
                        let s = store.update_source_seen(&EntityRef::Id(id), &patch, &seen)?;
                        Ok(Saved {
                            message: format!("source '{}' saved", s.name),
                            select: None,
                        })
                    }),
                ))
            }
            FormKind::Simulate(source_ids) => {
                let choice = form.fields.first().map_or(0, Field::choice_index);
                let mix = match choice {
                    0 => SourceMix::resolve(store, &[])?,
                    i => SourceMix {
                        sources: source_ids.get(i - 1).copied().into_iter().collect(),
                        weights: vec![1],
                    },
                };
                let plan = Plan {
                    count: u64::from(whole("count", form.value(1))?),
                    rate: Some(decimal("rate", form.value(2))?),
                    mix,
                    repeat: decimal("repeat", form.value(3))?,
                    seed: None,
                };
                Ok(Submission::Simulate(plan))
            }
        }
    }
}

fn strategy_field(index: usize) -> Field {
    Field::choice(
        "Strategy",
        Strategy::ALL.iter().map(|s| s.to_string()).collect(),
        index,
    )
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
