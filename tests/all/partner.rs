//! A partner developer's first hour, as they live it: `clienthub plugin new` for each kind
//! against the SDK as `cargo package` packs it, the crate's own tests, `clienthub plugin build`,
//! upload and activation through the CLI (the router replace guard, development uploads), and
//! one appeal through the three plugins.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where every plugin crate of these tests builds: their dependencies compile once.
pub fn plugin_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-crates")
}

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `command`; its output, whether it succeeded or not.
pub fn run(command: &mut Command) -> Output {
    command
        .env("CARGO_TARGET_DIR", plugin_target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("RUST_LOG", "warn")
        .env_remove("CLIENTHUB_ADMIN_TOKEN")
        .output()
        .unwrap()
}

/// Runs `command`, which must succeed; its stdout.
pub fn ok(command: &mut Command) -> String {
    let output = run(command);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn clienthub() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clienthub"))
}

/// The SDK as `cargo package` packs it, unpacked into `dir`: what a crate outside this
/// repository gets.
fn packaged_sdk(dir: &Path) -> PathBuf {
    let packages = dir.join("packaged");
    ok(Command::new(env!("CARGO"))
        .args(["package", "-p", "clienthub-sdk", "--no-verify", "--allow-dirty", "--offline", "--target-dir"])
        .arg(&packages)
        .current_dir(workspace()));
    let crate_file = std::fs::read_dir(packages.join("package"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "crate"))
        .expect("cargo package made a .crate");
    ok(Command::new("tar").arg("xzf").arg(&crate_file).arg("-C").arg(dir));
    let unpacked = dir.join(crate_file.file_stem().unwrap());
    assert!(unpacked.join("wit/clienthub.wit").exists(), "the WIT travels inside the SDK crate");
    unpacked
}

/// Scaffolds `kind` as `name` in `dir` against `sdk`, runs its tests and builds it: the `.wasm`.
fn scaffold(kind: &str, name: &str, dir: &Path, sdk: &Path) -> PathBuf {
    ok(clienthub().args(["plugin", "new", kind, name, "--dir"]).arg(dir).arg("--sdk").arg(sdk));
    let crate_dir = dir.join(name);
    for file in ["Cargo.toml", "clienthub.json", "src/lib.rs", "README.md"] {
        assert!(crate_dir.join(file).exists(), "{name}: {file}");
    }
    // The versions this workspace was tested with (and has on disk): an offline build.
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let tested = ok(Command::new(env!("CARGO")).arg("test").current_dir(&crate_dir));
    assert!(tested.contains("test result: ok. 2 passed"), "{name}: {tested}");
    build(&crate_dir)
}

/// `clienthub plugin build` in `crate_dir`: the `.wasm` it names.
fn build(crate_dir: &Path) -> PathBuf {
    let built = ok(clienthub().args(["plugin", "build"]).arg(crate_dir));
    let path = PathBuf::from(built.trim().rsplit_once(" (").expect("PATH (N KiB)").0);
    assert!(path.extension().is_some_and(|e| e == "wasm") && path.exists(), "{built}");
    path
}

/// The CLI against `host`, with its admin token.
fn cli(host: &Host, args: &[&str]) -> Output {
    run(clienthub().args(args).args(["--server", &host.base, "--token", TOKEN]))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_scaffolds_builds_tests_uploads_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = packaged_sdk(dir.path());
    let channel = scaffold("channel", "shop-chat", dir.path(), &sdk);
    let filter = scaffold("filter", "ad-filter", dir.path(), &sdk);
    let built = scaffold("router", "refund-router", dir.path(), &sdk);
    // Kept aside: the rebuild below writes the same path.
    let router = dir.path().join("refund-router-first.wasm");
    std::fs::copy(&built, &router).unwrap();
    let size = std::fs::metadata(&router).unwrap().len();
    assert!(size < 600 << 10, "a scaffolded plugin is small ({size} bytes)");

    let host = Host::start();
    for wasm in [&channel, &filter] {
        let uploaded = cli(&host, &["plugin", "upload", wasm.to_str().unwrap(), "--activate"]);
        assert!(uploaded.status.success(), "{}", stderr(&uploaded));
    }
    // The router would replace rules-router: it says so and changes nothing without --replace.
    let guarded = cli(&host, &["plugin", "upload", router.to_str().unwrap(), "--activate"]);
    assert!(!guarded.status.success());
    let said = stderr(&guarded);
    assert!(said.contains("rules-router@0.1.1") && said.contains("--replace"), "{said}");
    let list = String::from_utf8_lossy(&cli(&host, &["plugin", "list", "--json"]).stdout).into_owned();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let active =
        |name: &str| list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["active"].clone();
    assert_eq!(active("rules-router"), "0.1.1", "the guard changed nothing");
    assert!(active("refund-router").is_null());
    let replaced = cli(&host, &["plugin", "activate", "refund-router", "0.1.0", "--replace"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));

    // One appeal through the three: the channel verifies and reads it, the filter keeps it, the
    // router routes it; advertising is dropped with the reason; a wrong secret is refused.
    let secret = host.channel_secret("shop-chat", "secret").await;
    let send = |id: &str, text: &str, secret: &str| {
        let body = serde_json::json!({"message_id": id, "chat_id": id, "name": "Анна", "text": text});
        let secret = secret.to_string();
        let host = &host;
        async move {
            host.hook(
                "shop-chat",
                &[("X-Webhook-Secret", &secret)],
                "application/json",
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    let refund = host.appeal(&appeal_id(&send("m-1", "Хочу вернуть товар", &secret).await)).await;
    assert_eq!(refund.status.name(), "routed");
    assert_eq!(refund.decision.as_ref().unwrap().queue, "returns");
    let stages = stages(&refund);
    for stage in ["received shop-chat@0.1.0", "kept ad-filter@0.1.0", "routed refund-router@0.1.0"] {
        assert!(stages.iter().any(|s| s == stage), "{stage}: {stages:?}");
    }
    let ad = host.appeal(&appeal_id(&send("m-2", "Скидки! #реклама", &secret).await)).await;
    assert_eq!(
        (ad.status.name(), words(&last_event(&ad)).as_str()),
        ("dropped", "advertising hashtag #реклама")
    );
    assert_eq!(send("m-3", "Где заказ?", "guessed-secret-000").await.status, 401);

    // A rebuild of the same version: refused here (a normal host), in place on a --dev host.
    let source = dir.path().join("refund-router/src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("to_queue(\"returns\"", "to_queue(\"refunds\"")).unwrap();
    let rebuilt = build(&dir.path().join("refund-router"));
    let refused = cli(&host, &["plugin", "upload", rebuilt.to_str().unwrap()]);
    assert!(stderr(&refused).contains("bump the version"), "{}", stderr(&refused));
    let refused = cli(&host, &["plugin", "upload", rebuilt.to_str().unwrap(), "--dev"]);
    assert!(stderr(&refused).contains("not started with `serve --dev`"), "{}", stderr(&refused));

    let dev = Host::builder().args(&["--dev"]).start();
    let first = cli(&dev, &["plugin", "upload", router.to_str().unwrap(), "--activate", "--replace"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = cli(&dev, &["plugin", "upload", rebuilt.to_str().unwrap(), "--dev"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("replaced in place"));
    let id = appeal_id(&dev.telegram(&telegram_update(1, 1, "Хочу вернуть товар")).await);
    assert_eq!(dev.appeal(&id).await.decision.unwrap().queue, "refunds", "the new content routes");
    let plugins = dev.api.get_json("/api/plugins").await.unwrap();
    let log =
        plugins.as_array().unwrap().iter().find(|p| p["name"] == "refund-router").unwrap()["log"].to_string();
    assert!(log.contains("development upload replaced 0.1.0"), "{log}");
}
