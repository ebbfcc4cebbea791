//! `clienthub bench --routing`: the first-party rules router's accuracy on a labelled corpus
//! of appeals written as customers write them (`examples/routing-corpus.jsonl`, routed by
//! `examples/routing-directory.json`), by word forms and by substrings: precision and recall
//! per topic, topic and region accuracy. The router runs in process, as the host runs it.

use crate::appeal::Appeal;
use crate::directory::{Directory, extract_ids};
use crate::runtime::{AnyPlugin, Grants, Limits, Runtime, World, convert};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One labelled appeal.
#[derive(Deserialize)]
struct Labelled {
    text: String,
    channel: String,
    topic: Option<String>,
    region: Option<String>,
}

/// A topic's counts: appeals it was given rightly, wrongly, and missed.
#[derive(Default)]
struct Counts {
    right: usize,
    wrong: usize,
    missed: usize,
}

/// Runs the routing benchmark over the corpus and directory in `examples` and prints the figures.
///
/// # Errors
/// When the files cannot be read or the router cannot be loaded.
pub fn run(examples: &Path) -> Result<()> {
    let read = |name: &str| {
        std::fs::read_to_string(examples.join(name))
            .with_context(|| format!("reading {}", examples.join(name).display()))
    };
    let directory: Directory = serde_json::from_str(&read("routing-directory.json")?)?;
    let directory = Arc::new(directory.validated().map_err(|p| anyhow::anyhow!("{}", p.join("; ")))?);
    let corpus: Vec<Labelled> = read("routing-corpus.jsonl")?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("routing-corpus.jsonl: a line is not a labelled appeal")?;
    let dir = tempfile::tempdir()?;
    let runtime =
        Runtime::new(&dir.path().join("compiled"), Limits::default(), Arc::new(crate::clock::SystemClock))?;
    let bytes = clienthub_artifacts::FIRST_PARTY
        .iter()
        .find(|(name, _)| *name == "rules-router")
        .context("rules-router is not embedded")?
        .1;
    let component = runtime.compile("rules-router", bytes)?;
    println!(
        "Routing accuracy — {} labelled appeals ({} with a topic, {} with a region), {} topics, {} regions",
        corpus.len(),
        corpus.iter().filter(|c| c.topic.is_some()).count(),
        corpus.iter().filter(|c| c.region.is_some()).count(),
        directory.topics.len(),
        directory.regions.len()
    );
    for (name, config) in
        [("by word forms", r#"{"matching":"word-forms"}"#), ("by substrings", r#"{"matching":"substrings"}"#)]
    {
        let grants = Grants {
            label: format!("rules-router ({name})").into(),
            kv: None,
            directory: true,
            config: config.into(),
            outbound_hosts: Arc::new([]),
        };
        let AnyPlugin::Router(router) = runtime.load(&component, World::Router, grants)? else {
            anyhow::bail!("rules-router is not a router")
        };
        let mut topics: BTreeMap<String, Counts> = BTreeMap::new();
        let (mut topic_right, mut region_right) = (0, 0);
        for labelled in &corpus {
            let mut appeal = Appeal {
                id: "bench".into(),
                channel: labelled.channel.clone(),
                text: labelled.text.clone(),
                ..Appeal::default()
            };
            extract_ids(&directory.patterns, &mut appeal);
            let decision = runtime
                .route(&router, directory.clone(), &convert::to_wit(&appeal))
                .map(convert::decision)?;
            let (topic, region) = (decision.topic, decision.region);
            topic_right += usize::from(topic == labelled.topic);
            region_right += usize::from(region == labelled.region);
            if let Some(expected) = &labelled.topic {
                let counts = topics.entry(expected.clone()).or_default();
                if topic.as_ref() == Some(expected) { counts.right += 1 } else { counts.missed += 1 }
            }
            if let Some(given) = topic.filter(|t| Some(t) != labelled.topic.as_ref()) {
                topics.entry(given).or_default().wrong += 1;
            }
        }
        let share = |n: usize, of: usize| if of == 0 { 0.0 } else { 100.0 * n as f64 / of as f64 };
        println!(
            "\n{name}: topic right {topic_right}/{n} ({:.1}%), region right {region_right}/{n} ({:.1}%)",
            share(topic_right, corpus.len()),
            share(region_right, corpus.len()),
            n = corpus.len()
        );
        println!("  {:<12} {:>9} {:>7}  (right / given wrongly / missed)", "topic", "precision", "recall");
        for (topic, c) in &topics {
            println!(
                "  {topic:<12} {:>8.1}% {:>6.1}%  ({} / {} / {})",
                share(c.right, c.right + c.wrong),
                share(c.right, c.right + c.missed),
                c.right,
                c.wrong,
                c.missed
            );
        }
    }
    Ok(())
}
