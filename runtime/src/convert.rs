//! Conversions between the WIT records plugins see and ClientHub's stored records.

use crate::appeal::{Appeal, Attachment, AttachmentKind, Contact, Decision};
use crate::inbound;
use crate::wit;

/// A contact as stored, from the one a plugin found.
pub fn contact(c: wit::Contact) -> Contact {
    Contact { name: c.name, phone: c.phone, email: c.email, platform_user_id: c.platform_user_id }
}

fn attachment_kind(kind: wit::AttachmentKind) -> AttachmentKind {
    match kind {
        wit::AttachmentKind::Photo => AttachmentKind::Photo,
        wit::AttachmentKind::Document => AttachmentKind::Document,
        wit::AttachmentKind::Audio => AttachmentKind::Audio,
        wit::AttachmentKind::Voice => AttachmentKind::Voice,
        wit::AttachmentKind::Video => AttachmentKind::Video,
        wit::AttachmentKind::CallRecording => AttachmentKind::CallRecording,
        wit::AttachmentKind::Other => AttachmentKind::Other,
    }
}

fn wit_attachment_kind(kind: AttachmentKind) -> wit::AttachmentKind {
    match kind {
        AttachmentKind::Photo => wit::AttachmentKind::Photo,
        AttachmentKind::Document => wit::AttachmentKind::Document,
        AttachmentKind::Audio => wit::AttachmentKind::Audio,
        AttachmentKind::Voice => wit::AttachmentKind::Voice,
        AttachmentKind::Video => wit::AttachmentKind::Video,
        AttachmentKind::CallRecording => wit::AttachmentKind::CallRecording,
        AttachmentKind::Other => wit::AttachmentKind::Other,
    }
}

/// Attachments as stored (no bytes yet: the media fetcher brings them), from a plugin's list.
pub fn attachments(list: Vec<wit::Attachment>) -> Vec<Attachment> {
    list.into_iter()
        .map(|a| Attachment {
            kind: attachment_kind(a.kind),
            reference: a.reference,
            mime_type: a.mime_type,
            size: a.size,
            file_name: a.file_name,
        })
        .collect()
}

/// The appeal as filters and routers see it.
pub fn to_wit(a: &Appeal) -> wit::Appeal {
    wit::Appeal {
        id: a.id.clone(),
        channel: a.channel.clone(),
        platform_id: a.platform_id.clone(),
        conversation_key: a.conversation_key.clone(),
        received_at: a.received_at,
        contact: wit::Contact {
            name: a.contact.name.clone(),
            phone: a.contact.phone.clone(),
            email: a.contact.email.clone(),
            platform_user_id: a.contact.platform_user_id.clone(),
        },
        subject: a.subject.clone(),
        text: a.text.clone(),
        attachments: a
            .attachments
            .iter()
            .map(|x| wit::Attachment {
                kind: wit_attachment_kind(x.kind),
                reference: x.reference.clone(),
                mime_type: x.mime_type.clone(),
                size: x.size,
                file_name: x.file_name.clone(),
            })
            .collect(),
        metadata: a
            .metadata
            .iter()
            .map(|(k, v)| wit::MetaEntry { key: k.clone(), value: v.clone() })
            .collect(),
        tags: a.tags.clone(),
    }
}

/// A router's decision as stored.
pub fn decision(d: wit::Decision) -> Decision {
    Decision {
        queue: d.queue,
        region: d.region,
        department: d.department,
        topic: d.topic,
        candidates: d.candidates,
        strategy: match d.strategy {
            wit::AssignmentStrategy::RoundRobin => "round-robin",
            wit::AssignmentStrategy::LeastLoaded => "least-loaded",
            wit::AssignmentStrategy::Manual => "manual",
        }
        .to_string(),
        priority: match d.priority {
            wit::Priority::Low => "low",
            wit::Priority::Normal => "normal",
            wit::Priority::High => "high",
            wit::Priority::Urgent => "urgent",
        }
        .to_string(),
        reaction_minutes: d.reaction_minutes,
        reason: d.reason,
    }
}

/// An adapter's event in ClientHub's terms.
pub fn event(event: wit::Event) -> inbound::Event {
    let message = |m: wit::InboundMessage| inbound::Message {
        platform_id: m.platform_id,
        conversation_key: m.conversation_key,
        sent_at: m.sent_at,
        contact: contact(m.contact),
        subject: m.subject,
        text: m.text,
        attachments: attachments(m.attachments),
        metadata: m.metadata.into_iter().map(|e| (e.key, e.value)).collect(),
    };
    match event {
        wit::Event::NewAppeal(m) => inbound::Event::NewAppeal(message(m)),
        wit::Event::FollowUp(m) => inbound::Event::FollowUp(message(m)),
        wit::Event::ReplyCommand(r) => inbound::Event::ReplyCommand(inbound::ReplyCommand {
            appeal_id: r.appeal_id,
            text: r.text,
            author: r.author,
        }),
        wit::Event::DeliveryStatus(s) => inbound::Event::DeliveryStatus(inbound::DeliveryStatus {
            platform_message_id: s.platform_message_id,
            state: reply_state(s.state),
            detail: s.detail,
        }),
    }
}

/// A channel's word on a delivered reply, as stored.
pub fn reply_state(s: wit::DeliveryState) -> crate::appeal::ReplyState {
    use crate::appeal::ReplyState;
    match s {
        wit::DeliveryState::Sent => ReplyState::Sent,
        wit::DeliveryState::Delivered => ReplyState::Delivered,
        wit::DeliveryState::Read => ReplyState::Read,
        wit::DeliveryState::Failed => ReplyState::Failed,
    }
}

/// The WIT request of a stored raw request.
pub fn request_of(raw: &crate::store::RawRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        method: raw.method.clone(),
        path: raw.path.clone(),
        query: raw.query.clone(),
        headers: raw.headers.iter().map(|(n, v)| wit::Header { name: n.clone(), value: v.clone() }).collect(),
        body: raw.body.clone(),
    }
}
