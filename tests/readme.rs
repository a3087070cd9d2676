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
