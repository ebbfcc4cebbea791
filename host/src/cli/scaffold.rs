//! `clienthub plugin new` and `clienthub plugin build`: a plugin crate outside any workspace,
//! with a working example of its kind, its tests, a small release profile and a README of the
//! next commands; and the `.wasm` built from it (the `wasm32-wasip2` target installed first when
//! missing). Works offline and without a host.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kinds of plugin a crate can be scaffolded as.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Kind {
    /// A channel adapter: webhooks in, messages out.
    Channel,
    /// A filter: keep, tag or drop an appeal.
    Filter,
    /// A router: the appeal's queue, region, department and candidates.
    Router,
}

/// The SDK of the checkout this binary was built from, when it is still there.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

/// The target plugins are built for.
const TARGET: &str = "wasm32-wasip2";

/// Writes the crate `name` of `kind` into `parent/name`, depending on the SDK at `sdk` (default:
/// the checkout this binary was built from).
pub fn new(kind: Kind, name: &str, parent: &Path, sdk: Option<PathBuf>) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64;
    if !valid {
        bail!(
            "`{name}` cannot name a plugin: lower-case Latin letters, digits and `-`, starting with a letter"
        );
    }
    let sdk = match sdk {
        Some(path) => path,
        None if Path::new(BUILT_SDK).join("Cargo.toml").exists() => PathBuf::from(BUILT_SDK),
        None => bail!("where is the SDK? pass --sdk PATH (the sdk/ folder of a ClientHub checkout)"),
    };
    let sdk = sdk.canonicalize().with_context(|| format!("the SDK at {}", sdk.display()))?;
    if !sdk.join("wit/clienthub.wit").exists() {
        bail!("{} is not the ClientHub SDK (no wit/clienthub.wit in it)", sdk.display());
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let (source, manifest, kind_name, notes) = match kind {
        Kind::Channel => (
            include_str!("scaffold/channel.rs.tmpl"),
            include_str!("scaffold/channel.json"),
            "channel",
            "\nIts webhooks go to `/hooks/<name>`; after activation `clienthub channels` shows the \
             address and the generated secret. Each message is a follow-up of its chat: it joins \
             the chat's open appeal (after the filters keep it) or opens one.\n",
        ),
        Kind::Filter => (
            include_str!("scaffold/filter.rs.tmpl"),
            include_str!("scaffold/filter.json"),
            "filter",
            "\nFilters see new appeals and the follow-ups to open ones; a dropped follow-up is kept \
             as a dropped appeal of its own.\n",
        ),
        Kind::Router => (
            include_str!("scaffold/router.rs.tmpl"),
            include_str!("scaffold/router.json"),
            "router",
            "\nOne router is active at a time: activating this one in place of another asks for \
             `--replace`.\n",
        ),
    };
    let description: String = serde_json::from_str::<serde_json::Value>(manifest)?["description"]
        .as_str()
        .unwrap_or_default()
        .into();
    let wasm = format!("target/{TARGET}/release/{}.wasm", name.replace('-', "_"));
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{type}}", &type_name(name))
            .replace("{{kind}}", kind_name)
            .replace("{{sdk}}", &sdk.display().to_string())
            .replace("{{description}}", &description.replace('"', "'"))
            .replace("{{wasm}}", &wasm)
            .replace("{{kind_notes}}", notes)
    };
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    let files = [
        ("Cargo.toml", fill(include_str!("scaffold/Cargo.toml.tmpl"))),
        ("clienthub.json", manifest.to_string()),
        ("src/lib.rs", fill(source)),
        ("README.md", fill(include_str!("scaffold/README.md.tmpl"))),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text).with_context(|| format!("writing {file}"))?;
    }
    println!("created {kind_name} `{name}` in {}", dir.display());
    println!(
        "next:\n  cd {}\n  cargo test\n  clienthub plugin build\n  clienthub plugin upload {wasm} --activate",
        dir.display()
    );
    Ok(())
}

/// Builds the plugin crate in `dir` for upload, prints the `.wasm`'s path and size, and
/// returns the path.
pub fn build(dir: &Path) -> Result<PathBuf> {
    ensure_target()?;
    let output = Command::new(cargo())
        .args(["build", "--release", "--target", TARGET, "--message-format=json-render-diagnostics"])
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !output.status.success() {
        bail!("the build failed (cargo's messages above)");
    }
    let wasm = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .flat_map(|message| message["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|file| file.as_str().map(PathBuf::from))
        .find(|file| file.extension().is_some_and(|e| e == "wasm"))
        .context("cargo built no .wasm: is this a plugin crate (crate-type cdylib)?")?;
    let size = std::fs::metadata(&wasm)?.len();
    println!("{} ({} KiB)", wasm.display(), size.div_ceil(1024));
    Ok(wasm)
}

/// Installs the `wasm32-wasip2` target through rustup when it is missing.
fn ensure_target() -> Result<()> {
    let Ok(listed) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
        return Ok(()); // No rustup: cargo will say what is missing.
    };
    if String::from_utf8_lossy(&listed.stdout).lines().any(|t| t.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("installing the {TARGET} target (rustup target add {TARGET})");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status().context("running rustup")?;
    if !added.success() {
        bail!("rustup could not add the {TARGET} target");
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `my-shop-chat` → `MyShopChat`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_type_names_and_bad_names_are_refused() {
        assert_eq!(type_name("my-shop-chat"), "MyShopChat");
        let dir = tempfile::tempdir().unwrap();
        for bad in ["My", "1x", "a_b", "", "эх"] {
            assert!(new(Kind::Router, bad, dir.path(), None).is_err(), "{bad}");
        }
    }
}
