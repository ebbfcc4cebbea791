//! The host's architecture as a test, for what cargo cannot see: the crates below the host
//! (model, store, runtime) are kept below it by cargo; inside the host crate, modules import only from
//! layers below their own, and no module path is part of an import cycle. Reads the `use` lines and `crate::…` paths of
//! `host/src` (test modules excluded), so a new upward import fails here with its file named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The host's top-level modules, lowest layer first. A module may import from any layer
/// below its own, never from its own layer or above.
const LAYERS: &[&[&str]] = &[
    // The process: malloc's arenas and trimming, files private by default.
    &["memory", "private"],
    // The model crate below the host (the appeal, typed events and their words, the directory,
    // working time, the clock, what adapters find, normalisation, refusals), re-exported:
    // cargo keeps it from importing anything of the host.
    &[
        "appeal",
        "event",
        "text",
        "legacy",
        "clock",
        "refusal",
        "calendar",
        "directory",
        "inbound",
        "normalize",
    ],
    // The host's own vocabulary: the API client, at most once a period.
    &["client", "throttle"],
    // Durable state: the store crate (re-exported), whose cluster backend cargo keeps private.
    &["store"],
    // The background workers' lifecycle.
    &["supervisor"],
    &["metrics", "access", "search"],
    // Plugins: engine, calls, conversions, outbound HTTP (the runtime crate, re-exported).
    &["runtime"],
    // Plugin versions and the pipeline snapshot.
    &["registry"],
    // Work on stored appeals (fed by the store): replies, CRM delivery, the dispatcher,
    // shadow and replay.
    &["rollout", "work", "replies", "delivery", "media"],
    // The intake: adapter, filters, router, storage.
    &["pipeline"],
    &["reports"],
    &["http"],
    &["server"],
    &["bench"],
];

/// Module path (`pipeline::ingest`) → source, for every file under `host/src` but the crate
/// roots.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            // The crate roots, and the binary's own modules (`cli`: a client of the library).
            if parts == ["lib"] || parts == ["main"] || parts.first().is_some_and(|p| p == "cli") {
                continue;
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The source without comments and without its `#[cfg(test)]` part.
fn production_code(source: &str) -> String {
    let code: String =
        source.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    match code.find("#[cfg(test)]") {
        Some(at) => code[..at].to_string(),
        None => code,
    }
}

/// Expands a `use` tree (`crate::{a::{b, c}, d}`) into its paths.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let mut depth = 0;
    let mut items = vec![String::new()];
    for ch in tree.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().unwrap().push(ch);
    }
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let path = |text: &str| -> Vec<String> {
            let mut path = prefix.to_vec();
            let text = text.split(" as ").next().unwrap();
            path.extend(text.split("::").map(str::trim).filter(|p| !p.is_empty()).map(String::from));
            path
        };
        match item.find("::{") {
            Some(at) if item.ends_with('}') => expand(&path(&item[..at]), &item[at + 3..item.len() - 1], out),
            _ => out.push(path(item)),
        }
    }
}

/// The modules each module refers to (not counting its own ancestors).
fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (name, source) in modules {
        let code = production_code(source);
        let mut paths = Vec::new();
        for statement in code.split(';') {
            let statement = statement.trim();
            let Some(at) = statement.find("use ") else { continue };
            let tree = statement[at + 4..].trim();
            if tree.starts_with("crate::") || tree.starts_with("super::") {
                expand(&[], tree, &mut paths);
            }
        }
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest: String =
                code[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            paths.push(rest.split("::").filter(|p| !p.is_empty()).map(String::from).collect());
        }
        let own: Vec<&str> = name.split("::").collect();
        let mut targets = BTreeSet::new();
        for mut path in paths {
            let mut supers = 0;
            while path.first().is_some_and(|p| p == "super") {
                path.remove(0);
                supers += 1;
            }
            let mut absolute: Vec<String> = match (supers, path.first().map(String::as_str)) {
                (0, Some("crate")) => path[1..].to_vec(),
                (0, _) => continue,
                (n, _) => {
                    own[..own.len().saturating_sub(n)].iter().map(|s| s.to_string()).chain(path).collect()
                }
            };
            while !absolute.is_empty() && !modules.contains_key(&absolute.join("::")) {
                absolute.pop();
            }
            let target = absolute.join("::");
            if !target.is_empty() && target != *name && !name.starts_with(&format!("{target}::")) {
                targets.insert(target);
            }
        }
        out.insert(name.clone(), targets);
    }
    out
}

fn layer_of(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top))
        .unwrap_or_else(|| panic!("module `{top}` is in no layer: add it to LAYERS in tests/all/layers.rs"))
}

#[test]
fn the_modules_under_test_are_read() {
    let modules = modules();
    let edges = edges(&modules);
    // The reader understands grouped and nested `use` trees and `super::` paths.
    assert!(edges["pipeline::ingest"].contains("registry"), "{:?}", edges["pipeline::ingest"]);
    assert!(edges["http::hooks"].contains("http::reply"), "{:?}", edges["http::hooks"]);
    assert!(edges["http"].contains("pipeline::intake"), "{:?}", edges["http"]);
}

#[test]
fn imports_go_down_the_layers() {
    let modules = modules();
    let mut upward = Vec::new();
    for (module, targets) in edges(&modules) {
        let (from_top, from) = (module.split("::").next().unwrap().to_string(), layer_of(&module));
        for target in targets {
            let to_top = target.split("::").next().unwrap();
            if to_top != from_top && layer_of(&target) >= from {
                upward.push(format!("{module} → {target}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports at or above their own layer:\n{}", upward.join("\n"));
}

#[test]
fn no_module_is_in_an_import_cycle() {
    let edges = edges(&modules());
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            cycles.push(format!("{} → {module}", path[at..].join(" → ")));
            return;
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for target in &edges[module] {
            visit(target, edges, path, done, cycles);
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
