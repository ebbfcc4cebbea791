//! The operator's workspace over the API: appeals typed in by hand (`POST /api/appeals`),
//! internal notes, reclassification (and routing again), checklist ticks, and ready answers
//! (`GET|PUT /api/templates`, `GET /api/appeals/{id}/templates` filled in for the appeal).
//! Every one is scoped and recorded under the caller's name.

use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::json;
use crate::access::Role;
use crate::appeal::Contact;
use crate::event::{Event, Origin};
use crate::inbound::Message;
use crate::replies::templates::{self, Template};
use crate::store::RawRequest;
use crate::work::actions::{Action, apply};

/// The channels of appeals typed in by hand.
pub const MANUAL_CHANNELS: [&str; 3] = ["phone", "visit", "book"];

/// `POST /api/appeals {"channel": "phone"|"visit"|"book", "contact", "text", "subject"?,
/// "topic"?, "region"?}`: an appeal typed in by hand (a call card, a walk-in, the complaint
/// book). It goes through the filters and the router like any other; a named topic or region
/// then corrects the route. 201 with the appeal — or only its id and `"visible": false` when it
/// was routed outside the creator's scope.
pub async fn create(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct New {
        channel: String,
        #[serde(default)]
        contact: NewContact,
        text: String,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        topic: Option<String>,
        #[serde(default)]
        region: Option<String>,
    }
    #[derive(Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewContact {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        phone: Option<String>,
        #[serde(default)]
        email: Option<String>,
    }
    if call.caller.role == Role::Master {
        return Err(ApiError::new(403, "мастер не создаёт обращения (masters do not create appeals)"));
    }
    let request = call.take_request();
    let (parts, body) = super::reply::read_body(request, 1 << 20).await?;
    let new: New =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?;
    if !MANUAL_CHANNELS.contains(&new.channel.as_str()) {
        return Err(ApiError::invalid(format!("channel: one of {}", MANUAL_CHANNELS.join(", "))));
    }
    if new.text.trim().is_empty() {
        return Err(ApiError::invalid("text: what the customer said"));
    }
    let author = call.caller.author();
    let store = call.app.store.clone();
    let raw = RawRequest {
        id: store.fresh_id(),
        channel: new.channel.clone(),
        received_at: store.now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: String::new(),
        headers: vec![("x-clienthub-created-by".into(), author.clone())],
        outcome: String::new(),
        body: body.to_vec(),
    };
    let message = Message {
        platform_id: format!("manual:{}", raw.id),
        conversation_key: format!("manual:{}", raw.id),
        sent_at: None,
        contact: Contact {
            name: new.contact.name,
            phone: new.contact.phone,
            email: new.contact.email,
            platform_user_id: None,
        },
        subject: new.subject,
        text: new.text,
        attachments: Vec::new(),
        metadata: vec![("created_by".into(), author.clone())],
    };
    let (pipeline, runtime) = (call.app.registry.pipeline(), call.app.registry.runtime().clone());
    let created = tokio::task::spawn_blocking(move || pipeline.create(&store, &runtime, raw, message))
        .await
        .map_err(|e| ApiError::internal(format!("creating the appeal failed: {e}")))??
        .ok_or_else(|| ApiError::new(409, "the appeal was not created (a duplicate)"))?;
    let origin = match new.channel.as_str() {
        "phone" => Origin::Phone,
        "visit" => Origin::Visit,
        _ => Origin::ComplaintBook,
    };
    let by = call.caller.actor();
    call.app.store.change_appeal(&created, |a| {
        a.record(a.received_at, None, Event::Created { origin, by: Some(by.clone()) });
    })?;
    if new.topic.is_some() || new.region.is_some() {
        let action =
            Action::Reclassify { topic: new.topic, region: new.region, department: None, reason: None };
        apply(&call.app.store, &created, &action, Some(&by))?;
    }
    call.app.store.commit().await?;
    // Routed outside the creator's scope: they learn where it went, not what it holds now.
    match call.visible_appeal(&created) {
        Ok(appeal) => Ok(json(201, &super::history::shown(&call, &appeal))),
        Err(_) => Ok(json(201, &serde_json::json!({ "id": created, "visible": false }))),
    }
}

/// `POST /api/appeals/{id}/notes {"text"}`: an internal note, staff only, in the history.
pub async fn note(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Note {
        text: String,
    }
    let appeal = call.visible_appeal(call.param(0))?;
    let note: Note = call.json().await?;
    let changed =
        apply(&call.app.store, &appeal.id, &Action::Note { text: note.text }, Some(&call.caller.actor()))?;
    call.app.store.commit().await?;
    Ok(json(201, &super::history::shown(&call, &call.caller.scope.redact(changed))))
}

/// `POST /api/appeals/{id}/reclassify {"topic"?, "region"?, "department"?, "reason"?}` or
/// `{"route_again": true}`: corrects the route; assignment and SLA follow.
pub async fn reclassify(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reclassify {
        #[serde(default)]
        topic: Option<String>,
        #[serde(default)]
        region: Option<String>,
        #[serde(default)]
        department: Option<String>,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        route_again: bool,
    }
    let appeal = call.visible_appeal(call.param(0))?;
    if call.caller.role == Role::Master {
        return Err(ApiError::new(403, "мастер не меняет маршрут (masters do not reclassify)"));
    }
    let body: Reclassify = call.json().await?;
    let author = call.caller.actor();
    let changed = match body.route_again {
        true => {
            let (pipeline, runtime, store) =
                (call.app.registry.pipeline(), call.app.registry.runtime().clone(), call.app.store.clone());
            let id = appeal.id.clone();
            tokio::task::spawn_blocking(move || pipeline.route_again(&store, &runtime, &id, &author))
                .await
                .map_err(|e| ApiError::internal(format!("routing again failed: {e}")))??
        }
        false => {
            let action = Action::Reclassify {
                topic: body.topic,
                region: body.region,
                department: body.department,
                reason: body.reason,
            };
            apply(&call.app.store, &appeal.id, &action, Some(&author))?
        }
    };
    call.app.store.commit().await?;
    Ok(json(200, &super::history::shown(&call, &call.caller.scope.redact(changed))))
}

/// `POST /api/appeals/{id}/checklist/{item} {"done": true|false}`: ticks a checklist item.
pub async fn tick(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tick {
        #[serde(default = "yes")]
        done: bool,
    }
    fn yes() -> bool {
        true
    }
    let appeal = call.visible_appeal(call.param(0))?;
    let item = call.param(1).to_string();
    let tick: Tick = call.json().await?;
    let action = Action::Tick { item, done: tick.done };
    let changed = apply(&call.app.store, &appeal.id, &action, Some(&call.caller.actor()))?;
    call.app.store.commit().await?;
    let directory = call.app.store.directory();
    Ok(json(200, &crate::work::checklist::state(&changed, &directory)))
}

/// `GET /api/templates`: every ready answer.
pub async fn templates(call: Call) -> Answer {
    Ok(json(200, &templates::all(&call.app.store)?))
}

/// `PUT /api/templates [{"id", "name", "topic"?, "text"}]`: replaces the ready answers.
pub async fn put_templates(mut call: Call) -> Answer {
    let list: Vec<Template> = call.json().await?;
    let directory = call.app.store.directory();
    let saved = templates::replace(&call.app.store, list, &directory)?;
    call.audit("templates_changed", "", saved.iter().map(|t| t.id.clone()).collect())?;
    Ok(json(200, &saved))
}

/// `GET /api/appeals/{id}/templates`: the ready answers for the appeal, filled in.
pub async fn appeal_templates(call: Call) -> Answer {
    let appeal = call.visible_appeal(call.param(0))?;
    Ok(json(200, &templates::for_appeal(&call.app.store, &appeal, &call.caller.name)?))
}
