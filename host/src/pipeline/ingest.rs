//! What an adapter found, through the rest of the pipeline: duplicates recognised by (channel,
//! platform id), follow-ups joined to their conversation's open appeal, new appeals decided
//! (filters, router) and stored, delivery statuses and reply commands recorded.

use super::adapt::Intake;
use super::decide::Filtered;
use crate::appeal::Appeal;
use crate::event::Event;
use crate::inbound;
use crate::normalize;
use crate::registry::Pipeline;
use crate::runtime::Runtime;
use crate::store::{Claim, RawRequest, Store};
use anyhow::Result;

impl Pipeline {
    /// The rest of the pipeline for what an adapter found: the appeals created or updated.
    ///
    /// # Errors
    /// Only on storage failure (then nothing may be acknowledged).
    pub fn process(&self, store: &Store, runtime: &Runtime, intake: Intake) -> Result<Vec<String>> {
        let Intake { mut raw, adapter, events } = intake;
        let mut appeals = Vec::new();
        let mut outcomes = Vec::new();
        for event in events {
            let outcome = self.event(store, runtime, &raw, &adapter, event)?;
            appeals.extend(outcome.appeal().map(str::to_string));
            outcomes.push(outcome);
        }
        // A repeated delivery of messages already stored does not store its body again.
        let repeated = !outcomes.is_empty() && outcomes.iter().all(|o| matches!(o, Outcome::Duplicate(_)));
        let text = || outcomes.iter().map(Outcome::to_string).collect::<Vec<_>>().join("; ");
        match (outcomes.is_empty(), repeated) {
            (true, _) => store.keep_raw(&mut raw, "no events".into())?,
            (false, true) => store.note_raw_outcome(&mut raw, text())?,
            (false, false) => store.keep_raw(&mut raw, text())?,
        }
        Ok(appeals)
    }

    /// An appeal typed in by hand (a phone call, a walk-in, the complaint book): `raw` is the
    /// request that asked for it, kept like a webhook's, and `message` goes through the
    /// normaliser, the filters and the router like any other. The appeal's id, unless a
    /// filter found it a duplicate.
    ///
    /// # Errors
    /// Only on storage failure.
    pub fn create(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: RawRequest,
        message: inbound::Message,
    ) -> Result<Option<String>> {
        let intake =
            Intake { raw, adapter: "console".into(), events: vec![inbound::Event::NewAppeal(message)] };
        Ok(self.process(store, runtime, intake)?.into_iter().next())
    }

    fn event(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: &RawRequest,
        adapter: &str,
        event: inbound::Event,
    ) -> Result<Outcome> {
        match event {
            inbound::Event::NewAppeal(message) => self.message(store, runtime, raw, adapter, message, false),
            inbound::Event::FollowUp(message) => self.message(store, runtime, raw, adapter, message, true),
            inbound::Event::ReplyCommand(reply) => {
                let requested =
                    Event::ReplyRequested { author: reply.author.clone(), text: reply.text.clone() };
                Ok(match annotate(store, &reply.appeal_id, adapter, requested)? {
                    true => Outcome::ReplyCommand(reply.appeal_id.clone()),
                    false => Outcome::UnknownAppeal(reply.appeal_id.clone()),
                })
            }
            inbound::Event::DeliveryStatus(status) => {
                let (appeal, text) = crate::replies::delivery_status(store, &raw.channel, adapter, &status)?;
                Ok(Outcome::DeliveryStatus { appeal, text })
            }
        }
    }

    /// A message: a duplicate, a follow-up joining its conversation's open appeal, or a new
    /// appeal through filters and router.
    fn message(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: &RawRequest,
        adapter: &str,
        message: inbound::Message,
        follow_up: bool,
    ) -> Result<Outcome> {
        if let Some(existing) = store.seen(&raw.channel, &message.platform_id)? {
            return Ok(duplicate(raw, &message.platform_id, existing));
        }
        if let Some(answered) = survey_answer(store, raw, adapter, &message)? {
            return Ok(answered);
        }
        let open = match follow_up {
            true => store
                .conversation(&raw.channel, &message.conversation_key)?
                .map(|id| store.appeal(&id))
                .transpose()?
                .flatten()
                .filter(|a| a.status.is_open()),
            false => None,
        };
        if let Some(open) = open
            && let Some(joined) = self.follow_up(store, runtime, raw, adapter, &open.id, &message)?
        {
            return Ok(joined);
        }
        let id = store.appeal_id_for(&raw.channel, &message.platform_id)?;
        let mut appeal = self.decide(runtime, store, incoming(store, raw, adapter, id, message));
        if let Claim::Seen(existing) = store.insert_appeal(&mut appeal)? {
            return Ok(duplicate(raw, &appeal.platform_id, existing));
        }
        crate::metrics::appeal_stored(&appeal.channel, appeal.status.name());
        crate::rollout::shadow::run(store, runtime, &self.shadows, &appeal)?;
        tracing::info!(
            appeal = %appeal.id,
            channel = %appeal.channel,
            status = ?appeal.status,
            queue = appeal.decision.as_ref().map(|d| d.queue.as_str()).unwrap_or("-"),
            "appeal stored"
        );
        Ok(Outcome::Appeal(appeal.id))
    }

    /// A follow-up to the open appeal `open`, seen by the filter chain first (as an appeal with
    /// `follow_up_of` in its metadata). Kept, it joins the appeal (with any tags the filters
    /// gave); dropped, it is stored as a dropped appeal of its own, visible with its reason, and
    /// the open appeal never hears of it. `None` when the open appeal is gone meanwhile.
    fn follow_up(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: &RawRequest,
        adapter: &str,
        open: &str,
        message: &inbound::Message,
    ) -> Result<Option<Outcome>> {
        let mut seen = incoming(store, raw, adapter, String::new(), message.clone());
        seen.metadata.push(("follow_up_of".into(), open.to_string()));
        let (tagged, failed) = match self.filter(runtime, store, &mut seen) {
            Filtered::Passed => (seen, None),
            Filtered::Failed { filter, error } => (Appeal::default(), Some((filter, error))),
            Filtered::Dropped => {
                seen.id = store.appeal_id_for(&raw.channel, &message.platform_id)?;
                if let Claim::Seen(existing) = store.insert_appeal(&mut seen)? {
                    return Ok(Some(duplicate(raw, &message.platform_id, existing)));
                }
                crate::metrics::appeal_stored(&seen.channel, seen.status.name());
                tracing::info!(appeal = %seen.id, follow_up_of = open, "follow-up dropped by a filter");
                return Ok(Some(Outcome::DroppedFollowUp(seen.id)));
            }
        };
        let said = Event::Message {
            text: message.text.clone(),
            attachments: u32::try_from(message.attachments.len()).unwrap_or(u32::MAX),
        };
        let now = store.now_ms();
        let claim = Some((raw.channel.as_str(), message.platform_id.as_str(), raw.id.as_str()));
        let updated = store.update_appeal(open, claim, |appeal| {
            if let Some((filter, error)) = &failed {
                tracing::warn!(appeal = %open, filter = %filter, "filter failed on a follow-up: {error}");
                appeal.record(now, Some(filter.clone()), Event::FilterFailed { error: error.clone() });
            }
            // What the filters tagged the message with, they tag the appeal with.
            for event in tagged.history.iter().filter(|e| matches!(e.event, Event::Tagged { .. })) {
                appeal.history.push(crate::appeal::HistoryEvent { at: now, ..event.clone() });
            }
            for tag in &tagged.tags {
                if !appeal.tags.contains(tag) {
                    appeal.tags.push(tag.clone());
                }
            }
            appeal.record(now, Some(adapter.to_string()), said.clone());
            // A follow-up's files (a call recording, a second photo) belong to the appeal too.
            for file in &message.attachments {
                if !appeal.attachments.iter().any(|known| known.reference == file.reference) {
                    appeal.attachments.push(file.clone());
                }
            }
        })?;
        Ok(match updated {
            Some(Claim::Seen(existing)) => Some(duplicate(raw, &message.platform_id, existing)),
            Some(Claim::New) => {
                tracing::info!(appeal = %open, channel = %raw.channel, "follow-up joined its appeal");
                Some(Outcome::FollowUp(open.to_string()))
            }
            None => None, // Gone meanwhile: open a new appeal.
        })
    }
}

/// A message as an appeal, with its contact normalised, the identifiers the directory's
/// patterns find in it, and its `received` event.
fn incoming(store: &Store, raw: &RawRequest, adapter: &str, id: String, message: inbound::Message) -> Appeal {
    let mut contact = message.contact;
    normalize::contact(&mut contact);
    let mut appeal = Appeal {
        id,
        channel: raw.channel.clone(),
        platform_id: message.platform_id,
        conversation_key: message.conversation_key,
        received_at: raw.received_at,
        sent_at: message.sent_at,
        contact,
        subject: message.subject,
        text: message.text,
        attachments: message.attachments,
        metadata: message.metadata,
        raw_request_id: raw.id.clone(),
        ..Appeal::default()
    };
    crate::directory::extract_ids(&store.directory().patterns, &mut appeal);
    appeal.record(
        raw.received_at,
        Some(adapter.to_string()),
        Event::Received { raw_request: raw.id.clone() },
    );
    appeal
}

/// A customer's answer to the survey of their resolved appeal — a pressed button
/// (`survey_id`, `survey_answer` in the metadata) or a lone digit typed after the question —
/// recorded on that appeal, never a new one. Only the conversation the question went to can
/// answer it. A low rating may open the appeal again (`csat.reopen_on_low`).
fn survey_answer(
    store: &Store,
    raw: &RawRequest,
    adapter: &str,
    message: &inbound::Message,
) -> Result<Option<Outcome>> {
    let meta = |key: &str| message.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let typed = message.text.trim();
    let (appeal_id, answer, pressed) = match (meta("survey_id"), meta("survey_answer")) {
        (Some(id), Some(answer)) => (id.to_string(), answer.to_string(), true),
        _ if typed.len() == 1 && message.attachments.is_empty() => {
            let Some(id) = store.conversation(&raw.channel, &message.conversation_key)? else {
                return Ok(None);
            };
            (id, typed.to_string(), false)
        }
        _ => return Ok(None),
    };
    // A pressed button that answers nothing it may answer is no message either: it is ignored.
    let ignored = |why: &'static str| match pressed {
        true => {
            tracing::warn!(appeal = %appeal_id, channel = %raw.channel, "a survey answer {why}: ignored");
            Ok(Some(Outcome::SurveyIgnored(why)))
        }
        false => Ok(None),
    };
    let Some(rating) = answer.parse::<u8>().ok().filter(|r| (1..=5).contains(r)) else {
        return ignored("out of range");
    };
    let Some(appeal) = store.appeal(&appeal_id)? else { return ignored("for no appeal") };
    if appeal.channel != raw.channel || appeal.conversation_key != message.conversation_key {
        return ignored("from another conversation");
    }
    let Some(survey) = store.survey(&appeal_id)? else { return ignored("to a question never asked") };
    // A digit typed after the answer, or into an appeal opened again, is just a message.
    if !pressed && (survey.rating.is_some() || appeal.status.is_open()) {
        return Ok(None);
    }
    let csat = store.directory().csat.clone();
    let low = csat.as_ref().is_some_and(|c| rating <= c.low);
    match store.survey_answered(&appeal_id, rating, &raw.channel, &message.platform_id, adapter, low)? {
        None => Ok(None),
        Some(Claim::Seen(existing)) => Ok(Some(duplicate(raw, &message.platform_id, existing))),
        Some(Claim::New) => {
            if low && csat.is_some_and(|c| c.reopen_on_low) && !appeal.status.is_open() {
                let reopened = crate::work::actions::apply(
                    store,
                    &appeal_id,
                    &crate::work::actions::Action::Reopen,
                    Some(&crate::event::Actor::Customer),
                );
                if let Err(e) = reopened {
                    tracing::warn!(appeal = %appeal_id, "reopening after a low rating failed: {e}");
                }
            }
            tracing::info!(appeal = %appeal_id, rating, "the customer rated the help");
            Ok(Some(Outcome::Rating { appeal: appeal_id, rating }))
        }
    }
}

fn duplicate(raw: &RawRequest, platform_id: &str, existing: String) -> Outcome {
    tracing::debug!(channel = %raw.channel, platform_id, appeal = %existing, "duplicate");
    Outcome::Duplicate(existing)
}

/// What one event of a request came to; its words are kept on the raw request's record.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// A new appeal.
    Appeal(String),
    /// A follow-up that joined this open appeal.
    FollowUp(String),
    /// A follow-up a filter dropped, stored as this appeal.
    DroppedFollowUp(String),
    /// A message already stored, as this appeal.
    Duplicate(String),
    /// The customer's rating of this appeal.
    Rating { appeal: String, rating: u8 },
    /// A pressed survey button that answers nothing it may answer.
    SurveyIgnored(&'static str),
    /// A CRM's reply command for this appeal.
    ReplyCommand(String),
    /// A CRM's reply command for an appeal that does not exist.
    UnknownAppeal(String),
    /// A delivery status (for the appeal of the reply it names, if known).
    DeliveryStatus { appeal: Option<String>, text: String },
}

impl Outcome {
    /// The appeal it created or changed.
    fn appeal(&self) -> Option<&str> {
        match self {
            Outcome::Appeal(id)
            | Outcome::FollowUp(id)
            | Outcome::DroppedFollowUp(id)
            | Outcome::Duplicate(id)
            | Outcome::Rating { appeal: id, .. }
            | Outcome::ReplyCommand(id) => Some(id),
            Outcome::DeliveryStatus { appeal, .. } => appeal.as_deref(),
            Outcome::SurveyIgnored(_) | Outcome::UnknownAppeal(_) => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Appeal(id) => write!(f, "appeal {id}"),
            Outcome::FollowUp(id) => write!(f, "follow-up to {id}"),
            Outcome::DroppedFollowUp(id) => write!(f, "dropped follow-up {id}"),
            Outcome::Duplicate(id) => write!(f, "duplicate of {id}"),
            Outcome::Rating { appeal, rating } => write!(f, "rating {rating} for {appeal}"),
            Outcome::SurveyIgnored(why) => write!(f, "survey answer ignored: {why}"),
            Outcome::ReplyCommand(id) => write!(f, "reply for {id}"),
            Outcome::UnknownAppeal(id) => write!(f, "reply for unknown appeal {id}"),
            Outcome::DeliveryStatus { text, .. } => f.write_str(text),
        }
    }
}

/// Adds a history event to an existing appeal; false when there is no such appeal.
fn annotate(store: &Store, appeal_id: &str, plugin: &str, event: Event) -> Result<bool> {
    let now = store.now_ms();
    let updated = store.update_appeal(appeal_id, None, |appeal| {
        appeal.record(now, Some(plugin.to_string()), event.clone());
    })?;
    Ok(updated.is_some())
}
