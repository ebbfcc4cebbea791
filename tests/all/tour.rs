//! The README's five-minute tour, as a user types it: `clienthub serve` on a fresh data
//! directory, the two lines it prints pasted, then every command of the tour's block run by
//! bash against the real binary (curl for the webhooks), and what each step promises checked.

use crate::partner::{plugin_target_dir, workspace};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The host the tour runs against; stopped when the test ends, however it ends.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The tour's shell block from the README.
fn tour_block() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let tour = &readme[readme.find("## A five-minute tour").expect("the tour")..];
    let block = &tour[tour.find("```sh\n").expect("its shell block") + 6..];
    block[..block.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_tour_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["examples", "plugins"] {
        std::os::unix::fs::symlink(workspace().join(folder), dir.path().join(folder)).unwrap();
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_clienthub"), bin.join("clienthub")).unwrap();

    // `clienthub serve`, as the tour's first terminal runs it, and the lines it prints.
    let mut serve = Serving(
        Command::new(env!("CARGO_BIN_EXE_clienthub"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env_remove("CLIENTHUB_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(serve.0.stdout.take().unwrap()).lines();
    let mut exports = Vec::new();
    while exports.len() < 2 {
        let line = lines.next().expect("serve printed its export lines").unwrap();
        if line.trim_start().starts_with("export ") {
            exports.push(line.trim().to_string());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert!(exports[0].starts_with("export CLIENTHUB_URL=http://127.0.0.1:"), "{exports:?}");
    let data_dir = dir.path().canonicalize().unwrap().join("clienthub-data");
    assert_eq!(exports[1], format!("export CLIENTHUB_DATA_DIR={}", data_dir.display()));

    // The block, with the README's two export lines replaced by what serve printed.
    let block = tour_block();
    let mut pasted = 0;
    let script: Vec<String> = block
        .lines()
        .map(|line| match line {
            l if l.starts_with("export CLIENTHUB_URL=") => (exports[0].clone(), pasted += 1).0,
            l if l.starts_with("export CLIENTHUB_DATA_DIR=") => (exports[1].clone(), pasted += 1).0,
            l => l.to_string(),
        })
        .collect();
    assert_eq!(pasted, 2, "the tour starts with the two lines serve prints:\n{block}");
    let cargo_bin = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        [bin, cargo_bin].into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = Command::new("bash")
        .args(["-c", &format!("set -euo pipefail\n{}", script.join("\n"))])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", plugin_target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CLIENTHUB_ADMIN_TOKEN")
        .env("RUST_LOG", "warn")
        .output()
        .expect("bash and curl (the tour's tools)");
    drop(serve);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the tour stopped:\n{stdout}\n{stderr}");

    // Step 1, 2 and 3: imported, accepted with the appeal's id, routed to returns.
    assert!(stdout.contains("imported 2 regions, 2 departments, 3 employees, 2 topics"), "{stdout}");
    assert!(stdout.contains("HTTP/1.1 200") && stdout.contains("x-clienthub-appeal: "), "{stdout}");
    let header = stdout.lines().find_map(|l| l.strip_prefix("x-clienthub-appeal: ")).unwrap();
    let id = header.trim();
    // The JSON the CLI printed (appeals show, plugin config), in order.
    let printed: Vec<serde_json::Value> = stdout
        .match_indices("\n{\n")
        .filter_map(|(at, _)| serde_json::Deserializer::from_str(&stdout[at..]).into_iter().next()?.ok())
        .collect();
    let shown: Vec<&serde_json::Value> = printed.iter().filter(|v| v["id"] == id).collect();
    assert_eq!(shown.len(), 2, "appeals show, twice: {stdout}");
    let refund = shown[0];
    assert_eq!(refund["decision"]["queue"], "returns", "{refund}");
    assert_eq!(refund["decision"]["topic"], "refund");
    // Step 4: the contest photo is listed as dropped.
    let dropped = stdout.split("STATUS").nth(2).expect("the dropped list (step 4)");
    assert!(
        dropped.lines().nth(1).is_some_and(|l| l.contains("dropped") && l.contains("#конкурс")),
        "{stdout}"
    );
    // Step 5: the new router routed the next appeal.
    assert!(stdout.contains("created router `my-router`"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.contains("routed") && l.contains("returns") && l.contains("Верните деньги"))
    );
    // Step 6 and 7: rules-router is back; the reply is on the appeal, with its outcome.
    assert!(stdout.contains("rules-router: activated 0.1.1; active 0.1.1"), "{stdout}");
    assert!(stdout.contains("\"bot_token\": \"••••ours\""), "the bot token is masked: {stdout}");
    assert_eq!(shown[1]["replies"][0]["text"], "Заказ в пути", "{}", shown[1]);
}
