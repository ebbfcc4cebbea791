//! The data lifecycle over the API (admin only): erasing a person's data on request
//! (`POST /api/contacts/erase {"contact"}`, `GET /api/erasures`) and reading a backup page by
//! page (`GET /api/backup` lists the record trees; `GET /api/backup/{tree}?after=HEX` answers
//! frames of the archive format of [`crate::store::archive`], with `x-clienthub-next` naming
//! the key to continue after while more follow).

use super::bytes_body::full;
use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::{json, query_pairs};
use crate::store::archive;
use hyper::Response;

/// Bytes of frames per backup page.
const PAGE_BYTES: usize = 4 << 20;

/// `POST /api/contacts/erase {"contact": "+7 912 …" | "a@b.ru" | "telegram:42" | contact id}`.
pub async fn erase(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Erase {
        contact: String,
    }
    let erase: Erase = call.json().await?;
    let store = call.app.store.clone();
    let by = call.caller.actor();
    let erased = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let Some(contact) = store.find_contact(&erase.contact)? else { return Ok(None) };
        Ok(Some(store.erase_contact(&contact, &by)?))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the erasure failed: {e}")))??;
    match erased {
        Some(erasure) => {
            for orphan in &erasure.orphan_files {
                let deleted =
                    call.app.files.delete(orphan).and_then(|()| call.app.store.unshare_file(orphan));
                deleted.map_err(|e| ApiError::internal(format!("deleting a file: {e:#}")))?;
            }
            // What was erased stays unsaid here too.
            call.audit("contact_erased", "", Vec::new())?;
            Ok(json(200, &erasure))
        }
        None => {
            Err(ApiError::not_found("no contact is known by that phone, e-mail, platform id or contact id"))
        }
    }
}

/// `GET /api/erasures`: when erasures happened, by whom, how much (never whose).
pub async fn erasures(call: Call) -> Answer {
    Ok(json(200, &call.app.store.erasures()?))
}

/// `GET /api/backup`: the record trees a backup reads, in order.
pub async fn trees(call: Call) -> Answer {
    call.audit("backup_started", "", Vec::new())?;
    let trees: Vec<&str> = archive::record_trees().map(|t| t.name()).collect();
    Ok(json(200, &serde_json::json!({ "trees": trees, "appeals": call.app.store.appeal_count() })))
}

/// `GET /api/backup/{tree}?after=HEX`: the next page of a tree's frames.
pub async fn page(call: Call) -> Answer {
    let tree = call.param(0).to_string();
    let mut after = None;
    for (key, value) in query_pairs(call.query()) {
        match key.as_str() {
            "after" => after = Some(hex::decode(&value).map_err(|_| ApiError::invalid("after: a hex key"))?),
            other => return Err(ApiError::invalid(format!("unknown parameter '{other}': use after"))),
        }
    }
    let store = call.app.store.clone();
    let (frames, next) =
        tokio::task::spawn_blocking(move || store.backup_page(&tree, after.as_deref(), PAGE_BYTES))
            .await
            .map_err(|e| ApiError::internal(format!("the backup failed: {e}")))?
            .map_err(|e| ApiError::not_found(format!("{e:#}")))?;
    let mut response = Response::builder().header("content-type", "application/octet-stream");
    if let Some(next) = next {
        response = response.header("x-clienthub-next", hex::encode(next));
    }
    // The headers are a constant and hex digits.
    Ok(response.body(full(frames)).expect("a valid response"))
}
