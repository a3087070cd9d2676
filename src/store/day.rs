//! What "today" is: the local calendar day (YYYYMMDD) of a time in milliseconds, as
//! SQLite's `localtime` computes it. The operators' "assigned today", the sources'
//! "today", the triggers and intake that keep those counters, and the recount of
//! them all decide the day with this one expression, so writers and readers agree.

/// SQL for the local calendar day (an integer YYYYMMDD) of `$ms`, a SQL expression
/// in milliseconds since the epoch (a column, or `?1` for the current time). A
/// literal, so it can be part of the schema's `&'static str` SQL through `concat!`.
///
/// A day starts at local midnight; the local time zone is the process's (`TZ`, else
/// the system's), as SQLite reads it.
macro_rules! local_day {
    ($ms:literal) => {
        concat!(
            "CAST(strftime('%Y%m%d', ",
            $ms,
            " / 1000, 'unixepoch', 'localtime') AS INTEGER)"
        )
    };
}
pub(crate) use local_day;

#[cfg(test)]
mod tests {
    use chrono::{Local, NaiveDate, TimeZone};
    use rusqlite::Connection;

    fn day(conn: &Connection, ms: i64) -> i64 {
        conn.query_row(concat!("SELECT ", local_day!("?1")), [ms], |r| r.get(0))
            .unwrap()
    }

    /// The day turns at local midnight, whatever the time zone the test runs in.
    #[test]
    fn the_day_starts_at_local_midnight() {
        let conn = Connection::open_in_memory().unwrap();
        for date in [(2026, 1, 20), (2026, 6, 10), (2026, 12, 31)] {
            let midnight = Local
                .from_local_datetime(
                    &NaiveDate::from_ymd_opt(date.0, date.1, date.2)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                )
                .single()
                .unwrap()
                .timestamp_millis();
            let today = i64::from(date.0) * 10_000 + i64::from(date.1) * 100 + i64::from(date.2);
            assert_eq!(day(&conn, midnight), today);
            assert_eq!(day(&conn, midnight + 60_000), today);
            assert!(
                day(&conn, midnight - 1) < today,
                "{date:?}: 23:59:59.999 is the day before"
            );
        }
    }
}
