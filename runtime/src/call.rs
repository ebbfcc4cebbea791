//! One call into a plugin: a warm instance (or a new `Store` with the memory cap and captured
//! stderr), a fresh epoch deadline, and the outcome classified as a [`CallError`] by what
//! happened — the deadline's interrupt, the memory cap's refusal, a trap — for that call only.

use super::bindings;
use super::handles::{Instance, LoadedPlugin, MAX_WARM, Pre, Warm};
use super::imports::CallState;
use super::output::Output;
use super::{CallError, Runtime, STDERR_CAPTURE, TICK, limiter};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

impl Runtime {
    pub(super) fn store(
        &self,
        plugin: &LoadedPlugin,
        directory: Arc<crate::directory::Directory>,
    ) -> Store<CallState> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
        let state = CallState {
            grants: plugin.grants.clone(),
            directory,
            memory: limiter::MemoryCap::new(self.limits.memory_bytes),
            wasi,
            table: ResourceTable::new(),
            stderr,
            outbound: self.outbound.clone(),
            clock: self.clock.clone(),
            waited_ticks: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(self.deadline_ticks());
        // At the deadline, time the plugin spent waiting for the host's outbound calls is
        // given back; otherwise the call is interrupted.
        store.epoch_deadline_callback(|mut store| match std::mem::take(&mut store.data_mut().waited_ticks) {
            0 => Err(Trap::Interrupt.into()),
            waited => Ok(UpdateDeadline::Continue(waited)),
        });
        store
    }

    /// Turns a wasmtime error into a [`CallError`], with the plugin's stderr (its panic
    /// message) appended.
    fn classify(&self, error: wasmtime::Error, store: &Store<CallState>) -> CallError {
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return CallError::Timeout(self.limits.deadline);
        }
        if store.data().memory.refused() {
            return CallError::OutOfMemory(self.limits.memory_bytes);
        }
        let stderr = store.data().stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        let trap =
            error.downcast_ref::<Trap>().map(|t| t.to_string()).unwrap_or_else(|| format!("{error:#}"));
        CallError::Trap(if stderr.is_empty() { trap } else { format!("{trap}; plugin stderr: {stderr}") })
    }

    /// A new instance of `plugin` in a new `Store`.
    pub(super) fn instantiate(
        &self,
        plugin: &LoadedPlugin,
        directory: Arc<crate::directory::Directory>,
    ) -> Result<Warm, CallError> {
        let mut store = self.store(plugin, directory);
        let instance = match &plugin.pre {
            Pre::Channel(p) => p.instantiate(&mut store).map(Instance::Channel),
            Pre::Extended(p, rich) => (|| {
                let raw = p.instance_pre().instantiate(&mut store)?;
                let extended = bindings::extended::ExtendedChannel::new(&mut store, &raw)?;
                Ok(Instance::Extended(extended, Box::new(rich.load(&mut store, &raw)?)))
            })(),
            Pre::Filter(p) => p.instantiate(&mut store).map(Instance::Filter),
            Pre::Router(p) => p.instantiate(&mut store).map(Instance::Router),
        };
        match instance {
            Ok(instance) => Ok(Warm { store, instance }),
            Err(e) => Err(self.classify(e, &store)),
        }
    }

    /// Runs `call` on a warm instance of `plugin` (or a new one). The instance goes back to the
    /// warm set only when the call neither trapped nor wrote to stderr; after a trap an
    /// instance is never used again.
    pub(super) fn call<R: Output>(
        &self,
        plugin: &LoadedPlugin,
        directory: Arc<crate::directory::Directory>,
        call: impl FnOnce(&Instance, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let warm = plugin.warm.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut warm = match warm {
            Some(mut warm) => {
                warm.store.data_mut().directory = directory;
                warm.store.data_mut().waited_ticks = 0;
                warm.store.data_mut().memory.reset();
                warm.store.set_epoch_deadline(self.deadline_ticks());
                warm
            }
            None => self.instantiate(plugin, directory)?,
        };
        let started = std::time::Instant::now();
        let outcome = call(&warm.instance, &mut warm.store);
        let result = outcome.map_err(|error| self.classify(error, &warm.store)).and_then(|value| match value
            .bytes()
        {
            bytes if bytes > R::CAP => Err(CallError::Oversized(bytes, R::CAP)),
            _ => Ok(value),
        });
        let kind = result.as_ref().err().map(|e| match e {
            CallError::Timeout(_) => "timeout",
            CallError::OutOfMemory(_) => "out_of_memory",
            CallError::Trap(_) => "trap",
            CallError::Plugin(_) => "plugin",
            CallError::Oversized(..) => "oversized",
        });
        crate::figures::record(&plugin.grants.label, started.elapsed(), kind);
        match result {
            Ok(value) => {
                if warm.store.data().stderr.contents().is_empty() {
                    let mut idle = plugin.warm.lock().unwrap_or_else(|e| e.into_inner());
                    if idle.len() < MAX_WARM {
                        idle.push(warm);
                    }
                }
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }

    fn deadline_ticks(&self) -> u64 {
        (self.limits.deadline.as_millis() / TICK.as_millis()).max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::handles::AnyPlugin;
    use super::super::*;
    use crate::clock::SystemClock;

    /// The chaos-router fixture, loaded as a router with a short deadline.
    fn chaos_router() -> (tempfile::TempDir, Arc<Runtime>, Plugin<RouterWorld>) {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits { deadline: Duration::from_millis(200), ..Limits::default() };
        let runtime = Runtime::new(dir.path(), limits, Arc::new(SystemClock)).unwrap();
        let bytes = std::fs::read(clienthub_artifacts::fixtures::CHAOS_ROUTER).unwrap();
        let component = runtime.compile("chaos-router", &bytes).unwrap();
        let grants = Grants {
            label: "chaos-router@0.1.0".into(),
            kv: None,
            directory: false,
            config: "{}".into(),
            outbound_hosts: Arc::new([]),
        };
        let AnyPlugin::Router(router) = runtime.load(&component, World::Router, grants).unwrap() else {
            panic!("chaos-router is a router");
        };
        (dir, runtime, router)
    }

    fn appeal(text: &str) -> wit::Appeal {
        crate::convert::to_wit(&crate::appeal::Appeal {
            id: "01TEST".into(),
            channel: "telegram".into(),
            text: text.into(),
            ..Default::default()
        })
    }

    #[test]
    fn each_fault_is_classified_by_what_happened_and_fails_that_call_only() {
        let (_dir, runtime, router) = chaos_router();
        let route = |text: &str| runtime.route(&router, Default::default(), &appeal(text));
        assert_eq!(route("calm").unwrap().queue, "general");
        match route("#trap") {
            Err(CallError::Trap(message)) => {
                assert!(message.contains("chaos-router traps on 01TEST"), "{message}")
            }
            other => panic!("expected a trap, got {other:?}"),
        }
        assert!(matches!(route("#loop"), Err(CallError::Timeout(_))), "a loop times out");
        assert!(matches!(route("#alloc"), Err(CallError::OutOfMemory(_))), "1 GiB is over the cap");
        assert!(
            matches!(route("#giant"), Err(CallError::Oversized(..))),
            "a 32 MiB decision is over the cap"
        );
        // Each failure cost only its own instance.
        assert_eq!(route("calm again").unwrap().queue, "general");
    }
}
