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
        let _ = writeln!(
            out,
            "# HELP switchboard_contacts_taken_total Contacts this server took in."
        );
        let _ = writeln!(out, "# TYPE switchboard_contacts_taken_total counter");
        let _ = writeln!(
            out,
            "switchboard_contacts_taken_total {}",
            self.taken.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_contacts_routed_total Contacts this server took in that got an operator at once."
        );
        let _ = writeln!(out, "# TYPE switchboard_contacts_routed_total counter");
        let _ = writeln!(
            out,
            "switchboard_contacts_routed_total {}",
            self.routed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_source_waiting Contacts waiting for an operator, per source."
        );
        let _ = writeln!(out, "# TYPE switchboard_source_waiting gauge");
        for (name, waiting, _) in sources {
            let _ = writeln!(
                out,
                "switchboard_source_waiting{{source=\"{}\"}} {waiting}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_source_contacts_total Contacts received per source (all processes)."
        );
        let _ = writeln!(out, "# TYPE switchboard_source_contacts_total counter");
        for (name, _, total) in sources {
            let _ = writeln!(
                out,
                "switchboard_source_contacts_total{{source=\"{}\"}} {total}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_operator_load Open contacts an operator holds."
        );
        let _ = writeln!(out, "# TYPE switchboard_operator_load gauge");
        for (name, load, _, _) in operators {
            let _ = writeln!(
                out,
                "switchboard_operator_load{{operator=\"{}\"}} {load}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_operator_max_load An operator's load limit."
        );
        let _ = writeln!(out, "# TYPE switchboard_operator_max_load gauge");
        for (name, _, max, _) in operators {
            let _ = writeln!(
                out,
                "switchboard_operator_max_load{{operator=\"{}\"}} {max}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_operator_active 1 if the operator takes contacts."
        );
        let _ = writeln!(out, "# TYPE switchboard_operator_active gauge");
        for (name, _, _, active) in operators {
            let _ = writeln!(
                out,
                "switchboard_operator_active{{operator=\"{}\"}} {}",
                label(name),
                u8::from(*active)
            );
        }
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
