//! The Weights tab: operators by sources, each cell a weight and that weight's share
//! of the source's weights. Enter (or e) edits the selected cell: digits are typed
//! into it and Enter sets them, Esc drops them; while digits are typed, a key that
//! would leave the cell is refused, so they are never lost unseen. + and - change
//! the selected cell by one, x clears it.

use std::collections::HashMap;

use crate::domain::EntityRef;
use crate::routing::weight_share;
use crate::store::{Operator, Source, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::effect::{Cx, Out, Report, Write};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::layout::{self, TableShape};
use crate::tui::model::{Selection, Tab, TextFilter, key_label};

/// Longest weight typed, in digits (the largest weight is 1,000,000).
const MAX_DIGITS: usize = 7;

#[derive(Debug, Default)]
pub struct WeightsTab {
    pub operators: Vec<Operator>,
    pub sources: Vec<Source>,
    /// (operator id, source id) -> weight; absent means 0.
    pub cells: HashMap<(i64, i64), u32>,
    /// Sum of the weights of each source.
    pub totals: HashMap<i64, u64>,
    pub row: Selection,
    pub col: Selection,
    /// The cell being edited, if any.
    pub edit: Option<CellEdit>,
    pub filter: TextFilter,
}

/// A cell being edited: which one, the weight it showed when the edit began (the
/// write applies only if the file still holds it), and the digits typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellEdit {
    pub operator_id: i64,
    pub source_id: i64,
    pub seen: u32,
    pub typed: String,
}

impl WeightsTab {
    pub fn weight(&self, op: i64, src: i64) -> u32 {
        self.cells.get(&(op, src)).copied().unwrap_or(0)
    }

    /// The weight's share of the source's weights, 0..=1.
    pub fn share(&self, op: i64, src: i64) -> f64 {
        let total = self.totals.get(&src).copied().unwrap_or(0);
        weight_share(self.weight(op, src), total)
    }

    pub fn load(&mut self, store: &mut Store) -> Result<(), StoreError> {
        let ops = store.operators()?;
        let sources = store.sources()?;
        let weights = store.weights()?;
        let filter = &self.filter;
        self.operators = ops
            .into_iter()
            .filter(|o| filter.matches(&[&o.name]))
            .collect();
        self.sources = sources;
        self.cells.clear();
        self.totals.clear();
        for w in weights {
            self.cells.insert((w.operator_id, w.source_id), w.weight);
            *self.totals.entry(w.source_id).or_default() += u64::from(w.weight);
        }
        let rows: Vec<i64> = self.operators.iter().map(|o| o.id).collect();
        let cols: Vec<i64> = self.sources.iter().map(|s| s.id).collect();
        self.row.sync(&rows);
        self.col.sync(&cols);
        Ok(())
    }

    pub fn page(&self, area: ratatui::layout::Rect) -> usize {
        layout::table_page(
            area,
            Tab::Weights,
            TableShape {
                filter: self.filter.is_shown(),
                detail: false,
                rows: self.operators.len(),
            },
        )
    }

    /// The cell being edited when `operator` x `source` is it.
    pub fn edit_of(&self, operator: i64, source: i64) -> Option<&CellEdit> {
        self.edit
            .as_ref()
            .filter(|e| e.operator_id == operator && e.source_id == source)
    }

    /// Digits typed into the cell being edited and not set yet.
    pub fn typed(&self) -> Option<&str> {
        self.edit
            .as_ref()
            .map(|e| e.typed.as_str())
            .filter(|t| !t.is_empty())
    }

    /// Ends an edit without setting it; the digits that were typed, if any.
    pub fn drop_edit(&mut self) -> Option<String> {
        self.edit.take().map(|e| e.typed).filter(|t| !t.is_empty())
    }

    /// After a resize: the selected cell stays in view and the grid shows as many
    /// columns and rows as now fit, scrolling back when the window grew.
    pub fn fit(&mut self, area: ratatui::layout::Rect) {
        let grid = layout::weights_grid(area, self.filter.is_shown());
        self.col
            .fit(layout::weight_columns(grid), self.sources.len());
        self.row.fit(self.page(area), self.operators.len());
    }

    /// A key while a cell is edited. `None`: nothing was typed, so the edit ends and
    /// the key does what it does anywhere else on the tab.
    pub fn edit_action(&mut self, action: &Action, keymap: &Keymap) -> Option<Out> {
        let edit = self.edit.as_mut()?;
        match action {
            Action::Input(c) if c.is_ascii_digit() => {
                if edit.typed.len() < MAX_DIGITS {
                    edit.typed.push(*c);
                    return Some(Out::none());
                }
                return Some(Out::error(format!(
                    "a weight has at most {MAX_DIGITS} digits; {}",
                    unsaved(&edit.typed, keymap)
                )));
            }
            Action::Backspace => {
                edit.typed.pop();
                return Some(Out::none());
            }
            Action::Command(Command::Confirm | Command::Edit) => return Some(self.finish()),
            Action::Command(Command::Back) => {
                let out = match self.drop_edit() {
                    Some(t) => Out::info(format!("typed {t} dropped; the weight stays as it was")),
                    None => Out::info("edit cancelled; the weight stays as it was"),
                };
                return Some(out);
            }
            _ => {}
        }
        if edit.typed.is_empty() {
            self.edit = None;
            return None;
        }
        Some(Out::error(unsaved(&edit.typed, keymap)))
    }

    pub fn command(&mut self, cmd: Command, cx: &mut Cx<'_>) -> Result<Out, StoreError> {
        let rows: Vec<i64> = self.operators.iter().map(|o| o.id).collect();
        let cols: Vec<i64> = self.sources.iter().map(|s| s.id).collect();
        if let Command::Left | Command::Right = cmd {
            let visible =
                layout::weight_columns(layout::weights_grid(cx.area, self.filter.is_shown()));
            self.col
                .step(if cmd == Command::Left { -1 } else { 1 }, &cols);
            self.col.scroll(visible);
            return Ok(Out::none());
        }
        if self.row.navigate(cmd, self.page(cx.area), &rows) {
            return Ok(Out::none());
        }
        let cell = match (self.row.id, self.col.id) {
            (Some(op), Some(src)) => Some((op, src)),
            _ => None,
        };
        match cmd {
            Command::Back => {
                if !self.filter.text.is_empty() {
                    self.filter = TextFilter::default();
                    self.load(cx.store)?;
                }
                Ok(Out::none())
            }
            Command::Edit | Command::Increase | Command::Decrease | Command::Clear => {
                let Some((op, src)) = cell else {
                    return Ok(Out::error(
                        "no cell selected: add operators and sources first",
                    ));
                };
                if cmd == Command::Edit {
                    self.edit = Some(CellEdit {
                        operator_id: op,
                        source_id: src,
                        seen: self.weight(op, src),
                        typed: String::new(),
                    });
                    return Ok(Out::none());
                }
                Ok(self.adjust(cmd, op, src))
            }
            _ => Ok(Out::none()),
        }
    }

    /// Enter on the cell being edited: the typed weight is written if the file still
    /// holds the weight the cell showed when the edit began.
    fn finish(&mut self) -> Out {
        let Some(edit) = self.edit.take_if(|e| !e.typed.is_empty()) else {
            return Out::error("type a weight (digits) first; Esc cancels");
        };
        let CellEdit {
            operator_id: op,
            source_id: src,
            seen,
            typed,
        } = edit;
        match typed.parse::<u32>() {
            Ok(new) => set(op, src, seen, new),
            Err(_) => Out::error(format!("'{typed}' is not a weight")),
        }
    }

    /// + / - / x on the selected cell, from the weight on screen.
    fn adjust(&self, cmd: Command, op: i64, src: i64) -> Out {
        let current = self.weight(op, src);
        let new = match cmd {
            Command::Increase => current.saturating_add(1),
            Command::Decrease => current.saturating_sub(1),
            _ => 0,
        };
        set(op, src, current, new)
    }
}

/// "Enter sets 12, Esc drops it": what to do with digits typed and not set yet.
fn unsaved(typed: &str, keymap: &Keymap) -> String {
    format!(
        "{} sets {typed}, {} drops it",
        key_label(keymap, Context::Dialog, Command::Confirm),
        key_label(keymap, Context::Navigation, Command::Back)
    )
}

/// Writes `new` into a cell if the file still holds `seen` there.
fn set(op: i64, src: i64, seen: u32, new: u32) -> Out {
    if new == seen {
        return Out::info(format!("weight stays {seen}"));
    }
    Out::write(Write::new("saving a weight", move |store| {
        let w = store.set_weight_seen(&EntityRef::Id(op), &EntityRef::Id(src), new, seen)?;
        Ok(Report::info(format!(
            "weight {} x {}: {seen} -> {}",
            w.operator, w.source, w.weight
        )))
    }))
}
