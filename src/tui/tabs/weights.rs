//! The Weights tab: operators by sources, each cell a weight and that weight's share
//! of the source's weights. Digits typed into the selected cell are set with Enter;
//! + and - change it by one, and 0 clears it.

use std::collections::HashMap;

use crate::domain::EntityRef;
use crate::routing::weight_share;
use crate::store::{Operator, Source, Store, StoreError};
use crate::tui::action::Command;
use crate::tui::effect::{Cx, Out, Report, Write};
use crate::tui::layout::{self, TableShape};
use crate::tui::model::{Selection, Tab, TextFilter};

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
    pub col_offset: usize,
    /// Digits typed into the selected cell, set with Enter.
    pub input: String,
    pub filter: TextFilter,
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

    /// A digit typed into the selected cell.
    pub fn type_digit(&mut self, c: char) {
        if c.is_ascii_digit() && self.input.len() < MAX_DIGITS {
            self.input.push(c);
        }
    }

    pub fn command(&mut self, cmd: Command, cx: &mut Cx<'_>) -> Result<Out, StoreError> {
        let rows: Vec<i64> = self.operators.iter().map(|o| o.id).collect();
        let cols: Vec<i64> = self.sources.iter().map(|s| s.id).collect();
        if let Command::Left | Command::Right = cmd {
            let visible =
                layout::weight_columns(layout::weights_grid(cx.area, self.filter.is_shown()));
            self.input.clear();
            self.col
                .step(if cmd == Command::Left { -1 } else { 1 }, &cols);
            self.col.scroll(visible);
            return Ok(Out::none());
        }
        if self.row.navigate(cmd, self.page(cx.area), &rows) {
            self.input.clear();
            return Ok(Out::none());
        }
        let cell = match (self.row.id, self.col.id) {
            (Some(op), Some(src)) => Some((op, src)),
            _ => None,
        };
        match cmd {
            Command::Back => {
                if !self.input.is_empty() {
                    self.input.clear();
                } else if !self.filter.text.is_empty() {
                    self.filter = TextFilter::default();
                    self.load(cx.store)?;
                }
                Ok(Out::none())
            }
            Command::Set | Command::Increase | Command::Decrease | Command::Clear => {
                let Some((op, src)) = cell else {
                    return Ok(Out::error(
                        "no cell selected: add operators and sources first",
                    ));
                };
                Ok(self.set(cmd, op, src))
            }
            _ => Ok(Out::none()),
        }
    }

    /// The new weight of the selected cell, written if the file still holds the one
    /// on screen.
    fn set(&mut self, cmd: Command, op: i64, src: i64) -> Out {
        let current = self.weight(op, src);
        let new = match cmd {
            Command::Set => {
                let typed = std::mem::take(&mut self.input);
                if typed.is_empty() {
                    return Out::error("type a weight (digits), then Enter");
                }
                match typed.parse::<u32>() {
                    Ok(w) => w,
                    Err(_) => return Out::error(format!("'{typed}' is not a weight")),
                }
            }
            Command::Increase => current.saturating_add(1),
            Command::Decrease => current.saturating_sub(1),
            _ => 0,
        };
        self.input.clear();
        if new == current {
            return Out::info(format!("weight stays {current}"));
        }
        Out::write(Write::new("saving a weight", move |store| {
            let w = store.set_weight_seen(&EntityRef::Id(op), &EntityRef::Id(src), new, current)?;
            Ok(Report::info(format!(
                "weight {} x {}: {current} -> {}",
                w.operator, w.source, w.weight
            )))
        }))
    }
}
