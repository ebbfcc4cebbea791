//! Attachments' files: the fetcher that brings each attachment's file from its platform into
//! the attachment store ([`crate::store::files`]) after intake, so webhooks stay fast.
//!
//! For each queued attachment the appeal's channel adapter decides the platform calls
//! (`media-fetcher`, WIT 0.1.2): API calls whose answers it reads, then the download, or the
//! file cut from the kept raw message. The host performs each call through the outbound
//! client (the plugin's allowlist, a timeout, a size cap per kind of file), keeps the file,
//! then records it; an adapter's "not ready yet" (Zadarma's recording) is asked again later,
//! with a back-off, up to [`MAX_ATTEMPTS`]. Stored files past the retention are deleted. In
//! a cluster the node that leads fetches, and each file is also put in the cluster's object
//! store, where any node finds it.

use crate::appeal::{Appeal, AttachmentKind};
use crate::event::{Event, FileProblem};
use crate::registry::Registry;
use crate::runtime::outbound::{CALL_TIMEOUT, OutboundError};
use crate::runtime::{convert, wit};
use crate::store::Store;
use crate::store::files::Files;
use crate::store::media::{FileRecord, FileState};
use crate::supervisor::{Rest, Role, Round, Supervisor};
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

/// Attempts before a file is given up as failed.
pub const MAX_ATTEMPTS: u32 = 12;
/// Platform calls in one attempt (Telegram and WhatsApp need two).
const MAX_STEPS: usize = 4;
/// How often the fetcher looks at its queue when nothing wakes it.
const POLL: Duration = Duration::from_millis(300);

/// The largest file kept of each kind of attachment, in bytes (an admin may set a lower
/// cap for all: `--attachment-max-mib`).
pub fn cap_of(kind: AttachmentKind) -> usize {
    const MIB: usize = 1 << 20;
    match kind {
        AttachmentKind::Photo | AttachmentKind::Other => 20 * MIB,
        AttachmentKind::Document => 50 * MIB,
        AttachmentKind::Audio | AttachmentKind::Voice | AttachmentKind::CallRecording => 100 * MIB,
        AttachmentKind::Video => 200 * MIB,
    }
}

/// The fetcher.
pub struct Fetcher {
    store: Store,
    registry: Arc<Registry>,
    files: Arc<Files>,
    retention: Duration,
    max_bytes: Option<usize>,
}

impl Fetcher {
    /// A fetcher filling `files`; stored files are deleted `retention` after they were fetched;
    /// no file is larger than `max_bytes` (when given) or its kind's cap.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        files: Arc<Files>,
        retention: Duration,
        max_bytes: Option<usize>,
    ) -> Arc<Self> {
        Arc::new(Self { store, registry, files, retention, max_bytes })
    }

    /// Starts it; it runs until the runtime stops.
    pub fn spawn(self: &Arc<Self>, workers: &Supervisor) {
        let fetcher = self.clone();
        workers.every("attachments", Role::Leader, Rest::Fixed(POLL), None, move || {
            let fetcher = fetcher.clone();
            async move { fetcher.round().await.map(|()| Round::Rest) }
        });
    }

    /// One look at the queue and the retention.
    async fn round(&self) -> Result<()> {
        let now = self.store.now_ms();
        for (appeal, n) in self.store.files_to_fetch(256)? {
            let Some(record) = self.store.file_record(&appeal, n)? else { continue };
            if let FileState::Pending { next_at, .. } = record.state
                && next_at <= now
            {
                self.fetch(&appeal, n, record).await?;
            }
        }
        let cutoff = now.saturating_sub(self.retention.as_millis() as u64);
        for (appeal, n) in self.store.files_fetched_before(cutoff, 256)? {
            if let Some(orphan) = self.store.forget_file(&appeal, n, "past the retention")? {
                self.files.delete(&orphan)?;
                self.store.unshare_file(&orphan)?;
            }
        }
        Ok(())
    }

    /// One attempt at attachment `n` of appeal `id`, and its record.
    async fn fetch(&self, id: &str, n: u16, record: FileRecord) -> Result<()> {
        let FileState::Pending { attempts, .. } = record.state else { return Ok(()) };
        let Some(appeal) = self.store.appeal(id)? else {
            return self.store.record_file(
                id,
                n,
                &FileRecord { state: gone("the appeal is gone"), ..record },
            );
        };
        let Some(attachment) = appeal.attachments.get(usize::from(n)).cloned() else {
            return self.store.record_file(
                id,
                n,
                &FileRecord { state: gone("the attachment is gone"), ..record },
            );
        };
        let outcome = self.attempt(&appeal, usize::from(n), &record).await;
        let now = self.store.now_ms();
        let (state, mime, name, event) = match outcome {
            Outcome::Kept { sha256, size, mime, name } => {
                let stored = Event::FileStored { attachment: n, kind: attachment.kind, size };
                let state = FileState::Stored { sha256, size, fetched_at: now };
                (
                    state,
                    mime.or(attachment.mime_type.clone()),
                    name.or(attachment.file_name.clone()),
                    Some(stored),
                )
            }
            Outcome::Later { after, error } if attempts + 1 < MAX_ATTEMPTS => {
                let wait = after.unwrap_or_else(|| Duration::from_secs(5 << attempts.min(9)));
                let state = FileState::Pending {
                    attempts: attempts + 1,
                    next_at: now + wait.min(Duration::from_secs(3600)).as_millis() as u64,
                    error: Some(error),
                };
                (state, record.mime_type.clone(), record.file_name.clone(), None)
            }
            Outcome::Later { error, .. } | Outcome::Failed(error) => {
                let problem = FileProblem::Failed(error.clone());
                let failed = Event::FileFailed { attachment: n, kind: attachment.kind, problem };
                (
                    FileState::Failed { error },
                    record.mime_type.clone(),
                    record.file_name.clone(),
                    Some(failed),
                )
            }
            Outcome::TooLarge(cap) => {
                let problem = FileProblem::TooLarge(cap);
                let failed = Event::FileFailed { attachment: n, kind: attachment.kind, problem };
                (
                    FileState::TooLarge { cap },
                    record.mime_type.clone(),
                    record.file_name.clone(),
                    Some(failed),
                )
            }
        };
        self.store.record_file(id, n, &FileRecord { mime_type: mime, file_name: name, state, ..record })?;
        if let Some(event) = event {
            self.store.change_appeal(id, |a| a.record(now, None, event.clone()))?;
        }
        self.store.commit().await
    }

    /// The adapter's steps for one attachment, performed.
    async fn attempt(&self, appeal: &Appeal, n: usize, record: &FileRecord) -> Outcome {
        let pipeline = self.registry.pipeline();
        let Some(stage) = pipeline.channels.get(&appeal.channel).cloned() else {
            return Outcome::Later {
                after: None,
                error: format!("the {} channel has no active adapter", appeal.channel),
            };
        };
        let raw = match self.store.raw(&record.raw_request) {
            Ok(raw) => raw.map(|raw| convert::request_of(&raw)),
            Err(e) => {
                return Outcome::Later { after: None, error: format!("reading the raw request: {e:#}") };
            }
        };
        let wit_appeal = convert::to_wit(appeal);
        let attachment = wit_appeal.attachments[n].clone();
        let cap = cap_of(appeal.attachments[n].kind).min(self.max_bytes.unwrap_or(usize::MAX));
        let grants = stage.plugin.grants().clone();
        let mut answers: Vec<wit::HttpResponse> = Vec::new();
        for _ in 0..MAX_STEPS {
            let (runtime, plugin, directory) =
                (self.registry.runtime().clone(), stage.plugin.clone(), self.store.directory());
            let (a, f, r, previous) = (wit_appeal.clone(), attachment.clone(), raw.clone(), answers.clone());
            let step = tokio::task::spawn_blocking(move || {
                runtime.fetch_media(&plugin, directory, &a, &f, r.as_ref(), &previous)
            })
            .await;
            let step = match step {
                Ok(Ok(step)) => step,
                Ok(Err(e)) => return Outcome::Failed(format!("the adapter failed: {e}")),
                Err(e) => return Outcome::Failed(format!("the adapter failed: {e}")),
            };
            let outbound = self.registry.runtime().outbound();
            match step {
                wit::MediaStep::Call(request) => {
                    match outbound.send(&request, &grants.label, &grants.outbound_hosts, CALL_TIMEOUT).await {
                        Ok(answer) => answers.push(answer),
                        Err(e) => return failure(e),
                    }
                }
                wit::MediaStep::Download(request) => {
                    let timeout = CALL_TIMEOUT * 4;
                    return match outbound
                        .fetch(&request, &grants.label, &grants.outbound_hosts, timeout, cap)
                        .await
                    {
                        Ok(answer) if (200..300).contains(&answer.status) => {
                            let mime = answer
                                .headers
                                .iter()
                                .find(|h| h.name.eq_ignore_ascii_case("content-type"))
                                .map(|h| h.value.clone())
                                .filter(|t| !t.starts_with("application/octet-stream"));
                            self.keep(answer.body, mime, None)
                        }
                        Ok(answer) if answer.status == 429 || answer.status >= 500 => Outcome::Later {
                            after: None,
                            error: format!("the download answered HTTP {}", answer.status),
                        },
                        Ok(answer) => {
                            Outcome::Failed(format!("the download answered HTTP {}", answer.status))
                        }
                        Err(e) => failure(e),
                    };
                }
                wit::MediaStep::File(file) if file.body.len() > cap => return Outcome::TooLarge(cap as u64),
                wit::MediaStep::File(file) => return self.keep(file.body, file.mime_type, file.file_name),
                wit::MediaStep::Retry(later) => {
                    return Outcome::Later {
                        after: later.after_ms.map(Duration::from_millis),
                        error: later.error,
                    };
                }
                wit::MediaStep::Failed(error) => return Outcome::Failed(error),
            }
        }
        Outcome::Failed(format!("the adapter asked for more than {MAX_STEPS} calls"))
    }

    /// Keeps the file here and, in a cluster, in the shared object store, before it is recorded.
    fn keep(&self, body: Vec<u8>, mime: Option<String>, name: Option<String>) -> Outcome {
        let kept =
            self.files.put(&body).and_then(|sha256| self.store.share_file(&sha256, &body).map(|()| sha256));
        match kept {
            Ok(sha256) => Outcome::Kept { sha256, size: body.len() as u64, mime, name },
            Err(e) => Outcome::Later { after: None, error: format!("keeping the file: {e:#}") },
        }
    }
}

/// What one attempt came to.
enum Outcome {
    Kept { sha256: String, size: u64, mime: Option<String>, name: Option<String> },
    Later { after: Option<Duration>, error: String },
    Failed(String),
    TooLarge(u64),
}

fn failure(e: OutboundError) -> Outcome {
    match e {
        OutboundError::TooLarge { cap } => Outcome::TooLarge(cap),
        OutboundError::Refused(error) => Outcome::Failed(error),
        e @ OutboundError::Unreachable { .. } => Outcome::Later { after: None, error: e.to_string() },
    }
}

fn gone(reason: &str) -> FileState {
    FileState::Failed { error: reason.to_string() }
}
