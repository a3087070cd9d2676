//! How text a person typed into a filter becomes a SQL `LIKE` pattern: the one
//! escaping rule of the feed's and the audit log's searches.

/// `text` as a `LIKE` pattern that finds it anywhere, literally: `%`, `_` and the
/// escape character `\` are escaped, so `50%` finds "50%" and not "500". Match it
/// with `LIKE ? ESCAPE '\'` (ASCII letters then match in either case, as SQLite's
/// `LIKE` does).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::like_pattern;
    use rusqlite::Connection;

    #[test]
    fn wildcards_and_the_escape_character_match_only_themselves() {
        assert_eq!(like_pattern(r"a%b_c\d"), r"%a\%b\_c\\d%");
        assert_eq!(like_pattern(""), "%%");
        let conn = Connection::open_in_memory().unwrap();
        let finds = |haystack: &str, needle: &str| -> bool {
            conn.query_row(
                r"SELECT ?1 LIKE ?2 ESCAPE '\'",
                [haystack, &like_pattern(needle)],
                |r| r.get(0),
            )
            .unwrap()
        };
        for (haystack, needle, found) in [
            ("50% off", "50%", true),
            ("500 off", "50%", false),
            ("a_b", "a_b", true),
            ("axb", "a_b", false),
            (r"C:\tmp", r":\t", true),
            ("C:tmp", r":\t", false),
            (r"a\%b", r"\%", true),
            ("a%b", r"\%", false),
            ("Elif YILMAZ", "yilmaz", true),
            ("anything", "", true),
        ] {
            assert_eq!(finds(haystack, needle), found, "{needle:?} in {haystack:?}");
        }
    }
}
