//! The Sources tab: every source with its strategy and counters, a `/` filter, a sort
//! by any column, and beside it the selected source's operators: the share of the weights each was
//! given, the chance each has of the next contact now, and the share each actually
//! got of the last 200 routed contacts.

use crate::domain::EntityRef;
use crate::routing::{Candidate, chances};
use crate::store::{Source, SourcePatch, SourceStats, Store, StoreError};
use crate::tui::action::Command;
use crate::tui::effect::{Cx, Out, Report, Write};
use crate::tui::keymap::Context;
use crate::tui::layout::{self, TableShape};
use crate::tui::model::{Selection, Sort, SortColumn, Tab, TextFilter, key_label};
use crate::tui::overlays::Dialog;
use crate::tui::overlays::confirm::{Confirm, Pending};
use crate::tui::overlays::form::Form;

/// Routed contacts the chart looks back on.
pub const CHART_WINDOW: usize = 200;

#[derive(Debug, Default)]
pub struct SourcesTab {
    pub all: Vec<Source>,
    pub rows: Vec<Source>,
    pub sel: Selection,
    pub filter: TextFilter,
    /// The selected source's operators: configured share against the actual share of
    /// its last 200 routed contacts.
    pub chart: Option<SourceStats>,
    /// Per operator of `chart`, in its order: the chance of the next contact now.
    pub chances: Vec<f64>,
    pub sort: Sort<SourceColumn>,
}

/// What the Sources table can be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceColumn {
    #[default]
    Name,
    Strategy,
    Waiting,
    Today,
    Total,
}

impl SortColumn for SourceColumn {
    const ALL: &'static [SourceColumn] = &[
        SourceColumn::Name,
        SourceColumn::Strategy,
        SourceColumn::Waiting,
        SourceColumn::Today,
        SourceColumn::Total,
    ];

    fn name(self) -> &'static str {
        match self {
            SourceColumn::Name => "name",
            SourceColumn::Strategy => "strategy",
            SourceColumn::Waiting => "waiting",
            SourceColumn::Today => "today",
            SourceColumn::Total => "total",
        }
    }

    fn descending_first(self) -> bool {
        matches!(
            self,
            SourceColumn::Waiting | SourceColumn::Today | SourceColumn::Total
        )
    }
}

/// Two sources on one column, ascending.
fn compare(column: SourceColumn, a: &Source, b: &Source) -> std::cmp::Ordering {
    match column {
        // The file's order.
        SourceColumn::Name => std::cmp::Ordering::Equal,
        SourceColumn::Strategy => a.strategy.as_str().cmp(b.strategy.as_str()),
        SourceColumn::Waiting => a.waiting.cmp(&b.waiting),
        SourceColumn::Today => a.today.cmp(&b.today),
        SourceColumn::Total => a.total.cmp(&b.total),
    }
}

impl SourcesTab {
    pub fn load(&mut self, store: &mut Store) -> Result<(), StoreError> {
        self.all = store.sources()?;
        self.arrange();
        self.load_chart(store)
    }

    /// The rows the filter keeps, in the sort's order, the selection on the same
    /// source.
    fn arrange(&mut self) {
        let filter = &self.filter;
        self.rows = self.sort.rows(
            &self.all,
            |s| filter.matches(&[&s.name, &s.description]),
            compare,
        );
        let ids: Vec<i64> = self.rows.iter().map(|s| s.id).collect();
        self.sel.sync(&ids);
    }

    pub fn load_chart(&mut self, store: &mut Store) -> Result<(), StoreError> {
        self.chart = match self.sel.id {
            Some(id) => store.recent_shares(id, CHART_WINDOW)?,
            None => None,
        };
        self.chances = match &self.chart {
            Some(chart) => {
                let operators = store.operators()?;
                let candidates: Vec<Candidate> = chart
                    .operators
                    .iter()
                    .map(|o| {
                        let op = operators.iter().find(|x| x.id == o.operator_id);
                        Candidate {
                            operator_id: o.operator_id,
                            active: op.is_some_and(|x| x.active),
                            weight: o.weight,
                            load: op.map_or(0, |x| x.load),
                            max_load: op.map_or(0, |x| x.max_load),
                        }
                    })
                    .collect();
                chances(chart.strategy, &candidates)
            }
            None => Vec::new(),
        };
        Ok(())
    }

    pub fn page(&self, area: ratatui::layout::Rect) -> usize {
        layout::table_page(
            area,
            Tab::Sources,
            TableShape {
                filter: self.filter.is_shown(),
                detail: false,
                rows: self.rows.len(),
            },
        )
    }

    pub fn command(&mut self, cmd: Command, cx: &mut Cx<'_>) -> Result<Out, StoreError> {
        let ids: Vec<i64> = self.rows.iter().map(|s| s.id).collect();
        if self.sel.navigate(cmd, self.page(cx.area), &ids) {
            self.load_chart(cx.store)?;
            return Ok(Out::none());
        }
        let selected = self.rows.get(self.sel.cursor).cloned();
        let out = match cmd {
            Command::Back if !self.filter.text.is_empty() => {
                self.filter = TextFilter::default();
                self.load(cx.store)?;
                Out::none()
            }
            Command::Sort | Command::Reverse => {
                let reverse = key_label(cx.keymap, Context::Sources, Command::Reverse);
                let said = self.sort.apply(cmd, &reverse);
                self.arrange();
                self.sel.scroll(self.page(cx.area));
                Out::info(said)
            }
            Command::Add => Out::open(Dialog::Form(Form::add_source())),
            Command::Edit => match selected {
                Some(s) => Out::open(Dialog::Form(Form::edit_source(&s))),
                None => Out::nothing_selected("source"),
            },
            Command::CycleStrategy => match selected {
                Some(s) => Out::write(next_strategy(s)),
                None => Out::nothing_selected("source"),
            },
            Command::Delete => match selected {
                Some(s) => ask_delete(s),
                None => Out::nothing_selected("source"),
            },
            _ => Out::none(),
        };
        Ok(out)
    }
}

/// The next strategy, if the source still has the one on screen.
fn next_strategy(s: Source) -> Write {
    Write::new(format!("saving source '{}'", s.name), move |store| {
        let after = store.update_source_seen(
            &EntityRef::Id(s.id),
            &SourcePatch {
                strategy: Some(s.strategy.next()),
                ..Default::default()
            },
            &SourcePatch {
                strategy: Some(s.strategy),
                ..Default::default()
            },
        )?;
        Ok(Report::info(format!(
            "'{}' strategy {} -> {}",
            after.name, s.strategy, after.strategy
        )))
    })
}

/// A source with contacts cannot go; one without is asked about first.
fn ask_delete(s: Source) -> Out {
    if let Some(refused) = s.in_use() {
        return Out::error(refused.to_string());
    }
    Out::open(Dialog::Confirm(Confirm {
        title: "Delete source".into(),
        lines: vec![
            format!("Delete source '{}'?", s.name),
            "It has no contacts; its weights are removed with it.".into(),
        ],
        yes: "delete".into(),
        pending: Pending::DeleteSource {
            id: s.id,
            name: s.name.clone(),
        },
    }))
}

/// The confirmed delete.
pub fn delete(id: i64, name: String) -> Write {
    Write::new(format!("deleting source '{name}'"), move |store| {
        store.delete_source(&EntityRef::Id(id))?;
        Ok(Report::info(format!("source '{name}' deleted")))
    })
}
