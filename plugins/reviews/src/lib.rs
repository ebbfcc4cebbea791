//! Map reviews channel adapter: a review on Google Business Profile, 2GIS or Yandex Maps
//! becomes an appeal with its rating, author and place, the place mapped to a store number and
//! region (`places` in the configuration) so the router sends it to that store's region.
//!
//! The platform is the webhook's sub-path:
//! - `/hooks/reviews/google` — a Cloud Pub/Sub push of a Business Profile notification
//!   (`NEW_REVIEW` / `UPDATED_REVIEW`, which names the review but carries no text), or a
//!   `Review` object posted by a poller (`accounts.locations.reviews.get`).
//! - `/hooks/reviews/2gis` — review objects as the 2GIS reviews API returns them, one or a
//!   page (`{"reviews": [...]}`).
//! - `/hooks/reviews/yandex` — Yandex publishes no reviews API: relays post ClientHub's review
//!   format (`id`, `place_id`, `rating`, `author`, `text`, `created_at`, `url`), one or a list.
//!
//! Each review is a conversation of its own (`review:<platform>:<id>`): an edited review joins
//! its appeal, a repeated delivery is a duplicate (the key includes the edit time). With
//! `api_key` configured, requests must carry it (`X-Api-Key`, or `?token=` for Pub/Sub).
//! Replies go to Google reviews through `PUT …/reviews/{id}/reply` ([`reply`]); 2GIS and
//! Yandex offer partners no reply API.

use base64::Engine;
use clienthub_sdk::text::field as text;
use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Channel, Contact, Event, HttpRequest, HttpResponse, InboundMessage,
    MetaEntry, OutboundReply, OutboundRequest,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

mod reply;

/// The reviews adapter.
pub struct Reviews;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    places: HashMap<String, Place>,
    #[serde(default)]
    google_access_token: Option<String>,
    #[serde(default)]
    google_api_base: Option<String>,
}

/// A platform place as one of the retailer's stores.
#[derive(Debug, Default, Deserialize)]
struct Place {
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A review, whatever platform it came from.
struct Review {
    platform: &'static str,
    id: String,
    /// The platform's place id (Google location name, 2GIS branch id, Yandex organisation id).
    place: Option<String>,
    rating: Option<u8>,
    author: Option<String>,
    author_id: Option<String>,
    text: String,
    /// RFC 3339.
    created: Option<String>,
    /// RFC 3339, for edits.
    edited: Option<String>,
    url: Option<String>,
    /// Google's resource name (`accounts/…/locations/…/reviews/…`), which replies need.
    resource: Option<String>,
    photos: Vec<String>,
}

impl Channel for Reviews {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if let Some(expected) = &config.api_key {
            let token = form_urlencoded::parse(request.query.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned());
            let given = request.header("x-api-key").map(str::to_string).or(token).unwrap_or_default();
            if !clienthub_sdk::auth::secret_matches(&given, expected) {
                return Err(AdapterError::Unauthorized("X-Api-Key (or ?token=) missing or wrong".into()));
            }
        }
        let ok = HttpResponse::json(&serde_json::json!({ "ok": true }));
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| AdapterError::Malformed(format!("the review payload is not JSON: {e}")))?;
        let platform = request.path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let reviews = match platform {
            "google" => google(&body)?,
            "2gis" => many(&body, "reviews", two_gis)?,
            "yandex" => many(&body, "items", yandex)?,
            other => {
                return Err(AdapterError::Malformed(format!(
                    "unknown review platform '{other}': post to /hooks/reviews/google, /2gis or /yandex"
                )));
            }
        };
        let events = reviews.into_iter().map(|r| Event::FollowUp(inbound(&config, r))).collect();
        Ok(AdapterOutput { response: ok, events })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::render(&config, &appeal, &reply)
    }
}

clienthub_sdk::export_channel!(Reviews);

/// One review or a list of them (a bare array, or under `key`).
fn many(
    body: &Value,
    key: &str,
    one: fn(&Value) -> Result<Review, AdapterError>,
) -> Result<Vec<Review>, AdapterError> {
    match body.get(key).unwrap_or(body) {
        Value::Array(items) => items.iter().map(one).collect(),
        item => Ok(vec![one(item)?]),
    }
}

fn required(v: &Value, key: &str, what: &str) -> Result<String, AdapterError> {
    text(v, key).ok_or_else(|| AdapterError::Malformed(format!("{what} without `{key}`")))
}

/// A Pub/Sub push (its `message.data` decoded) or a `Review` object.
fn google(body: &Value) -> Result<Vec<Review>, AdapterError> {
    let Some(data) = body.pointer("/message/data").and_then(Value::as_str) else {
        return many(body, "reviews", google_review);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| AdapterError::Malformed(format!("Pub/Sub message.data is not base64: {e}")))?;
    let inner: Value = serde_json::from_slice(&decoded)
        .map_err(|e| AdapterError::Malformed(format!("Pub/Sub message.data is not JSON: {e}")))?;
    if inner.get("reviewId").is_some() || inner.get("starRating").is_some() {
        return Ok(vec![google_review(&inner)?]);
    }
    let kind = text(&inner, "type").unwrap_or_default();
    if kind != "NEW_REVIEW" && kind != "UPDATED_REVIEW" {
        return Ok(Vec::new()); // Other notification types (questions, Google updates) are not appeals.
    }
    let name = required(&inner, "review", "a review notification")?;
    let id = name.rsplit('/').next().unwrap_or(&name).to_string();
    let published = body.pointer("/message/publishTime").and_then(Value::as_str).map(str::to_string);
    Ok(vec![Review {
        platform: "google",
        id,
        place: text(&inner, "location").or_else(|| name.split("/reviews/").next().map(str::to_string)),
        rating: None,
        author: None,
        author_id: None,
        text: format!(
            "{} on Google: open it in Business Profile to read it",
            if kind == "NEW_REVIEW" { "A new review" } else { "A review was updated" }
        ),
        created: published.clone(),
        edited: (kind == "UPDATED_REVIEW").then_some(published).flatten(),
        url: None,
        resource: Some(name),
        photos: Vec::new(),
    }])
}

fn google_review(v: &Value) -> Result<Review, AdapterError> {
    let name = text(v, "name");
    let id = text(v, "reviewId")
        .or_else(|| name.as_deref().and_then(|n| n.rsplit('/').next()).map(str::to_string))
        .ok_or_else(|| AdapterError::Malformed("a Google review without reviewId or name".into()))?;
    let rating = match v.get("starRating").and_then(Value::as_str) {
        Some("ONE") => Some(1),
        Some("TWO") => Some(2),
        Some("THREE") => Some(3),
        Some("FOUR") => Some(4),
        Some("FIVE") => Some(5),
        _ => None,
    };
    let reviewer = v.get("reviewer").cloned().unwrap_or_default();
    let anonymous = reviewer.get("isAnonymous").and_then(Value::as_bool).unwrap_or(false);
    let created = text(v, "createTime");
    let updated = text(v, "updateTime").filter(|u| Some(u) != created.as_ref());
    Ok(Review {
        platform: "google",
        id,
        place: name.as_deref().and_then(|n| n.split("/reviews/").next()).map(str::to_string),
        rating,
        author: if anonymous { None } else { text(&reviewer, "displayName") },
        author_id: None,
        text: text(v, "comment").unwrap_or_default(),
        created,
        edited: updated,
        url: None,
        resource: name,
        photos: Vec::new(),
    })
}

fn two_gis(v: &Value) -> Result<Review, AdapterError> {
    let user = v.get("user").cloned().unwrap_or_default();
    Ok(Review {
        platform: "2gis",
        id: required(v, "id", "a 2GIS review")?,
        place: v.get("object").and_then(|o| text(o, "id")),
        rating: v.get("rating").and_then(Value::as_u64).map(|r| r.min(5) as u8),
        author: text(&user, "name").or_else(|| text(&user, "first_name")),
        author_id: text(&user, "id"),
        text: text(v, "text").unwrap_or_default(),
        created: text(v, "date_created"),
        edited: text(v, "date_edited"),
        url: text(v, "url"),
        resource: None,
        photos: v
            .get("photos")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.pointer("/preview_urls/url").and_then(Value::as_str).map(str::to_string))
            .collect(),
    })
}

fn yandex(v: &Value) -> Result<Review, AdapterError> {
    Ok(Review {
        platform: "yandex",
        id: required(v, "id", "a Yandex review")?,
        place: text(v, "place_id"),
        rating: v.get("rating").and_then(Value::as_u64).map(|r| r.min(5) as u8),
        author: text(v, "author"),
        author_id: text(v, "author_id"),
        text: text(v, "text").unwrap_or_default(),
        created: text(v, "created_at"),
        edited: text(v, "edited_at"),
        url: text(v, "url"),
        resource: None,
        photos: Vec::new(),
    })
}

fn inbound(config: &Config, r: Review) -> InboundMessage {
    let mut metadata =
        vec![MetaEntry::new("review_platform", r.platform), MetaEntry::new("review_id", r.id.clone())];
    if let Some(rating) = r.rating {
        metadata.push(MetaEntry::new("rating", rating.to_string()));
    }
    if let Some(place) = &r.place {
        metadata.push(MetaEntry::new("place_id", place.clone()));
        // Google names places `accounts/…/locations/…`; the mapping may use either form.
        let short = place.find("locations/").map(|i| &place[i..]);
        if let Some(known) = config.places.get(place).or_else(|| short.and_then(|s| config.places.get(s))) {
            for (key, value) in
                [("store", &known.store), ("region", &known.region), ("place_name", &known.name)]
            {
                if let Some(value) = value {
                    metadata.push(MetaEntry::new(key, value.clone()));
                }
            }
        }
    }
    if let Some(url) = &r.url {
        metadata.push(MetaEntry::new("review_url", url.clone()));
    }
    if let Some(resource) = &r.resource {
        metadata.push(MetaEntry::new("review_name", resource.clone()));
    }
    let stars = r.rating.map(|n| format!("{}{} {n}/5", "★".repeat(n as usize), "☆".repeat(5 - n as usize)));
    let text = match (stars, r.text.trim()) {
        (Some(stars), "") => stars,
        (Some(stars), body) => format!("{stars}: {body}"),
        (None, body) => body.to_string(),
    };
    let version = r.edited.as_deref().or(r.created.as_deref()).unwrap_or("");
    InboundMessage {
        platform_id: format!("{}:{}@{version}", r.platform, r.id),
        conversation_key: format!("review:{}:{}", r.platform, r.id),
        sent_at: r.edited.as_deref().or(r.created.as_deref()).and_then(epoch_ms),
        contact: Contact { name: r.author, phone: None, email: None, platform_user_id: r.author_id },
        subject: Some(format!("Review on {}", platform_name(r.platform))),
        text,
        attachments: r
            .photos
            .into_iter()
            .map(|url| clienthub_sdk::Attachment {
                kind: clienthub_sdk::AttachmentKind::Photo,
                reference: url,
                mime_type: None,
                size: None,
                file_name: None,
            })
            .collect(),
        metadata,
    }
}

fn platform_name(platform: &str) -> &'static str {
    match platform {
        "google" => "Google Maps",
        "2gis" => "2GIS",
        _ => "Yandex Maps",
    }
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn epoch_ms(rfc3339: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests;
