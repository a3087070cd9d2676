//! The shape of the house, read from the code: no file in `src/` imports one that
//! imports it back (through `use` lines and `crate::` / `super::` paths), no file
//! grows past the size a newcomer can read, and only `settings.rs` reads the
//! environment. Known exceptions are listed below with
//! why they are still there; the test fails on any new one, and on an exception that
//! is gone (so the list shrinks with the code).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Circles that exist today, as the set of files in each: none. A new one fails the
/// test; break it rather than list it here.
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// Longest file, in lines.
const MAX_LINES: usize = 600;

/// Files over [`MAX_LINES`] today: none. Split a file rather than list it here.
const KNOWN_LONG: &[&str] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` but `main.rs` (the binary, a crate of its own), by
/// path relative to `src/`.
fn files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if rel != "main.rs" {
                    out.push(rel);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &src(), &mut out);
    out.sort();
    out
}

/// The module path of a file: `store/contacts.rs` -> [store, contacts];
/// `store/mod.rs` -> [store]; `lib.rs` -> [].
fn module_of(file: &str) -> Vec<String> {
    let mut segs: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
        segs.pop();
    }
    segs
}

/// The file of a module path, if it has one.
fn file_of(module: &[String], known: &BTreeSet<String>) -> Option<String> {
    if module.is_empty() {
        return Some("lib.rs".into());
    }
    let base = module.join("/");
    [format!("{base}.rs"), format!("{base}/mod.rs")]
        .into_iter()
        .find(|f| known.contains(f))
}

/// The code of a file without comments, string literals and its test module.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            c => out.push(c),
        }
    }
    out
}

/// The paths a `use` tree names: `a::{b, c::{d, e as f}}` -> a::b, a::c::d, a::c::e,
/// each with the name it is known by.
fn expand(tree: &str) -> Vec<(Vec<String>, String)> {
    fn split_top(s: &str) -> Vec<&str> {
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        parts
    }
    // `a as b` keeps its meaning once the spaces go.
    let tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let tree: String = tree
        .replace(" as ", "@")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = Vec::new();
    for part in split_top(&tree) {
        if part.is_empty() {
            continue;
        }
        if let Some(open) = part.find('{') {
            let prefix: Vec<String> = part[..open]
                .trim_end_matches("::")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let inner = &part[open + 1..part.len() - 1];
            for (p, name) in expand(inner) {
                let mut full = prefix.clone();
                full.extend(p);
                out.push((full, name));
            }
        } else {
            let (path, alias) = match part.split_once('@') {
                Some((p, a)) => (p, Some(a)),
                None => (part, None),
            };
            let segs: Vec<String> = path.split("::").map(String::from).collect();
            let name = alias
                .map(String::from)
                .unwrap_or_else(|| segs.last().cloned().unwrap_or_default());
            out.push((segs, name));
        }
    }
    out
}

/// `use` trees of a file's code, with whether each is `pub`.
fn use_trees(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let at_start = before
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        let public = before.trim_end().ends_with("pub") || before.trim_end().ends_with(')');
        let after = &rest[i + 4..];
        match after.find(';') {
            Some(end) if at_start => {
                out.push((public, after[..end].to_string()));
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    out
}

/// `crate::a::b` and `super::a` paths written inside code (not in `use` lines).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            let ok_before = rest[..i]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if ok_before {
                out.push(
                    tail[..end]
                        .trim_end_matches(':')
                        .split("::")
                        .map(String::from)
                        .collect(),
                );
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}

struct House {
    known: BTreeSet<String>,
    /// file -> the names it re-exports (`pub use`) and the absolute paths they are.
    exports: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// file -> the absolute module paths it names.
    names: BTreeMap<String, Vec<Vec<String>>>,
}

/// An import path as an absolute module path, from the module `here`.
fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            b.pop();
            b
        }
        _ => return None, // another crate (std, serde, ...)
    };
    let mut rest = &path[1..];
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn read_house() -> House {
    let files = files();
    let known: BTreeSet<String> = files.iter().cloned().collect();
    let mut exports = BTreeMap::new();
    let mut names = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        let code = code(&text);
        let here = module_of(f);
        let mut named = Vec::new();
        let mut exported = Vec::new();
        // The module's own children may be named without `self::` in a use tree.
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("pub ").unwrap_or(l);
                let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
                l.strip_prefix("mod ")
                    .map(|m| m.trim_end_matches(';').to_string())
            })
            .collect();
        for (public, tree) in use_trees(&code) {
            for (path, name) in expand(&tree) {
                let path = if path.first().is_some_and(|p| children.contains(p)) {
                    let mut p = vec!["self".to_string()];
                    p.extend(path);
                    p
                } else {
                    path
                };
                if let Some(abs) = absolute(&path, &here) {
                    if public {
                        exported.push((name, abs.clone()));
                    }
                    named.push(abs);
                }
            }
        }
        for p in inline_paths(&code) {
            if let Some(abs) = absolute(&p, &here) {
                named.push(abs);
            }
        }
        exports.insert(f.clone(), exported);
        names.insert(f.clone(), named);
    }
    House {
        known,
        exports,
        names,
    }
}

impl House {
    /// The file an absolute path names: its longest module prefix with a file,
    /// followed through that module's re-exports when the rest is an item it
    /// re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        for n in (0..=path.len()).rev() {
            if let Some(file) = file_of(&path[..n], &self.known) {
                if depth < 8
                    && let Some(item) = path.get(n)
                    && let Some((_, target)) =
                        self.exports[&file].iter().find(|(name, _)| name == item)
                {
                    return self.resolve(target, depth + 1).or(Some(file));
                }
                return Some(file);
            }
        }
        None
    }

    /// file -> files it imports: not itself, and not its own descendants (a module
    /// declaring and re-exporting its children is how Rust builds a tree).
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, named) in &self.names {
            let here = module_of(file);
            let set = out.entry(file.clone()).or_default();
            for p in named {
                let Some(target) = self.resolve(p, 0) else {
                    continue;
                };
                let there = module_of(&target);
                let descendant = there.len() > here.len() && there.starts_with(&here);
                if target != *file && !descendant {
                    set.insert(target);
                }
            }
        }
        out
    }
}

/// Strongly connected groups of more than one file (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            if let Some(ws) = self.edges.get(v) {
                for w in ws {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let l = self.low[w].min(self.low[v]);
                        self.low.insert(v, l);
                    } else if self.on.contains(w) {
                        let l = self.index[w].min(self.low[v]);
                        self.low.insert(v, l);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    group.insert(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.out.push(group);
                }
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let house = read_house();
    let edges = house.edges();
    // The reader must see the imports at all: a few that exist today.
    for (from, to) in [
        ("server/api/contacts.rs", "store/mod.rs"),
        ("store/contacts.rs", "store/roster.rs"),
        ("store/contacts.rs", "store/intake.rs"),
        ("tui/views/chrome.rs", "tui/app/mod.rs"),
        ("tui/app/dialogs.rs", "tui/tabs/feed/mod.rs"),
        ("intake/writer.rs", "store/intake.rs"),
    ] {
        assert!(
            edges.get(from).is_some_and(|t| t.contains(to)),
            "{from} -> {to} not seen; {from} imports {:?}",
            edges.get(from)
        );
    }
    let found = circles(&edges);
    let known: Vec<BTreeSet<String>> = KNOWN_CIRCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<&BTreeSet<String>> = found
        .iter()
        .filter(|c| !known.iter().any(|k| c.is_subset(k)))
        .collect();
    assert!(
        new.is_empty(),
        "import circles (files that import each other, directly or around): {new:#?}"
    );
    for k in &known {
        assert!(
            found.iter().any(|c| c == k),
            "the known circle {k:?} changed or is gone: update KNOWN_CIRCLES ({found:#?})"
        );
    }
}

#[test]
fn files_stay_short() {
    let mut long = Vec::new();
    for f in files() {
        let lines = std::fs::read_to_string(src().join(&f))
            .unwrap()
            .lines()
            .count();
        if lines > MAX_LINES {
            long.push(f);
        }
    }
    let known: Vec<String> = KNOWN_LONG.iter().map(|s| s.to_string()).collect();
    let new: Vec<&String> = long.iter().filter(|f| !known.contains(f)).collect();
    assert!(new.is_empty(), "files over {MAX_LINES} lines: {new:?}");
    let gone: Vec<&String> = known.iter().filter(|f| !long.contains(f)).collect();
    assert!(
        gone.is_empty(),
        "now under {MAX_LINES} lines, remove from KNOWN_LONG: {gone:?}"
    );
}

/// What reads the process environment: variables, and the config dir (`dirs` reads
/// `$HOME` and `$XDG_CONFIG_HOME`). Only `settings.rs` may; everything else is handed
/// a `Settings`, so each variable is read once and its error named in one place.
const READS_ENVIRONMENT: &[&str] = &["std::env", "env::var", "var_os", "dirs::"];

#[test]
fn only_settings_reads_the_environment() {
    let mut readers = BTreeMap::new();
    for f in files().into_iter().chain(["main.rs".to_string()]) {
        let code = code(&std::fs::read_to_string(src().join(&f)).unwrap());
        let found: Vec<&str> = READS_ENVIRONMENT
            .iter()
            .copied()
            .filter(|p| code.contains(p))
            .collect();
        if !found.is_empty() {
            readers.insert(f, found);
        }
    }
    // settings.rs itself is seen, so the search finds what it looks for.
    assert!(
        readers.contains_key("settings.rs"),
        "settings.rs no longer seen reading the environment: {readers:?}"
    );
    readers.remove("settings.rs");
    assert!(
        readers.is_empty(),
        "only src/settings.rs reads the environment; take the value from `Settings`: {readers:?}"
    );
}
