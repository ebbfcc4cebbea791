//! Attachments' files (`GET /api/appeals/{id}/attachments/{n}`): the caller's scope checked
//! (403 outside it), the file's type, `Content-Disposition` with the RFC 6266 / RFC 5987
//! UTF-8 name, and single byte ranges (RFC 9110 §14) so a recording can be scrubbed. The body
//! streams from the attachment store (in a cluster, a file another node fetched is copied from
//! the object store first). [`FileView`] is where each file stands, as the appeal's answer
//! lists it (its content address and raw request are the host's, not shown).

use super::Body;
use super::call::{Answer, Call};
use super::error::ApiError;
use crate::store::media::{FileRecord, FileState};
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::{Bytes, Frame};
use std::io::{Read, Seek, SeekFrom};

/// Where attachment `n` (from 1) of an appeal stands, as the API shows it.
#[derive(Debug, serde::Serialize)]
pub struct FileView<'a> {
    /// The attachment's number, from 1 (its download is `…/attachments/{n}`).
    n: u16,
    /// MIME type, if known.
    mime_type: Option<&'a str>,
    /// File name, if known.
    file_name: Option<&'a str>,
    /// Where it stands.
    #[serde(flatten)]
    state: StateView<'a>,
}

/// A file's state as shown: the stored file's content address is not.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
enum StateView<'a> {
    Pending { attempts: u32, next_at: u64, error: Option<&'a str> },
    Stored { size: u64, fetched_at: u64 },
    Failed { error: &'a str },
    TooLarge { cap: u64 },
    Removed { reason: &'a str },
}

impl<'a> FileView<'a> {
    /// The view of record `n` (from 0, as stored).
    pub fn of(n: u16, record: &'a FileRecord) -> Self {
        let state = match &record.state {
            FileState::Pending { attempts, next_at, error } => {
                StateView::Pending { attempts: *attempts, next_at: *next_at, error: error.as_deref() }
            }
            FileState::Stored { size, fetched_at, .. } => {
                StateView::Stored { size: *size, fetched_at: *fetched_at }
            }
            FileState::Failed { error } => StateView::Failed { error },
            FileState::TooLarge { cap } => StateView::TooLarge { cap: *cap },
            FileState::Removed { reason } => StateView::Removed { reason },
        };
        Self {
            n: n + 1,
            mime_type: record.mime_type.as_deref(),
            file_name: record.file_name.as_deref(),
            state,
        }
    }
}

/// Bytes read from the file per body frame.
const CHUNK: usize = 256 << 10;

/// `GET /api/appeals/{id}/attachments/{n}` (n from 1).
pub async fn download(call: Call) -> Answer {
    let id = call.param(0).to_string();
    let appeal = call.app.store.appeal(&id)?.ok_or_else(|| ApiError::not_found(format!("no appeal {id}")))?;
    if !call.caller.scope.admits(&appeal) {
        tracing::warn!(caller = %call.caller.author(), appeal = %id, address = %call.address, "file out of scope: refused");
        return Err(ApiError::new(403, "обращение вне вашей зоны (the appeal is outside your scope)")
            .code("out_of_scope"));
    }
    let n = call
        .param(1)
        .parse::<u16>()
        .ok()
        .filter(|n| (1..=appeal.attachments.len()).contains(&usize::from(*n)));
    let n =
        n.ok_or_else(|| ApiError::not_found(format!("appeal {id} has no attachment {}", call.param(1))))?;
    let attachment = &appeal.attachments[usize::from(n - 1)];
    let Some(record) = call.app.store.file_record(&id, n - 1)? else {
        return Err(unavailable("файл ещё загружается (the file is being fetched)".into()));
    };
    let (sha256, size) = match &record.state {
        FileState::Stored { sha256, size, .. } => (sha256.clone(), *size),
        FileState::Pending { .. } => {
            return Err(unavailable("файл ещё загружается (the file is being fetched)".into()));
        }
        FileState::Failed { error } => {
            return Err(unavailable(format!("файл не получен (the file could not be fetched): {error}")));
        }
        FileState::TooLarge { cap } => {
            return Err(unavailable(format!("файл больше {cap} байт (the file is over the cap)")));
        }
        FileState::Removed { reason } => {
            return Err(unavailable(format!("файл удалён (the file was deleted): {reason}")));
        }
    };
    let mime = record
        .mime_type
        .clone()
        .or_else(|| attachment.mime_type.clone())
        .filter(|m| m.split('/').count() == 2 && !m.contains(['\r', '\n']))
        .unwrap_or_else(|| "application/octet-stream".into());
    let name = record
        .file_name
        .clone()
        .or_else(|| attachment.file_name.clone())
        .unwrap_or_else(|| default_name(attachment.kind.name(), n, &mime));
    let inline = ["image/", "audio/", "video/"].iter().any(|p| mime.starts_with(p)) && !mime.contains("svg");
    let (status, start, end) = match call.header("range").map(|r| byte_range(r, size)) {
        None => (200, 0, size),
        Some(Some((start, end))) => (206, start, end),
        Some(None) => {
            return Ok(Response::builder()
                .status(416)
                .header("content-range", format!("bytes */{size}"))
                .body(super::bytes_body::full(Bytes::new()))
                .expect("a valid response"));
        }
    };
    let (files, store) = (call.app.files.clone(), call.app.store.clone());
    let file = tokio::task::spawn_blocking(move || crate::store::media::local_file(&store, &files, &sha256))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("{e:#}")))?
        // A record restored without its file (backups hold records, not files).
        .ok_or_else(|| unavailable("файла нет в хранилище (the file is not in the store)".into()))?;
    let mut file = file;
    file.seek(SeekFrom::Start(start)).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", mime)
        .header("content-length", end - start)
        .header("accept-ranges", "bytes")
        .header("content-disposition", disposition(inline, &name))
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", "default-src 'none'; sandbox")
        .header("cache-control", "private, max-age=3600");
    if status == 206 {
        builder = builder.header("content-range", format!("bytes {start}-{}/{size}", end - 1));
    }
    Ok(builder.body(stream(file, end - start)).expect("a valid response"))
}

/// A file that cannot be served, and why (404, code `file_unavailable`).
fn unavailable(why: String) -> ApiError {
    ApiError::not_found(why).code("file_unavailable")
}

/// The body: `remaining` bytes of `file` from where it stands, read on a blocking thread. A
/// read error ends the body early (the client sees it short of its length).
fn stream(file: std::fs::File, remaining: u64) -> Body {
    let chunks = futures_util::stream::unfold((file, remaining), |(mut file, remaining)| async move {
        if remaining == 0 {
            return None;
        }
        let want = remaining.min(CHUNK as u64) as usize;
        let read = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0; want];
            let got = file.read(&mut buffer)?;
            buffer.truncate(got);
            std::io::Result::Ok((file, buffer))
        })
        .await;
        match read {
            Ok(Ok((file, buffer))) if !buffer.is_empty() => {
                let left = remaining - buffer.len() as u64;
                Some((Ok(Frame::data(Bytes::from(buffer))), (file, left)))
            }
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::error!("reading an attachment failed: {e}");
                None
            }
            Err(e) => {
                tracing::error!("reading an attachment failed: {e}");
                None
            }
        }
    });
    http_body_util::StreamBody::new(chunks).boxed_unsync()
}

/// The range `[start, end)` a `Range` header asks of a file of `size` bytes: one range of
/// `bytes=a-b`, `bytes=a-` or `bytes=-n`; `None` when it cannot be satisfied. Several ranges
/// are answered with the first.
fn byte_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.split(',').next()?.trim();
    let (from, to) = spec.split_once('-')?;
    let (start, end) = match (from.trim(), to.trim()) {
        ("", suffix) => {
            let n = suffix.parse::<u64>().ok()?.min(size);
            (size - n, size)
        }
        (a, "") => (a.parse().ok()?, size),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.saturating_add(1).min(size)),
    };
    (start < end && start < size).then_some((start, end))
}

/// `inline` or `attachment`, with an ASCII fallback name and the UTF-8 one (RFC 6266, 5987).
fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'&'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A name for a file the platform gave none: `photo-1.jpg`, `call-recording-1.mp3`.
fn default_name(kind: &str, n: u16, mime: &str) -> String {
    let extension = crate::store::media::extension_of(mime);
    format!("{kind}-{n}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::{byte_range, disposition};

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(byte_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(byte_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some((990, 1000)));
        assert_eq!(byte_range("bytes=0-0, 5-9", 1000), Some((0, 1)));
        assert_eq!(byte_range("bytes=1000-", 1000), None);
        assert_eq!(byte_range("bytes=5-1", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }

    #[test]
    fn names_are_given_in_ascii_and_utf_8() {
        assert_eq!(
            disposition(false, "Акт №1.pdf"),
            "attachment; filename=\"___ _1.pdf\"; filename*=UTF-8''%D0%90%D0%BA%D1%82%20%E2%84%961.pdf"
        );
        assert_eq!(disposition(true, "a\"b.jpg"), "inline; filename=\"a_b.jpg\"; filename*=UTF-8''a%22b.jpg");
    }
}
