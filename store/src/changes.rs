//! Appeal changes as they happen, for live views: every write to an appeal's head — on this
//! machine, or applied from a cluster's stream — is announced on a broadcast channel with the
//! appeal's id, status and index terms (decoded once here, so each listener can tell whether
//! its viewer may see it without reading the record). A thread follows the appeals tree's inserts from the first listener on. A listener that falls behind learns it ([`broadcast::error::RecvError::Lagged`])
//! and reloads what it shows.

use super::Store;
use super::tx::TreeId;
use std::sync::{Arc, OnceLock};
use tokio::sync::broadcast;

/// Announcements a slow listener may fall behind by before it is told it lagged.
const BACKLOG: usize = 4096;

/// An appeal as it changed.
#[derive(Debug, Clone)]
pub struct Change {
    /// Its id.
    pub id: String,
    /// Its status now.
    pub status: String,
    /// The index terms it is found under now ([`super::index::terms`]).
    pub terms: Vec<(&'static str, String)>,
}

/// The channel changes are announced on (made on first use).
pub(super) type Changes = Arc<OnceLock<broadcast::Sender<Arc<Change>>>>;

impl Store {
    /// Listens to appeal changes: each appeal written from now on.
    pub fn appeal_changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes
            .get_or_init(|| {
                let (sender, _) = broadcast::channel(BACKLOG);
                let subscriber = self.tree(TreeId::Appeals).watch();
                let announce = sender.clone();
                let spawned = std::thread::Builder::new().name("appeal-changes".into()).spawn(move || {
                    for (key, value) in subscriber {
                        let Ok(head) = super::record::decode_head(&value) else { continue };
                        let change = Change {
                            id: String::from_utf8_lossy(&key).into_owned(),
                            status: head.appeal.status.name().to_string(),
                            terms: super::index::terms(&head.appeal),
                        };
                        // No listener right now is fine: nothing to tell.
                        let _ = announce.send(Arc::new(change));
                    }
                });
                if let Err(e) = spawned {
                    tracing::error!("cannot follow appeal changes: {e}");
                }
                sender
            })
            .subscribe()
    }
}
