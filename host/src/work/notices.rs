//! Notices: who hears of work as it arrives (a new appeal, an assignment, a hand-off, an
//! escalation — the directory's `notices` rules), the customer's survey after a resolution
//! and the manager's notice of a low rating (the directory's `csat`), and the sending every
//! notice shares with the overdue notices.
//!
//! Each such event is marked for notices in the transaction that records it
//! ([`crate::store::notices`]). The notifier reads the marks, picks the rules that apply
//! (events, topic, department, region), waits out a rule's quiet hours in the appeal's
//! region's time, and sends each rule's notice once: through a channel adapter's reply
//! rendering (a Telegram chat, a mailbox; allowlisted like replies) or as a JSON POST to a
//! webhook (the notice hosts). What was sent is recorded before the next rule, failures are
//! retried with a growing wait; the appeal's history says who was told.

use crate::appeal::{Appeal, AttachmentKind};
use crate::directory::{Directory, NoticeRule, Notify};
use crate::event::{Event, NoticeKind, NoticeOutcome};
use crate::registry::Registry;
use crate::runtime::outbound::CALL_TIMEOUT;
use crate::runtime::{convert, wit};
use crate::store::Store;
use crate::store::files::Files;
use crate::store::media::FileState;
use crate::store::notices::NoticeProgress;
use crate::supervisor::{Rest, Role, Round, Supervisor};
use crate::text::{Lang, render};
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

/// Attempts before an event's notice is given up (recorded as failed).
const MAX_ATTEMPTS: u32 = 8;
/// How often the notifier looks for events.
const POLL: Duration = Duration::from_millis(300);

/// The host setting holding the outbound hosts notice webhooks may call
/// (`PUT /api/notice-hosts`); none by default.
pub const NOTICE_HOSTS: &str = "notice-hosts";

/// The notifier.
pub struct Notifier {
    pub(super) store: Store,
    pub(super) registry: Arc<Registry>,
    /// The attachment store: a notice to a chat carries the appeal's first photo.
    files: Arc<Files>,
    /// Where the console is reached, for the link in each notice.
    public_url: String,
}

impl Notifier {
    /// A notifier over `store`, sending through the registry's channel adapters (with the
    /// photos of `files`); links point at `public_url`.
    pub fn new(store: Store, registry: Arc<Registry>, files: Arc<Files>, public_url: String) -> Arc<Self> {
        Arc::new(Self { store, registry, files, public_url })
    }

    /// Starts it; it runs until the runtime stops (on the node that leads a cluster).
    pub fn spawn(self: &Arc<Self>, workers: &Supervisor) {
        let notifier = self.clone();
        workers.every("notices", Role::Leader, Rest::Fixed(POLL), None, move || {
            let notifier = notifier.clone();
            async move { notifier.round().await.map(|()| Round::Rest) }
        });
    }

    async fn round(&self) -> Result<()> {
        let now = self.store.now_ms();
        for (appeal, index, progress) in self.store.notices_pending(256)? {
            if progress.next_at <= now {
                self.event(&appeal, index, progress, now).await?;
            }
        }
        Ok(())
    }

    /// The notices of event `index` of appeal `id` (for a resolution: the customer's survey).
    async fn event(&self, id: &str, index: u32, mut progress: NoticeProgress, now: u64) -> Result<()> {
        let appeal = self.store.appeal(id)?;
        let kind = appeal
            .as_ref()
            .and_then(|a| a.history.get(index as usize))
            .and_then(|e| NoticeKind::of(&e.event));
        let (Some(mut appeal), Some(kind)) = (appeal, kind) else {
            return self.store.notice_progress(id, index, None);
        };
        // The appeal as the event left it: an assignment names its assignee, a new appeal
        // its first department, whatever happened since.
        appeal.work.assignee = progress.assignee.clone();
        appeal.work.department = progress.department.clone();
        let directory = self.store.directory();
        let (mut told, mut failures, mut wait_until) = (Vec::new(), Vec::new(), None::<u64>);
        for duty in duties(kind, &directory) {
            if progress.sent.contains(&duty.slot()) {
                continue;
            }
            let outcome = match duty {
                Duty::Survey => self.ask(&appeal, &directory, now).await.map_err(NoticeOutcome::NotAsked),
                Duty::Manager => match super::survey::manager(&directory, &appeal) {
                    Some(target) => self.tell(kind, &target, &appeal, &directory).await.map(Some),
                    None => Ok(None),
                },
                Duty::Rule(_, rule) if !applies(rule, &appeal) => continue,
                Duty::Rule(_, rule) => {
                    // Quiet hours, or a new appeal's photo still being fetched: later.
                    let later = quiet_end(rule, &directory, &appeal, now).or_else(|| {
                        (kind == NoticeKind::New && self.photo_pending(&appeal, now)).then_some(now + 2_000)
                    });
                    if let Some(at) = later {
                        wait_until = Some(wait_until.map_or(at, |w| w.min(at)));
                        continue;
                    }
                    match target(rule, &directory, &appeal) {
                        Some(target) => self.tell(kind, &target, &appeal, &directory).await.map(Some),
                        None => Ok(Some(NoticeOutcome::NoChat)),
                    }
                }
            };
            let counted = match &outcome {
                Ok(_) => "sent",
                Err(_) if progress.attempts + 1 >= MAX_ATTEMPTS => "given_up",
                Err(_) => "retry",
            };
            crate::metrics::notice_attempt(kind.name(), counted);
            match outcome {
                Ok(detail) => {
                    progress.sent.push(duty.slot());
                    // Recorded before the next one: a crash now does not send this one again.
                    self.store.notice_progress(id, index, Some(&progress))?;
                    told.extend(detail);
                }
                Err(e) => failures.push(e),
            }
        }
        let given_up = !failures.is_empty() && progress.attempts + 1 >= MAX_ATTEMPTS;
        if given_up {
            told.extend(failures.iter().cloned());
        }
        if !told.is_empty() {
            self.store.change_appeal(id, |a| {
                for outcome in &told {
                    a.record(now, None, Event::Notice { kind, outcome: outcome.clone() });
                }
            })?;
        }
        let next = match (failures.is_empty() || given_up, wait_until) {
            (true, None) => None,
            (true, Some(at)) => Some(NoticeProgress { next_at: at, ..progress }),
            (false, wait) => {
                let backoff = now + (2_000u64 << progress.attempts.min(10));
                let words: Vec<String> = failures
                    .iter()
                    .map(|f| render(&Event::Notice { kind, outcome: f.clone() }, Lang::En, &*directory))
                    .collect();
                tracing::warn!(appeal = id, "a notice failed: {}", words.join("; "));
                let next_at = wait.map_or(backoff, |w| w.min(backoff));
                Some(NoticeProgress { attempts: progress.attempts + 1, next_at, ..progress })
            }
        };
        self.store.notice_progress(id, index, next.as_ref())?;
        self.store.commit().await
    }

    /// Sends one notice of `kind` to `target` (a chat's also gets the appeal's first photo);
    /// what the history says.
    async fn tell(
        &self,
        kind: NoticeKind,
        target: &Notify,
        appeal: &Appeal,
        directory: &Directory,
    ) -> Result<NoticeOutcome, NoticeOutcome> {
        let text = text(kind, appeal, directory, &self.public_url);
        let subject = format!("{} {}", title(kind), appeal.label());
        let (channel, recipient) = (target.channel.clone(), recipient(target));
        let sent = send(&self.registry, &self.store, target, appeal, kind, &subject, &text).await;
        if let Err(error) = sent {
            return Err(NoticeOutcome::Failed { channel, recipient, error });
        }
        if target.channel != "webhook"
            && let Err(e) = self.send_photo(target, appeal).await
        {
            tracing::warn!(appeal = %appeal.id, "the notice's photo was not sent: {e}");
        }
        Ok(NoticeOutcome::Sent { channel, recipient })
    }
}

/// What an event calls for; each has its slot in the event's progress.
enum Duty<'a> {
    /// A directory rule's notice (its index).
    Rule(usize, &'a NoticeRule),
    /// The customer's survey after a resolution.
    Survey,
    /// The manager's notice of a low rating.
    Manager,
}

impl Duty<'_> {
    fn slot(&self) -> usize {
        match self {
            Duty::Rule(n, _) => *n,
            Duty::Survey | Duty::Manager => 0,
        }
    }
}

/// The duties of an event of `kind`.
fn duties(kind: NoticeKind, directory: &Directory) -> Vec<Duty<'_>> {
    match kind {
        NoticeKind::Csat => vec![Duty::Survey],
        NoticeKind::RatedLow => vec![Duty::Manager],
        _ => directory
            .notices
            .iter()
            .enumerate()
            .filter(|(_, r)| r.events.iter().any(|e| e == kind.name()))
            .map(|(n, r)| Duty::Rule(n, r))
            .collect(),
    }
}

impl Notifier {
    /// Whether the appeal's first photo is still being fetched (for at most a minute after
    /// the appeal arrived: a notice does not wait longer).
    fn photo_pending(&self, appeal: &Appeal, now: u64) -> bool {
        let Some(n) = appeal.attachments.iter().position(|a| a.kind == AttachmentKind::Photo) else {
            return false;
        };
        let record = self.store.file_record(&appeal.id, n as u16).ok().flatten();
        matches!(record.map(|r| r.state), Some(FileState::Pending { .. }))
            && now < appeal.received_at + 60_000
    }

    /// Sends the appeal's first stored photo into the notice's chat, through the channel's
    /// `file-sender` (a channel that sends no files sends none).
    async fn send_photo(&self, target: &Notify, appeal: &Appeal) -> Result<(), String> {
        let Some(n) = appeal.attachments.iter().position(|a| a.kind == AttachmentKind::Photo) else {
            return Ok(());
        };
        let record = self.store.file_record(&appeal.id, n as u16).map_err(|e| format!("{e:#}"))?;
        let Some((FileState::Stored { sha256, .. }, mime)) = record.map(|r| (r.state, r.mime_type)) else {
            return Ok(());
        };
        let body = crate::store::media::read_file(&self.store, &self.files, &sha256)
            .map_err(|e| format!("{e:#}"))?
            .ok_or("the photo is not in the store")?;
        let file = wit::MediaFile { mime_type: mime, file_name: None, body };
        let stage = adapter(&self.registry, &target.channel)?;
        let (runtime, plugin) = (self.registry.runtime().clone(), stage.plugin.clone());
        let addressed = addressed(target, appeal, &appeal.id);
        let caption = format!("Фото к обращению {}", appeal.label());
        let request =
            tokio::task::spawn_blocking(move || runtime.render_file(&plugin, &addressed, &file, &caption))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        let grants = stage.plugin.grants();
        let answer = self
            .registry
            .runtime()
            .outbound()
            .fetch(&request, &grants.label, &grants.outbound_hosts, CALL_TIMEOUT, 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
        match answer.status {
            200..=299 => Ok(()),
            status => Err(format!("HTTP {status}")),
        }
    }
}

/// Whether a rule's topic, department and region (those it names) are the appeal's.
fn applies(rule: &NoticeRule, appeal: &Appeal) -> bool {
    let decision = appeal.decision.as_ref();
    let topic = decision.and_then(|d| d.topic.as_deref());
    let region = appeal.work.region.as_deref().or(decision.and_then(|d| d.region.as_deref()));
    let holds =
        |wanted: &Option<String>, actual: Option<&str>| wanted.as_deref().is_none_or(|w| Some(w) == actual);
    holds(&rule.topic, topic)
        && holds(&rule.department, appeal.work.department.as_deref())
        && holds(&rule.region, region)
}

/// When the rule's quiet hours end, if `now` is inside them (in the appeal's region's time).
fn quiet_end(rule: &NoticeRule, directory: &Directory, appeal: &Appeal, now: u64) -> Option<u64> {
    let (start, end) = rule.quiet_minutes()?;
    let region = appeal.work.region.as_deref().or(appeal.decision.as_ref().and_then(|d| d.region.as_deref()));
    let minute = directory.zone_of(region).minute_of_day(now);
    let inside = match start <= end {
        true => (start..end).contains(&minute),
        false => minute >= start || minute < end,
    };
    inside.then(|| {
        let left = (end + 1440 - minute) % 1440;
        // To the start of the minute the quiet hours end in.
        now - now % 60_000 + u64::from(left) * 60_000
    })
}

/// Where the rule's notice goes: its target, or the assignee's own chat.
fn target(rule: &NoticeRule, directory: &Directory, appeal: &Appeal) -> Option<Notify> {
    if rule.to.channel != "assignee" {
        return Some(rule.to.clone());
    }
    let assignee = appeal.work.assignee.as_deref()?;
    directory.employees.iter().find(|e| e.id == assignee)?.notify.clone()
}

fn title(kind: NoticeKind) -> &'static str {
    crate::text::notice_title(kind, Lang::Ru)
}

/// A notice as a dispatcher would write it: what, where, who, the details the brigade needs
/// (store, machine, address, files), and the link to the appeal.
pub fn text(kind: NoticeKind, appeal: &Appeal, directory: &Directory, public_url: &str) -> String {
    let name_of = |list: &[(&str, &str)], id: Option<&str>| {
        id.map(|id| list.iter().find(|(i, _)| *i == id).map_or(id.to_string(), |(_, n)| n.to_string()))
    };
    let regions: Vec<(&str, &str)> =
        directory.regions.iter().map(|r| (r.id.as_str(), r.name.as_str())).collect();
    let departments: Vec<(&str, &str)> =
        directory.departments.iter().map(|d| (d.id.as_str(), d.name.as_str())).collect();
    let topics: Vec<(&str, &str)> =
        directory.topics.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let employees: Vec<(&str, &str)> =
        directory.employees.iter().map(|e| (e.id.as_str(), e.name.as_str())).collect();
    let decision = appeal.decision.as_ref();
    let region = appeal.work.region.as_deref().or(decision.and_then(|d| d.region.as_deref()));
    let place: Vec<String> = [
        name_of(&topics, decision.and_then(|d| d.topic.as_deref())),
        name_of(&regions, region),
        name_of(&departments, appeal.work.department.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut lines = vec![match place.is_empty() {
        true => format!("{} {}", title(kind), appeal.label()),
        false => format!("{} {}: {}", title(kind), appeal.label(), place.join(" · ")),
    }];
    let who: Vec<&str> =
        [appeal.contact.name.as_deref(), appeal.contact.phone.as_deref(), appeal.contact.email.as_deref()]
            .into_iter()
            .flatten()
            .collect();
    lines.push(format!(
        "Клиент: {} ({})",
        if who.is_empty() { "—".into() } else { who.join(", ") },
        appeal.channel
    ));
    let excerpt: String = appeal.text.chars().take(300).collect();
    if !excerpt.trim().is_empty() {
        lines.push(format!("«{}»", excerpt.trim()));
    }
    for (key, label) in [("address", "Адрес"), ("store", "Магазин"), ("machine", "Автомат")]
    {
        if let Some((_, value)) = appeal.metadata.iter().find(|(k, _)| k == key) {
            lines.push(format!("{label}: {value}"));
        }
    }
    let rated = appeal.history.iter().rev().find_map(|e| match e.event {
        Event::Rated { score } => Some(score),
        _ => None,
    });
    if let Some(score) = rated {
        lines.push(format!("Оценка: {score}/5"));
    }
    if let Some(assignee) = name_of(&employees, appeal.work.assignee.as_deref()) {
        lines.push(format!("Исполнитель: {assignee}"));
    }
    if !appeal.attachments.is_empty() {
        let photos = appeal.attachments.iter().filter(|a| a.kind == AttachmentKind::Photo).count();
        lines.push(format!("Файлы: {} (фото: {photos}) — в обращении", appeal.attachments.len()));
    }
    lines.push(format!("{public_url}/console/#/appeal/{}", appeal.id));
    lines.join("\n")
}

/// Sends a notice: a JSON POST to a webhook, or a message through a channel adapter's reply
/// rendering, addressed to the chat or mailbox `notify` names.
pub(super) async fn send(
    registry: &Registry,
    store: &Store,
    notify: &Notify,
    appeal: &Appeal,
    kind: NoticeKind,
    subject: &str,
    text: &str,
) -> Result<(), String> {
    let runtime = registry.runtime().clone();
    let answer = if notify.channel == "webhook" {
        let body = serde_json::json!({
            "event": kind.name(),
            "appeal": appeal.id,
            "channel": appeal.channel,
            "department": appeal.work.department,
            "region": appeal.work.region,
            "assignee": appeal.work.assignee,
            "text": text,
        });
        let request = wit::OutboundRequest {
            method: "POST".into(),
            url: notify.to.clone(),
            headers: vec![wit::Header { name: "content-type".into(), value: "application/json".into() }],
            body: body.to_string().into_bytes(),
        };
        let hosts: Vec<String> =
            store.setting(NOTICE_HOSTS).map_err(|e| format!("{e:#}"))?.unwrap_or_default();
        runtime
            .outbound()
            .send(&request, "notice webhooks", &hosts, CALL_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?
    } else {
        let stage = adapter(registry, &notify.channel)?;
        let target = addressed(notify, appeal, subject);
        let reply = wit::OutboundReply {
            id: ulid::Ulid::new().to_string(),
            text: text.to_string(),
            author: Some("ClientHub".into()),
        };
        runtime
            .send_reply(&stage.plugin, store.directory(), &target, &reply)
            .await
            .map_err(|e| e.to_string())?
    };
    match answer.status {
        200..=299 => Ok(()),
        status => Err(format!("HTTP {status}")),
    }
}

/// The active adapter of `channel`, which renders what goes out through it.
pub(super) fn adapter(
    registry: &Registry,
    channel: &str,
) -> Result<Arc<crate::registry::Stage<crate::runtime::ChannelWorld>>, String> {
    registry.pipeline().channels.get(channel).cloned().ok_or(format!("no active {channel} adapter"))
}

/// Who a notice went to, as the history says it: a webhook by host and port only (its URL may
/// carry a token), a chat or mailbox as named.
pub(super) fn recipient(notify: &Notify) -> String {
    match notify.channel.as_str() {
        "webhook" => crate::runtime::egress::Target::parse(&notify.to)
            .map_or("(invalid URL)".into(), |t| t.authority()),
        _ => notify.to.clone(),
    }
}

/// An appeal addressed to the notice's recipient, for the channel adapter to render.
pub(super) fn addressed(notify: &Notify, about: &Appeal, subject: &str) -> wit::Appeal {
    let mut target = convert::to_wit(about);
    target.channel = notify.channel.clone();
    target.platform_id = String::new();
    target.conversation_key = format!("chat:{}", notify.to);
    target.subject = Some(subject.to_string());
    target.contact = wit::Contact {
        name: None,
        phone: None,
        email: notify.to.contains('@').then(|| notify.to.clone()),
        platform_user_id: None,
    };
    target.metadata = ["chat_id", "peer_id"]
        .iter()
        .map(|k| wit::MetaEntry { key: k.to_string(), value: notify.to.clone() })
        .collect();
    target
}
