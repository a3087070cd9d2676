//! The README's command-line examples run as written, through the real binary, on a
//! fresh file.

use std::process::Command;

/// The shell block after the heading `heading` in README.md.
fn block_after(heading: &str) -> String {
    let readme = include_str!("../README.md");
    let from = readme.find(heading).expect("heading in README");
    let rest = &readme[from..];
    let start = rest.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = rest[start..].find("```").expect("end of block");
    rest[start..start + end].to_string()
}

#[test]
fn the_examples_block_runs_on_a_fresh_file() {
    let dir = tempfile::tempdir().unwrap();
    // `switchboard` on the PATH is the binary under test.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_switchboard"), bin.join("switchboard")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = block_after("### Examples");
    let out = Command::new("sh")
        .args(["-e", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("SWITCHBOARD_DB")
        .env("SWITCHBOARD_SEED", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("contact #2 assigned"), "{stdout}");
}

/// Splits a shell command line into words: bare words and single-quoted strings (the
/// only quoting the README's curl examples use).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// The curl examples of "Serve over HTTP" answer 2xx, in order, on a fresh file
/// (replayed with an HTTP client: the test machine need not have curl).
#[test]
fn the_http_examples_answer_as_shown() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(dir.path().join("http.db"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve ended");
        if let Some(i) = line.find("http://") {
            let rest = &line[i..];
            break rest[..rest.find(' ').unwrap()].to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let readme = include_str!("../README.md");
    let from = readme.find("## Serve over HTTP").unwrap();
    let rest = &readme[from..];
    // The second sh block of the section holds the curl examples.
    let first = rest.find("```sh\n").unwrap() + 6;
    let second = rest[first..].find("```sh\n").unwrap() + first + 6;
    let end = rest[second..].find("```").unwrap() + second;
    let block = rest[second..end].replace("\\\n", " ");
    let client = reqwest::blocking::Client::new();
    let mut statuses = Vec::new();
    for cmd in block
        .lines()
        .filter(|l| l.trim_start().starts_with("curl "))
    {
        let w = words(cmd);
        let (mut method, mut url, mut body, mut headers) =
            ("GET".to_string(), String::new(), None, Vec::new());
        let mut i = 1;
        while i < w.len() {
            match w[i].as_str() {
                "-s" => {}
                "-X" => {
                    method = w[i + 1].clone();
                    i += 1;
                }
                "-d" => {
                    body = Some(w[i + 1].clone());
                    i += 1;
                }
                "-H" => {
                    headers.push(w[i + 1].clone());
                    i += 1;
                }
                u => url = u.replace("localhost:8000", base.trim_start_matches("http://")),
            }
            i += 1;
        }
        let mut req = client.request(method.parse().unwrap(), format!("http://{url}"));
        for h in headers {
            let (k, v) = h.split_once(':').unwrap();
            req = req.header(k.trim(), v.trim());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().unwrap();
        let status = resp.status();
        let text = resp.text().unwrap();
        assert!(status.is_success(), "{cmd}\n-> {status} {text}");
        statuses.push(text);
    }
    assert!(statuses.len() >= 8, "{statuses:?}");
    // The story the comments tell: the contact waited, then was assigned and closed.
    assert!(
        statuses[2].contains("\"status\":\"waiting\""),
        "{}",
        statuses[2]
    );
    assert!(
        statuses[4].contains("\"status\":\"active\""),
        "{}",
        statuses[4]
    );
    assert!(
        statuses[5].contains("\"status\":\"closed\""),
        "{}",
        statuses[5]
    );
    server.kill().unwrap();
    let _ = server.wait();
}
