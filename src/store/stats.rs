//! Distribution statistics: per source and operator, the configured weight and share
//! against the actual count and share of routed contacts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::models::parse_strategy;
use super::{Result, Store};
use crate::domain::Strategy;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorShare {
    pub operator_id: i64,
    pub operator: String,
    pub weight: u32,
    /// weight / sum of the source's weights (0..=1): `routing::weight_share`, what was
    /// configured, not the chance of the next contact now (`routing::chances`).
    pub configured_share: f64,
    /// Contacts of this source that went to this operator.
    pub count: u64,
    /// count / contacts of this source that went to any operator (0..=1).
    pub actual_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStats {
    pub source_id: i64,
    pub source: String,
    pub strategy: Strategy,
    pub total: u64,
    pub routed: u64,
    pub waiting: u64,
    pub operators: Vec<OperatorShare>,
}

/// How many of a source's newest contacts the chart of its last N routed ones looks
/// at, as a multiple of N.
const RECENT_SCAN: usize = 5;

/// (source, operator or 0 for deleted operators, its name, contacts routed to it).
type CountRow = (i64, i64, Option<String>, i64);

impl Store {
    /// Statistics of every source over all its contacts, read from the counters of
    /// schema V3 (`source.total`, `source.waiting`, `routed`): the same cost at a
    /// million contacts as at ten.
    pub fn stats(&mut self) -> Result<Vec<SourceStats>> {
        self.shares_query(None)
    }

    /// One source's shares over its last `last_routed` routed contacts only (the
    /// Sources tab chart), looked for among its newest `RECENT_SCAN x last_routed`
    /// contacts: one bounded range of `contact_by_source`, whatever the history. A
    /// backlog of waiting contacts (no operator) newer than the routed ones then
    /// shortens the window instead of making every refresh read the whole backlog.
    pub fn recent_shares(
        &mut self,
        source_id: i64,
        last_routed: usize,
    ) -> Result<Option<SourceStats>> {
        Ok(self
            .shares_query(Some((source_id, last_routed)))?
            .into_iter()
            .next())
    }

    fn shares_query(&mut self, recent: Option<(i64, usize)>) -> Result<Vec<SourceStats>> {
        self.read(|tx| {
            let mut sources: BTreeMap<i64, SourceStats> = BTreeMap::new();
            let mut stmt = tx.prepare_cached(
                "SELECT s.id, s.name, s.strategy, s.waiting, s.total
                 FROM source s WHERE ?1 IS NULL OR s.id = ?1 ORDER BY s.name COLLATE NOCASE",
            )?;
            let mut order = Vec::new();
            let rows = stmt.query_map([recent.map(|r| r.0)], |r| {
                Ok(SourceStats {
                    source_id: r.get(0)?,
                    source: r.get(1)?,
                    strategy: parse_strategy(2, r.get(2)?)?,
                    total: r.get::<_, i64>(4)? as u64,
                    routed: 0,
                    waiting: r.get::<_, i64>(3)? as u64,
                    operators: Vec::new(),
                })
            })?;
            for s in rows {
                let s = s?;
                order.push(s.source_id);
                sources.insert(s.source_id, s);
            }
            // Weights of every operator, then actual counts (operators with a count but
            // no weight any more are listed too).
            let mut stmt = tx.prepare_cached(
                "SELECT w.source_id, o.id, o.name, w.weight FROM weight w
                 JOIN operator o ON o.id = w.operator_id
                 WHERE ?1 IS NULL OR w.source_id = ?1 ORDER BY o.name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([recent.map(|r| r.0)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, u32>(3)?))
            })?;
            for row in rows {
                let (sid, oid, name, weight) = row?;
                if let Some(s) = sources.get_mut(&sid) {
                    s.operators.push(OperatorShare {
                        operator_id: oid,
                        operator: name,
                        weight,
                        configured_share: 0.0,
                        count: 0,
                        actual_share: 0.0,
                    });
                }
            }
            let counts: Vec<CountRow> = match recent {
                // All history: the `routed` counters. A contact whose operator was
                // deleted still counts as routed, under operator 0.
                None => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT r.source_id, r.operator_id, o.name, r.contacts
                         FROM routed r LEFT JOIN operator o ON o.id = r.operator_id
                         WHERE r.contacts > 0",
                    )?;
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect::<rusqlite::Result<_>>()?
                }
                // The last `n` contacts of the source that have an operator now,
                // among its newest `RECENT_SCAN * n`: newest first through
                // `contact_by_source`, never further.
                Some((sid, n)) => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT ?1, t.operator_id, o.name, count(*) FROM
                           (SELECT operator_id FROM
                              (SELECT operator_id FROM contact WHERE source_id = ?1 ORDER BY id DESC LIMIT ?3)
                            WHERE operator_id IS NOT NULL LIMIT ?2) t
                         LEFT JOIN operator o ON o.id = t.operator_id
                         GROUP BY t.operator_id",
                    )?;
                    let n = n.min(i64::MAX as usize / RECENT_SCAN) as i64;
                    stmt.query_map(rusqlite::params![sid, n, n * RECENT_SCAN as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?
                }
            };
            for (sid, oid, name, count) in counts {
                let count = count as u64;
                let Some(s) = sources.get_mut(&sid) else { continue };
                s.routed += count;
                let name = if oid == 0 { Some("(deleted operators)".to_string()) } else { name };
                match s.operators.iter_mut().find(|o| o.operator_id == oid) {
                    Some(o) => o.count += count,
                    None => s.operators.push(OperatorShare {
                        operator_id: oid,
                        operator: name.unwrap_or_else(|| format!("#{oid}")),
                        weight: 0,
                        configured_share: 0.0,
                        count,
                        actual_share: 0.0,
                    }),
                }
            }
            for s in sources.values_mut() {
                let weights: u64 = s.operators.iter().map(|o| u64::from(o.weight)).sum();
                for o in &mut s.operators {
                    o.configured_share = crate::routing::weight_share(o.weight, weights);
                    o.actual_share = if s.routed == 0 { 0.0 } else { o.count as f64 / s.routed as f64 };
                }
                if recent.is_some() {
                    // The chart's total is its window of routed contacts.
                    s.total = s.routed;
                }
            }
            Ok(order.into_iter().filter_map(|id| sources.remove(&id)).collect())
        })
    }
}
