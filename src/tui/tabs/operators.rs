//! The Operators tab: every operator with load and limit, a `/` filter, a sort by any
//! column, and the detail pane (weights by source, open contacts). Commands edit,
//! toggle, change the limit by one, add and delete.

use std::collections::HashMap;

use crate::domain::EntityRef;
use crate::routing::weight_share;
use crate::store::{Contact, Operator, OperatorPatch, Store, StoreError};
use crate::tui::action::Command;
use crate::tui::effect::{Cx, Out, Report, Write, routed_note};
use crate::tui::keymap::Context;
use crate::tui::layout::{self, TableShape};
use crate::tui::model::{Selection, Sort, SortColumn, Tab, TextFilter, key_label};
use crate::tui::overlays::Dialog;
use crate::tui::overlays::confirm::{Confirm, Pending};
use crate::tui::overlays::form::Form;

#[derive(Debug, Default)]
pub struct OperatorsTab {
    pub all: Vec<Operator>,
    pub rows: Vec<Operator>,
    pub sel: Selection,
    pub filter: TextFilter,
    pub detail_open: bool,
    pub detail: Option<OperatorDetail>,
    pub sort: Sort<OperatorColumn>,
}

/// What the Operators table can be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OperatorColumn {
    #[default]
    Name,
    Active,
    Load,
    MaxLoad,
    Sources,
    Today,
}

impl SortColumn for OperatorColumn {
    const ALL: &'static [OperatorColumn] = &[
        OperatorColumn::Name,
        OperatorColumn::Active,
        OperatorColumn::Load,
        OperatorColumn::MaxLoad,
        OperatorColumn::Sources,
        OperatorColumn::Today,
    ];

    fn name(self) -> &'static str {
        match self {
            OperatorColumn::Name => "name",
            OperatorColumn::Active => "active",
            OperatorColumn::Load => "load",
            OperatorColumn::MaxLoad => "max load",
            OperatorColumn::Sources => "sources",
            OperatorColumn::Today => "today",
        }
    }

    fn descending_first(self) -> bool {
        self != OperatorColumn::Name
    }
}

/// Two operators on one column, ascending.
fn compare(column: OperatorColumn, a: &Operator, b: &Operator) -> std::cmp::Ordering {
    match column {
        // The file's order.
        OperatorColumn::Name => std::cmp::Ordering::Equal,
        OperatorColumn::Active => a.active.cmp(&b.active),
        OperatorColumn::Load => a.load.cmp(&b.load),
        OperatorColumn::MaxLoad => a.max_load.cmp(&b.max_load),
        OperatorColumn::Sources => a.sources.cmp(&b.sources),
        OperatorColumn::Today => a.assigned_today.cmp(&b.assigned_today),
    }
}

#[derive(Debug, Clone)]
pub struct OperatorDetail {
    pub operator_id: i64,
    /// (source, weight, the weight's share of the source's weights).
    pub weights: Vec<(String, u32, f64)>,
    pub open: Vec<Contact>,
}

impl OperatorsTab {
    pub fn load(&mut self, store: &mut Store) -> Result<(), StoreError> {
        self.all = store.operators()?;
        self.arrange();
        self.load_detail(store)
    }

    /// The rows the filter keeps, in the sort's order, the selection on the same
    /// operator.
    fn arrange(&mut self) {
        let filter = &self.filter;
        self.rows = self
            .sort
            .rows(&self.all, |o| filter.matches(&[&o.name]), compare);
        let ids: Vec<i64> = self.rows.iter().map(|o| o.id).collect();
        self.sel.sync(&ids);
    }

    pub fn load_detail(&mut self, store: &mut Store) -> Result<(), StoreError> {
        self.detail = match (self.detail_open, self.sel.id) {
            (true, Some(id)) => {
                let all = store.weights()?;
                let mut totals: HashMap<i64, u64> = HashMap::new();
                for w in &all {
                    *totals.entry(w.source_id).or_default() += u64::from(w.weight);
                }
                let weights = all
                    .iter()
                    .filter(|w| w.operator_id == id)
                    .map(|w| {
                        let total = totals.get(&w.source_id).copied().unwrap_or(0);
                        (w.source.clone(), w.weight, weight_share(w.weight, total))
                    })
                    .collect();
                Some(OperatorDetail {
                    operator_id: id,
                    weights,
                    open: store.open_contacts(id, 100)?,
                })
            }
            _ => None,
        };
        Ok(())
    }

    pub fn selected(&self) -> Option<&Operator> {
        self.rows.get(self.sel.cursor)
    }

    pub fn page(&self, area: ratatui::layout::Rect) -> usize {
        layout::table_page(
            area,
            Tab::Operators,
            TableShape {
                filter: self.filter.is_shown(),
                detail: self.detail_open,
                rows: self.rows.len(),
            },
        )
    }

    pub fn command(&mut self, cmd: Command, cx: &mut Cx<'_>) -> Result<Out, StoreError> {
        let ids: Vec<i64> = self.rows.iter().map(|o| o.id).collect();
        if self.sel.navigate(cmd, self.page(cx.area), &ids) {
            self.load_detail(cx.store)?;
            return Ok(Out::none());
        }
        let selected = self.selected().cloned();
        let out = match cmd {
            Command::Back => {
                if !self.filter.text.is_empty() {
                    self.filter = TextFilter::default();
                    self.load(cx.store)?;
                } else {
                    self.detail_open = false;
                    self.detail = None;
                }
                Out::none()
            }
            Command::Open => {
                self.detail_open = !self.detail_open;
                self.load_detail(cx.store)?;
                Out::none()
            }
            Command::Sort | Command::Reverse => {
                let reverse = key_label(cx.keymap, Context::Operators, Command::Reverse);
                let said = self.sort.apply(cmd, &reverse);
                self.arrange();
                self.sel.scroll(self.page(cx.area));
                Out::info(said)
            }
            Command::Add => Out::open(Dialog::Form(Form::add_operator())),
            Command::Edit => match selected {
                Some(op) => Out::open(Dialog::Form(Form::edit_operator(&op))),
                None => Out::nothing_selected("operator"),
            },
            Command::ToggleActive => match selected {
                Some(op) => Out::write(toggle(op)),
                None => Out::nothing_selected("operator"),
            },
            Command::Increase | Command::Decrease => match selected {
                Some(op) => change_limit(op, cmd == Command::Increase),
                None => Out::nothing_selected("operator"),
            },
            Command::Delete => match selected {
                Some(op) => ask_delete(op, cx),
                None => Out::nothing_selected("operator"),
            },
            _ => Out::none(),
        };
        Ok(out)
    }
}

/// Active <-> inactive, if the operator still is what the screen showed.
fn toggle(op: Operator) -> Write {
    Write::new(format!("saving operator '{}'", op.name), move |store| {
        let change = store.change_operator_seen(
            &EntityRef::Id(op.id),
            &OperatorPatch {
                active: Some(!op.active),
                ..Default::default()
            },
            &OperatorPatch {
                active: Some(op.active),
                ..Default::default()
            },
        )?;
        let after = &change.operator;
        Ok(Report::info(format!(
            "'{}' is now {}{}",
            after.name,
            if after.active { "active" } else { "inactive" },
            routed_note(change.routed)
        )))
    })
}

/// Max load up or down by one, from the value on screen.
fn change_limit(op: Operator, up: bool) -> Out {
    let max_load = if up {
        op.max_load.saturating_add(1)
    } else if op.max_load == 0 {
        return Out::error(format!("'{}' already has max load 0", op.name));
    } else {
        op.max_load - 1
    };
    Out::write(Write::new(
        format!("saving operator '{}'", op.name),
        move |store| {
            let change = store.change_operator_seen(
                &EntityRef::Id(op.id),
                &OperatorPatch {
                    max_load: Some(max_load),
                    ..Default::default()
                },
                &OperatorPatch {
                    max_load: Some(op.max_load),
                    ..Default::default()
                },
            )?;
            let after = &change.operator;
            Ok(Report::info(format!(
                "'{}' max load {} -> {}{}",
                after.name,
                op.max_load,
                after.max_load,
                routed_note(change.routed)
            )))
        },
    ))
}

/// An operator holding contacts cannot go; one that can is asked about first.
fn ask_delete(op: Operator, cx: &Cx<'_>) -> Out {
    if let Some(refused) = op.in_use() {
        let toggle = cx
            .keymap
            .first_key(Context::Operators, Command::ToggleActive)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        return Out::error(format!("{refused}{toggle}"));
    }
    let weights = match op.sources {
        0 => "it has no weights".to_string(),
        1 => "its weight in 1 source is removed".to_string(),
        n => format!("its weights in {n} sources are removed"),
    };
    Out::open(Dialog::Confirm(Confirm {
        title: "Delete operator".into(),
        lines: vec![
            format!("Delete operator '{}'?", op.name),
            format!("It holds no open contacts; {weights}."),
            "Its closed contacts stay in the history without an operator.".into(),
        ],
        yes: "delete".into(),
        pending: Pending::DeleteOperator {
            id: op.id,
            name: op.name.clone(),
        },
    }))
}

/// The confirmed delete.
pub fn delete(id: i64, name: String) -> Write {
    Write::new(format!("deleting operator '{name}'"), move |store| {
        store.delete_operator(&EntityRef::Id(id))?;
        Ok(Report::info(format!("operator '{name}' deleted")))
    })
}
