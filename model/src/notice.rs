//! Notices about work, as data: what a notice tells ([`NoticeKind`], one spelling for the
//! directory's rules, the store's marks, the workers and the API) and how an attempt went
//! ([`NoticeOutcome`]). Re-exported by [`crate::event`], whose events call for them.

use crate::event::Event;
use serde::{Deserialize, Serialize};

/// A work notice's kind: what it tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A new appeal reached a department.
    New,
    /// An appeal was assigned to someone.
    Assigned,
    /// An appeal was handed off.
    HandedOff,
    /// An appeal was escalated.
    Escalated,
    /// An appeal missed a deadline.
    Overdue,
    /// The customer was asked to rate the help (the survey).
    Csat,
    /// The customer rated low (the manager hears of it).
    RatedLow,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 7] = [
        NoticeKind::New,
        NoticeKind::Assigned,
        NoticeKind::HandedOff,
        NoticeKind::Escalated,
        NoticeKind::Overdue,
        NoticeKind::Csat,
        NoticeKind::RatedLow,
    ];

    /// The directory's and the API's spelling (`new`, `handed_off`, …).
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::New => "new",
            NoticeKind::Assigned => "assigned",
            NoticeKind::HandedOff => "handed_off",
            NoticeKind::Escalated => "escalated",
            NoticeKind::Overdue => "overdue",
            NoticeKind::Csat => "csat",
            NoticeKind::RatedLow => "rated_low",
        }
    }

    /// The kind spelt `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether a directory's notice rule may name it (the others are the host's own).
    pub fn for_rules(self) -> bool {
        matches!(self, NoticeKind::New | NoticeKind::Assigned | NoticeKind::HandedOff | NoticeKind::Escalated)
    }

    /// The notice an event calls for: work arriving (a new appeal routed, an assignment, a
    /// hand-off, an escalation), a resolution (the customer's survey), a low rating (the
    /// manager hears of it).
    pub fn of(event: &Event) -> Option<Self> {
        let stage = match event {
            Event::Routed { .. } => "routed",
            Event::Assigned { .. } => "assigned",
            Event::HandedOff { .. } => "handed_off",
            Event::Escalated { .. } => "escalated",
            Event::Resolved { .. } => "resolved",
            Event::RatedLow { .. } => "rated_low",
            Event::Legacy { stage, .. } => stage,
            _ => return None,
        };
        Some(match stage {
            "routed" => NoticeKind::New,
            "assigned" => NoticeKind::Assigned,
            "handed_off" => NoticeKind::HandedOff,
            "escalated" => NoticeKind::Escalated,
            "resolved" => NoticeKind::Csat,
            "rated_low" => NoticeKind::RatedLow,
            _ => return None,
        })
    }
}

/// How a notice went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeOutcome {
    /// Sent through `channel` to `recipient` (a chat, an address).
    Sent {
        /// The channel or `webhook`.
        channel: String,
        /// Whom it went to.
        recipient: String,
    },
    /// Given up: the sending failed.
    Failed {
        /// The channel or `webhook`.
        channel: String,
        /// Whom it was for.
        recipient: String,
        /// Why.
        error: String,
    },
    /// The rule names the assignee, who has no chat for notices.
    NoChat,
    /// The customer was asked to rate the help.
    Asked,
    /// The customer's survey was not asked, for this reason (the plugin's or host's words).
    NotAsked(String),
}
