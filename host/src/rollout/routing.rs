//! The business team's routing bench: **try** a text (and a channel) with the active router and
//! every other uploaded router version, each decision with its reason; and **preview** an edit
//! of the directory over the newest appeals — the active router with the current directory and
//! with the edited one, what would change — before anything is saved.

use crate::appeal::{Appeal, Decision};
use crate::directory::{Directory, extract_ids};
use crate::registry::{Candidate, Registry};
use crate::runtime::{World, convert};
use crate::store::{AppealQuery, Store};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One router version's answer to a trial.
#[derive(Debug, Serialize)]
pub struct Trial {
    /// `name@version`.
    pub router: String,
    /// Whether it is the active router.
    pub active: bool,
    /// Its decision (the reason says why each part).
    pub decision: Option<Decision>,
    /// Its error, when the call failed.
    pub error: Option<String>,
}

/// What the active router and every other uploaded router version decide for `appeal` (a
/// typed-in text, with the directory's identifier patterns applied); the active one first.
///
/// # Errors
/// On storage failure.
pub fn try_routers(registry: &Registry, store: &Store, mut appeal: Appeal) -> Result<Vec<Trial>> {
    let directory = store.directory();
    extract_ids(&directory.patterns, &mut appeal);
    let input = convert::to_wit(&appeal);
    let active = registry.pipeline().router.clone();
    let mut trials = Vec::new();
    if let Some(stage) = &active {
        trials.push(trial(
            &stage.label,
            true,
            registry.runtime().route(&stage.plugin, directory.clone(), &input),
        ));
    }
    for (_, versions) in registry.list()? {
        for record in versions.iter().filter(|r| r.kind == World::Router) {
            let label = record.label();
            if active.as_ref().is_some_and(|a| a.label == label) {
                continue;
            }
            match registry.candidate(&record.name, &record.version) {
                Ok(Candidate::Router(stage)) => {
                    let answer = registry.runtime().route(&stage.plugin, directory.clone(), &input);
                    trials.push(trial(&label, false, answer));
                }
                Ok(Candidate::Filter(_)) => {}
                Err(e) => trials.push(Trial {
                    router: label,
                    active: false,
                    decision: None,
                    error: Some(e.to_string()),
                }),
            }
        }
    }
    Ok(trials)
}

fn trial<E: std::fmt::Display>(
    label: &str,
    active: bool,
    answer: Result<crate::runtime::wit::Decision, E>,
) -> Trial {
    match answer {
        Ok(decision) => {
            Trial { router: label.into(), active, decision: Some(convert::decision(decision)), error: None }
        }
        Err(e) => Trial { router: label.into(), active, decision: None, error: Some(e.to_string()) },
    }
}

/// What an edit of the directory would change, over the newest appeals.
#[derive(Debug, Default, Serialize)]
pub struct Preview {
    /// The active router (`name@version`).
    pub router: String,
    /// Appeals routed both ways.
    pub compared: usize,
    /// Of those, the ones whose topic, region, department or queue would change.
    pub changed: usize,
    /// Appeals per topic: now and with the edit.
    pub topics: Vec<Count>,
    /// Appeals per region: now and with the edit.
    pub regions: Vec<Count>,
    /// Appeals per department: now and with the edit.
    pub departments: Vec<Count>,
    /// Up to 20 appeals that would change, newest first.
    pub examples: Vec<Change>,
}

/// A value's appeals now and with the edit (`-`: none).
#[derive(Debug, Serialize)]
pub struct Count {
    /// The topic, region or department id.
    pub value: String,
    /// Appeals now.
    pub now: usize,
    /// Appeals with the edit.
    pub edited: usize,
}

/// One appeal the edit would route differently.
#[derive(Debug, Serialize)]
pub struct Change {
    /// The appeal.
    pub appeal: String,
    /// The start of its text.
    pub text: String,
    /// The decision now.
    pub now: Option<Decision>,
    /// The decision with the edit.
    pub edited: Option<Decision>,
}

/// Routes the newest `last` appeals (dropped ones aside) with the active router, once with the
/// stored directory and once with `edited`, and counts what would change. Nothing is saved.
///
/// # Errors
/// On storage failure; when no router is active.
pub fn preview(registry: &Registry, store: &Store, edited: Directory, last: usize) -> Result<Preview> {
    let Some(router) = registry.pipeline().router.clone() else { anyhow::bail!("no router is active") };
    let (current, edited) = (store.directory(), Arc::new(edited));
    let runtime = registry.runtime();
    let route = |directory: &Arc<Directory>, appeal: &Appeal| {
        let mut appeal = appeal.clone();
        // The identifiers each directory's patterns find, from the message as it came.
        appeal.metadata.retain(|(key, _)| !current.patterns.iter().any(|p| &p.key == key));
        extract_ids(&directory.patterns, &mut appeal);
        runtime
            .route(&router.plugin, directory.clone(), &convert::to_wit(&appeal))
            .ok()
            .map(convert::decision)
    };
    let mut preview = Preview { router: router.label.clone(), ..Preview::default() };
    let mut counts: [BTreeMap<String, (usize, usize)>; 3] = Default::default();
    let mut before = None;
    while preview.compared < last {
        let page = store.list_appeals(
            &AppealQuery::default(),
            before.as_deref(),
            200.min(last - preview.compared),
        )?;
        let Some(oldest) = page.last() else { break };
        before = Some(oldest.id.clone());
        for appeal in page.iter().filter(|a| a.status != crate::appeal::Status::Dropped) {
            let (now, with_edit) = (route(&current, appeal), route(&edited, appeal));
            preview.compared += 1;
            let parts = |d: &Option<Decision>| {
                let part =
                    |f: fn(&Decision) -> Option<String>| d.as_ref().and_then(f).unwrap_or_else(|| "-".into());
                [part(|d| d.topic.clone()), part(|d| d.region.clone()), part(|d| d.department.clone())]
            };
            let (a, b) = (parts(&now), parts(&with_edit));
            for (i, map) in counts.iter_mut().enumerate() {
                map.entry(a[i].clone()).or_default().0 += 1;
                map.entry(b[i].clone()).or_default().1 += 1;
            }
            let queue = |d: &Option<Decision>| d.as_ref().map(|d| d.queue.clone());
            if a != b || queue(&now) != queue(&with_edit) {
                preview.changed += 1;
                if preview.examples.len() < 20 {
                    let text = appeal.text.chars().take(120).collect();
                    preview.examples.push(Change { appeal: appeal.id.clone(), text, now, edited: with_edit });
                }
            }
        }
    }
    let [topics, regions, departments] = counts
        .map(|map| map.into_iter().map(|(value, (now, edited))| Count { value, now, edited }).collect());
    (preview.topics, preview.regions, preview.departments) = (topics, regions, departments);
    Ok(preview)
}
