//! What can happen to an appeal, as data: one [`Event`] per entry of its history, with who
//! acted as an [`Actor`] (an employee's id, never their name in a sentence). Words for people
//! are made from these at the edge ([`crate::text`]); nothing reads an event's words back.
//!
//! The store keeps events in postcard, where a variant's place is its identity: add variants
//! and fields only at the end, and take a new record format for anything else.

use crate::appeal::{AttachmentKind, ReplyState};
pub use crate::notice::{NoticeKind, NoticeOutcome};
use serde::{Deserialize, Serialize};

/// Who did something to an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// An employee, by their id in the directory.
    Employee(String),
    /// A service token or the host's admin token, by its name.
    Service(String),
    /// A plugin (a CRM connector moving a deal), as `name@version`.
    Plugin(String),
    /// The customer (a low rating opened the appeal again).
    Customer,
}

impl Actor {
    /// The employee's id, when an employee acted.
    pub fn employee(&self) -> Option<&str> {
        match self {
            Actor::Employee(id) => Some(id),
            _ => None,
        }
    }

    /// The id or name it is known by in logs and the audit (`customer` for the customer).
    pub fn key(&self) -> &str {
        match self {
            Actor::Employee(key) | Actor::Service(key) | Actor::Plugin(key) => key,
            Actor::Customer => "customer",
        }
    }
}

/// Where a hand-off starts or ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// An employee, by id.
    Employee(String),
    /// A department, by id.
    Department(String),
}

/// The route field a reclassification changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteField {
    /// The topic.
    Topic,
    /// The region.
    Region,
    /// The department.
    Department,
}

/// One change of a reclassification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteChange {
    /// What changed.
    pub field: RouteField,
    /// Its id before, if it had one.
    pub from: Option<String>,
    /// Its id now.
    pub to: String,
}

/// Which SLA clock a deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Taking into work.
    Reaction,
    /// Resolving.
    Resolution,
}

/// How an assignment chose its employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In turn.
    RoundRobin,
    /// The one with the fewest open appeals.
    LeastLoaded,
}

/// Why an employee could not take an appeal just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// Marked inactive in the directory.
    Inactive,
    /// Signed out of work (presence «off»).
    Off,
    /// Stepped away (presence «away»).
    Away,
    /// Outside their working hours.
    OffWork,
    /// On a day off.
    DayOff,
    /// At their limit of open appeals.
    Full,
}

/// Why an appeal waits in a queue with nobody assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// Nobody in the directory serves its department and region.
    NobodyServes,
    /// Everyone who serves it is unavailable, each for a reason (employee id, why).
    NobodyFree(Vec<(String, Unavailable)>),
}

/// What an appeal was made from by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A phone call.
    Phone,
    /// A walk-in.
    Visit,
    /// The complaint book.
    ComplaintBook,
}

/// Why a file of the appeal could not be kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileProblem {
    /// Fetching it failed (the platform's or the host's words).
    Failed(String),
    /// It is larger than the cap (bytes).
    TooLarge(u64),
}

/// One thing that happened to an appeal. The variant's name is its `stage` in the API
/// (`handed_off`, `reply_sent`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A channel's request became this appeal.
    Received {
        /// The raw request kept.
        raw_request: String,
    },
    /// A filter kept it.
    Kept,
    /// A filter tagged it.
    Tagged {
        /// The tags.
        tags: Vec<String>,
    },
    /// A filter dropped it.
    Dropped {
        /// The filter's reason (its own words).
        reason: String,
    },
    /// A filter failed on a follow-up (the follow-up joined all the same).
    FilterFailed {
        /// The failure.
        error: String,
    },
    /// No router was active: it stays new.
    Unrouted,
    /// The router placed it.
    Routed {
        /// The queue.
        queue: String,
        /// The topic, by id.
        topic: Option<String>,
        /// The region, by id.
        region: Option<String>,
        /// The department, by id.
        department: Option<String>,
        /// The router's explanation (its own words).
        reason: String,
    },
    /// A plugin failed on it, or its payload could not be read.
    Triage {
        /// The failure.
        error: String,
    },
    /// A follow-up message from the customer joined it.
    Message {
        /// The message's text.
        text: String,
        /// Files it brought.
        attachments: u32,
    },
    /// A CRM asked for a reply to be sent.
    ReplyRequested {
        /// Who asked, as the CRM names them.
        author: Option<String>,
        /// The reply's text.
        text: String,
    },
    /// A reply was queued for sending (or queued again after failing).
    ReplyQueued {
        /// The reply's id.
        reply: String,
        /// Who wrote it.
        by: Option<Actor>,
        /// Queued again by an operator after it failed.
        again: bool,
    },
    /// The platform accepted a reply.
    ReplySent {
        /// The reply's id.
        reply: String,
        /// The platform's id of the message.
        message: Option<String>,
        /// Which attempt.
        attempt: u32,
    },
    /// An attempt at a reply did not go through; it is tried again.
    ReplyRetry {
        /// The reply's id.
        reply: String,
        /// Which attempt.
        attempt: u32,
        /// The platform's or the host's words.
        error: String,
        /// Milliseconds until the next attempt.
        next_in_ms: u64,
    },
    /// A reply failed for good.
    ReplyFailed {
        /// The reply's id.
        reply: String,
        /// Attempts made.
        attempt: u32,
        /// The platform's or the host's words.
        error: String,
        /// Given up after retries (else refused at once).
        gave_up: bool,
    },
    /// The platform reported a reply delivered, read or failed.
    DeliveryStatus {
        /// The reply's id.
        reply: String,
        /// Its new state.
        state: ReplyState,
        /// The platform's words, if any.
        detail: Option<String>,
    },
    /// Delivered to the CRM.
    CrmDelivered {
        /// The CRM's kind of record.
        entity: String,
        /// Its id in the CRM.
        id: String,
    },
    /// The CRM is unavailable; delivery is retried.
    CrmRetry {
        /// The CRM's words.
        error: String,
    },
    /// The CRM refused the appeal (kept in the outbox) or an update of its record.
    CrmFailed {
        /// The CRM's or connector's words.
        error: String,
        /// An update of the record was refused and given up (else the appeal itself waits).
        update: bool,
    },
    /// The dispatcher assigned it.
    Assigned {
        /// To whom, by id.
        employee: String,
        /// How the employee was chosen.
        strategy: Strategy,
        /// Their open appeals before this one.
        open: u32,
    },
    /// It waits in a queue with nobody assigned.
    Waiting {
        /// The queue.
        queue: String,
        /// Why.
        reason: WaitReason,
    },
    /// Taken into work.
    Taken {
        /// Who holds it now, by id.
        employee: Option<String>,
        /// Who did it.
        by: Option<Actor>,
    },
    /// Passed on to an employee or a department.
    HandedOff {
        /// Who or which department held it.
        from: Option<Place>,
        /// Where to.
        to: Place,
        /// Who did it.
        by: Option<Actor>,
        /// Why.
        reason: Option<String>,
    },
    /// Moved up to the department's next level.
    Escalated {
        /// The department it left, by id.
        from: Option<String>,
        /// The department it reached, by id.
        to: String,
        /// Who did it (none when the dispatcher did, not taken in time).
        by: Option<Actor>,
        /// Why.
        reason: Option<String>,
        /// Minutes it waited untaken, when the dispatcher moved it.
        after_minutes: Option<u32>,
    },
    /// Waiting for the customer or a third party.
    Paused {
        /// Who did it.
        by: Option<Actor>,
        /// Why.
        reason: Option<String>,
    },
    /// The pause ended.
    Resumed {
        /// Who did it.
        by: Option<Actor>,
    },
    /// Resolved.
    Resolved {
        /// Who did it.
        by: Option<Actor>,
    },
    /// Opened again.
    Reopened {
        /// Who did it.
        by: Option<Actor>,
    },
    /// Its route was corrected.
    Reclassified {
        /// What changed (empty: nothing did).
        changes: Vec<RouteChange>,
        /// Who did it.
        by: Option<Actor>,
        /// Why.
        reason: Option<String>,
    },
    /// An internal note.
    Note {
        /// Who wrote it.
        by: Option<Actor>,
        /// The note.
        text: String,
    },
    /// A checklist item ticked off.
    ChecklistDone {
        /// The item's id.
        item: String,
        /// Its text when ticked.
        text: String,
        /// Who ticked it.
        by: Option<Actor>,
    },
    /// A checklist item ticked back.
    ChecklistUndone {
        /// The item's id.
        item: String,
        /// Its text when ticked.
        text: String,
        /// Who ticked it.
        by: Option<Actor>,
    },
    /// A deadline was missed.
    Overdue {
        /// Which.
        clock: Clock,
        /// Minutes late when found.
        late_minutes: u64,
    },
    /// The department was told of a missed deadline.
    OverdueNotice {
        /// How it went.
        outcome: NoticeOutcome,
    },
    /// A work notice (or the customer's survey) went out.
    Notice {
        /// What it told.
        kind: NoticeKind,
        /// How it went.
        outcome: NoticeOutcome,
    },
    /// The customer rated the help.
    Rated {
        /// 1 to 5.
        score: u8,
    },
    /// The rating is low (at or under the directory's bound).
    RatedLow {
        /// 1 to 5.
        score: u8,
    },
    /// Personal data erased on request.
    Erased {
        /// Who asked.
        by: Option<Actor>,
    },
    /// Made by hand from a call, a visit or the complaint book.
    Created {
        /// From what.
        origin: Origin,
        /// Who typed it in.
        by: Option<Actor>,
    },
    /// Through the current filters and router again.
    Reprocessed {
        /// Who asked (none: out of triage).
        by: Option<Actor>,
        /// The appeals a re-read request became, when the adapter reads it now.
        appeals: Vec<String>,
    },
    /// A re-read of a kept request failed again.
    ReprocessFailed {
        /// The adapter's words.
        error: String,
    },
    /// An attachment's file was kept.
    FileStored {
        /// The attachment, from 0.
        attachment: u16,
        /// Its kind.
        kind: AttachmentKind,
        /// Bytes.
        size: u64,
    },
    /// An attachment's file could not be kept.
    FileFailed {
        /// The attachment, from 0.
        attachment: u16,
        /// Its kind.
        kind: AttachmentKind,
        /// Why.
        problem: FileProblem,
    },
    /// An entry written before history was typed (record format 3): its stage and its
    /// English words, kept as they were.
    Legacy {
        /// The stage as written.
        stage: String,
        /// The words as written.
        detail: String,
    },
    /// It went back to the queue: the employee holding it had been off longer than the
    /// directory allows.
    Returned {
        /// Who held it, by id.
        from: String,
        /// Minutes they had been off.
        minutes: u32,
    },
}

impl Event {
    /// The stage name: the variant's name in snake case (a legacy entry's own stage).
    pub fn stage(&self) -> &str {
        match self {
            Event::Received { .. } => "received",
            Event::Kept => "kept",
            Event::Tagged { .. } => "tagged",
            Event::Dropped { .. } => "dropped",
            Event::FilterFailed { .. } => "filter_failed",
            Event::Unrouted => "unrouted",
            Event::Routed { .. } => "routed",
            Event::Triage { .. } => "triage",
            Event::Message { .. } => "message",
            Event::ReplyRequested { .. } => "reply_requested",
            Event::ReplyQueued { .. } => "reply_queued",
            Event::ReplySent { .. } => "reply_sent",
            Event::ReplyRetry { .. } => "reply_retry",
            Event::ReplyFailed { .. } => "reply_failed",
            Event::DeliveryStatus { .. } => "delivery_status",
            Event::CrmDelivered { .. } => "crm_delivered",
            Event::CrmRetry { .. } => "crm_retry",
            Event::CrmFailed { .. } => "crm_failed",
            Event::Assigned { .. } => "assigned",
            Event::Returned { .. } => "returned",
            Event::Waiting { .. } => "waiting",
            Event::Taken { .. } => "taken",
            Event::HandedOff { .. } => "handed_off",
            Event::Escalated { .. } => "escalated",
            Event::Paused { .. } => "paused",
            Event::Resumed { .. } => "resumed",
            Event::Resolved { .. } => "resolved",
            Event::Reopened { .. } => "reopened",
            Event::Reclassified { .. } => "reclassified",
            Event::Note { .. } => "note",
            Event::ChecklistDone { .. } => "checklist_done",
            Event::ChecklistUndone { .. } => "checklist_undone",
            Event::Overdue { .. } => "overdue",
            Event::OverdueNotice { .. } => "overdue_notice",
            Event::Notice { .. } => "notice",
            Event::Rated { .. } => "rated",
            Event::RatedLow { .. } => "rated_low",
            Event::Erased { .. } => "erased",
            Event::Created { .. } => "created",
            Event::Reprocessed { .. } => "reprocessed",
            Event::ReprocessFailed { .. } => "reprocess_failed",
            Event::FileStored { .. } => "file_stored",
            Event::FileFailed { .. } => "file_failed",
            Event::Legacy { stage, .. } => stage,
        }
    }

    /// Who acted, where the event names someone.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Event::ReplyQueued { by, .. }
            | Event::Taken { by, .. }
            | Event::HandedOff { by, .. }
            | Event::Escalated { by, .. }
            | Event::Paused { by, .. }
            | Event::Resumed { by }
            | Event::Resolved { by }
            | Event::Reopened { by }
            | Event::Reclassified { by, .. }
            | Event::Note { by, .. }
            | Event::ChecklistDone { by, .. }
            | Event::ChecklistUndone { by, .. }
            | Event::Erased { by }
            | Event::Created { by, .. }
            | Event::Reprocessed { by, .. } => by.as_ref(),
            _ => None,
        }
    }

    /// The reason someone gave, where the event carries one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Event::HandedOff { reason, .. }
            | Event::Escalated { reason, .. }
            | Event::Paused { reason, .. }
            | Event::Reclassified { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// The reply the event is about.
    pub fn reply(&self) -> Option<&str> {
        match self {
            Event::ReplyQueued { reply, .. }
            | Event::ReplySent { reply, .. }
            | Event::ReplyRetry { reply, .. }
            | Event::ReplyFailed { reply, .. }
            | Event::DeliveryStatus { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// Removes the free words the event carries (a note, a message, a reason, an error that may
    /// quote the customer): what an erasure leaves is who did what, when.
    pub fn erase_words(&mut self) {
        match self {
            Event::Message { text, .. }
            | Event::Note { text, .. }
            | Event::ReplyRequested { text, .. }
            | Event::Legacy { detail: text, .. } => text.clear(),
            Event::HandedOff { reason, .. }
            | Event::Escalated { reason, .. }
            | Event::Paused { reason, .. }
            | Event::Reclassified { reason, .. } => *reason = None,
            Event::Dropped { reason: error }
            | Event::Routed { reason: error, .. }
            | Event::Triage { error }
            | Event::FilterFailed { error }
            | Event::ReprocessFailed { error }
            | Event::CrmRetry { error }
            | Event::CrmFailed { error, .. }
            | Event::ReplyRetry { error, .. }
            | Event::ReplyFailed { error, .. } => error.clear(),
            Event::DeliveryStatus { detail, .. } => *detail = None,
            Event::Notice { outcome, .. } | Event::OverdueNotice { outcome } => match outcome {
                NoticeOutcome::Failed { error, .. } | NoticeOutcome::NotAsked(error) => error.clear(),
                _ => {}
            },
            _ => {}
        }
    }
}
