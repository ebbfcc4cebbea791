//! The on-disk cache of precompiled components: `<dir>/<key>/<sha256>.cwasm`, where `key`
//! hashes the wasmtime version and the engine's configuration, so an artifact is only ever
//! loaded by an engine that produced it. A restart loads instead of recompiling.

use anyhow::{Context, Result};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache directory for one engine configuration.
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache under `root` for `engine`'s configuration.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(root: &Path, engine: &Engine) -> Result<Self> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("wasmtime-{}-{:016x}", wasmtime_version(), hasher.finish()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.cwasm"))
    }

    /// The precompiled component, if cached and loadable.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.exists() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), "ignoring unusable precompiled artifact: {error:#}");
                None
            }
        }
    }

    /// Writes a compiled component (atomically: a temp file, then a rename). Failure is only
    /// logged: the next start compiles again.
    pub fn store(&self, sha256: &str, component: &Component) {
        let path = self.path(sha256);
        let tmp = path.with_extension("tmp");
        let written = component
            .serialize()
            .and_then(|bytes| Ok(std::fs::write(&tmp, bytes)?))
            .and_then(|()| Ok(std::fs::rename(&tmp, &path)?));
        if let Err(error) = written {
            tracing::warn!(path = %path.display(), "could not cache a compiled plugin: {error:#}");
        }
    }
}

#[expect(unsafe_code, reason = "loading precompiled code we wrote ourselves, keyed by engine config")]
fn deserialize(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file was produced by `Component::serialize` of an engine with the same
    // version and configuration (the directory key), inside the host's own data directory.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}

fn wasmtime_version() -> &'static str {
    "48.0.8"
}
