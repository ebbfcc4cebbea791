//! The decide step: an appeal through the filter chain (keep, tag, drop) and the router
//! (queue, region, department, candidates, SLA); a failing plugin puts it in triage with the
//! error.

use crate::appeal::{Appeal, Status};
use crate::event::Event;
use crate::registry::Pipeline;
use crate::runtime::{Runtime, convert, wit};
use crate::store::Store;

impl Pipeline {
    /// Runs an appeal through the filter chain and the router: kept and routed, dropped, or in
    /// triage when a plugin failed.
    pub(super) fn decide(&self, runtime: &Runtime, store: &Store, mut appeal: Appeal) -> Appeal {
        match self.filter(runtime, store, &mut appeal) {
            Filtered::Passed => {}
            Filtered::Dropped => return appeal,
            Filtered::Failed { filter, error } => return triage(appeal, &filter, error, store.now_ms()),
        }
        let directory = store.directory();
        let Some(router) = &self.router else {
            appeal.record(store.now_ms(), None, Event::Unrouted);
            return appeal;
        };
        let decision = runtime.route(&router.plugin, directory.clone(), &convert::to_wit(&appeal));
        self.health.record(&router.label, decision.as_ref().err().map(|e| e.to_string()).as_deref());
        match decision {
            Ok(decision) => {
                appeal.tags.extend(decision.tags.iter().cloned());
                let decision = convert::decision(decision);
                let routed = Event::Routed {
                    queue: decision.queue.clone(),
                    topic: decision.topic.clone(),
                    region: decision.region.clone(),
                    department: decision.department.clone(),
                    reason: decision.reason.clone(),
                };
                appeal.record(store.now_ms(), Some(router.label.clone()), routed);
                appeal.tags.extend(decision_tags(&decision));
                appeal.status = Status::Routed;
                appeal.decision = Some(decision);
                crate::work::sla::start(&mut appeal, &directory);
                appeal
            }
            Err(failure) => triage(appeal, &router.label, failure.to_string(), store.now_ms()),
        }
    }

    /// Runs an appeal (or a follow-up seen as one) through the filter chain, recording each
    /// verdict in its history; a drop sets its status.
    pub(super) fn filter(&self, runtime: &Runtime, store: &Store, appeal: &mut Appeal) -> Filtered {
        let directory = store.directory();
        for filter in &self.filters {
            let verdict = runtime.check(&filter.plugin, directory.clone(), &convert::to_wit(appeal));
            self.health.record(&filter.label, verdict.as_ref().err().map(|e| e.to_string()).as_deref());
            match verdict {
                Ok(wit::Verdict::Keep) => {
                    appeal.record(store.now_ms(), Some(filter.label.clone()), Event::Kept)
                }
                Ok(wit::Verdict::Tag(tags)) => {
                    appeal.record(
                        store.now_ms(),
                        Some(filter.label.clone()),
                        Event::Tagged { tags: tags.clone() },
                    );
                    appeal.tags.extend(tags);
                }
                Ok(wit::Verdict::Drop(reason)) => {
                    appeal.record(store.now_ms(), Some(filter.label.clone()), Event::Dropped { reason });
                    appeal.status = Status::Dropped;
                    return Filtered::Dropped;
                }
                Err(failure) => {
                    return Filtered::Failed { filter: filter.label.clone(), error: failure.to_string() };
                }
            }
        }
        Filtered::Passed
    }
}

/// What the filter chain made of an appeal.
pub(super) enum Filtered {
    /// Every filter kept it (some may have tagged it).
    Passed,
    /// A filter dropped it (status and history say which and why).
    Dropped,
    /// A filter failed; the appeal goes no further.
    Failed { filter: String, error: String },
}

fn decision_tags(decision: &crate::appeal::Decision) -> Vec<String> {
    let mut tags = Vec::new();
    if decision.priority != "normal" {
        tags.push(format!("priority:{}", decision.priority));
    }
    tags
}

pub(super) fn triage(mut appeal: Appeal, plugin: &str, error: String, now: u64) -> Appeal {
    tracing::warn!(appeal = %appeal.id, plugin, "plugin call failed: {error}");
    appeal.record(now, Some(plugin.to_string()), Event::Triage { error: error.clone() });
    appeal.status = Status::Triage;
    appeal.error = Some(error);
    appeal
}

#[cfg(test)]
mod tests {
    //! The decide step over real first-party and fixture plugins, in process.

    use super::*;
    use crate::clock::SystemClock;
    use crate::registry::Stage;
    use crate::runtime::{AnyPlugin, Grants, Limits, World};
    use std::sync::Arc;

    fn load(runtime: &Runtime, label: &str, bytes: &[u8], world: World) -> AnyPlugin {
        let component = runtime.compile(label, bytes).unwrap();
        let grants = Grants {
            label: label.into(),
            kv: None,
            directory: true,
            config: "{}".into(),
            outbound_hosts: std::sync::Arc::new([]),
        };
        runtime.load(&component, world, grants).unwrap()
    }

    fn first_party(name: &str) -> &'static [u8] {
        clienthub_artifacts::FIRST_PARTY.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// A pipeline of contest-filter and `router`, a store and a runtime on a temp dir.
    fn pipeline(router: (&str, &[u8])) -> (tempfile::TempDir, Store, Arc<Runtime>, Pipeline) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(dir.path(), Arc::new(SystemClock), crate::store::DEFAULT_CACHE_BYTES).unwrap();
        let runtime =
            Runtime::new(&dir.path().join("compiled"), Limits::default(), Arc::new(SystemClock)).unwrap();
        let AnyPlugin::Filter(filter) =
            load(&runtime, "contest-filter@test", first_party("contest-filter"), World::Filter)
        else {
            panic!("contest-filter is a filter")
        };
        let AnyPlugin::Router(router_plugin) = load(&runtime, router.0, router.1, World::Router) else {
            panic!("{} is a router", router.0)
        };
        let pipeline = Pipeline {
            filters: vec![Arc::new(Stage { label: "contest-filter@test".into(), plugin: filter })],
            router: Some(Arc::new(Stage { label: router.0.into(), plugin: router_plugin })),
            ..Pipeline::default()
        };
        (dir, store, runtime, pipeline)
    }

    fn appeal(text: &str) -> Appeal {
        Appeal { id: "01TEST".into(), channel: "vk".into(), text: text.into(), ..Appeal::default() }
    }

    #[test]
    fn kept_appeals_are_routed_and_contest_noise_dropped() {
        let (_dir, store, runtime, pipeline) = pipeline(("rules-router@test", first_party("rules-router")));
        let routed = pipeline.decide(&runtime, &store, appeal("Где мой заказ?"));
        assert_eq!(routed.status, Status::Routed);
        assert_eq!(routed.decision.as_ref().unwrap().queue, "general");
        let stages: Vec<&str> = routed.history.iter().map(|e| e.stage()).collect();
        assert_eq!(stages, ["kept", "routed"]);

        let dropped = pipeline.decide(&runtime, &store, appeal("Участвую! #конкурс"));
        assert_eq!(dropped.status, Status::Dropped);
        assert!(dropped.decision.is_none(), "a dropped appeal never reaches the router");
        assert_eq!(
            dropped.history.last().unwrap().event,
            Event::Dropped { reason: "contest hashtag #конкурс".into() }
        );
    }

    #[test]
    fn a_failing_router_puts_the_appeal_in_triage_with_its_error() {
        let bytes = std::fs::read(clienthub_artifacts::fixtures::CHAOS_ROUTER).unwrap();
        let (_dir, store, runtime, pipeline) = pipeline(("chaos-router@test", &bytes));
        let failed = pipeline.decide(&runtime, &store, appeal("#trap"));
        assert_eq!(failed.status, Status::Triage);
        assert!(failed.error.as_deref().unwrap().contains("chaos-router traps"), "{:?}", failed.error);
        assert_eq!(failed.history.last().unwrap().plugin.as_deref(), Some("chaos-router@test"));
        let calm = pipeline.decide(&runtime, &store, appeal("calm"));
        assert_eq!(calm.status, Status::Routed);
    }
}
