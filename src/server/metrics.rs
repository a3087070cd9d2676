//! `GET /metrics` in Prometheus text format: request counts and latency by route,
//! contacts taken and routed by this server, and from the file the waiting contacts
//! per source and each operator's load and max_load.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    taken: AtomicU64,
    routed: AtomicU64,
    /// (method, route, status) -> latency series.
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    pub fn contact_taken(&self, routed: bool) {
        self.taken.fetch_add(1, Ordering::Relaxed);
        if routed {
            self.routed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The text exposition, with the file's gauges given by the caller.
    pub fn render(
        &self,
        sources: &[(String, u32, u32)],
        operators: &[(String, u32, u32, bool)],
    ) -> String {
        let mut out = String::new();
        // One family: its HELP and TYPE lines, then a sample per (labels, value).
        let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let by = |key: &str, name: &str| format!("{{{key}=\"{}\"}}", label(name));
        family(
            "switchboard_contacts_taken_total",
            "counter",
            "Contacts this server took in.",
            vec![(
                String::new(),
                self.taken.load(Ordering::Relaxed).to_string(),
            )],
        );
        family(
            "switchboard_contacts_routed_total",
            "counter",
            "Contacts this server took in that got an operator at once.",
            vec![(
                String::new(),
                self.routed.load(Ordering::Relaxed).to_string(),
            )],
        );
        family(
            "switchboard_source_waiting",
            "gauge",
            "Contacts waiting for an operator, per source.",
            sources
                .iter()
                .map(|(n, w, _)| (by("source", n), w.to_string()))
                .collect(),
        );
        family(
            "switchboard_source_contacts_total",
            "counter",
            "Contacts received per source (all processes).",
            sources
                .iter()
                .map(|(n, _, t)| (by("source", n), t.to_string()))
                .collect(),
        );
        family(
            "switchboard_operator_load",
            "gauge",
            "Open contacts an operator holds.",
            operators
                .iter()
                .map(|(n, l, _, _)| (by("operator", n), l.to_string()))
                .collect(),
        );
        family(
            "switchboard_operator_max_load",
            "gauge",
            "An operator's load limit.",
            operators
                .iter()
                .map(|(n, _, m, _)| (by("operator", n), m.to_string()))
                .collect(),
        );
        family(
            "switchboard_operator_active",
            "gauge",
            "1 if the operator takes contacts.",
            operators
                .iter()
                .map(|(n, _, _, a)| (by("operator", n), u8::from(*a).to_string()))
                .collect(),
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE switchboard_http_requests_total counter");
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((m, r, s), series) in map.iter() {
            let _ = writeln!(
                out,
                "switchboard_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {}",
                label(r),
                series.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_http_request_duration_seconds Request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE switchboard_http_request_duration_seconds histogram"
        );
        for ((m, r, s), series) in map.iter() {
            let l = format!("method=\"{m}\",route=\"{}\",status=\"{s}\"", label(r));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "switchboard_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    series.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_sum{{{l}}} {}",
                series.sum
            );
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_count{{{l}}} {}",
                series.count
            );
        }
        out
    }
}

/// A label value as the text format wants it: backslash, quote and newline escaped;
/// other control characters dropped.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}
