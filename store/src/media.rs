//! What the host knows of each attachment's file, in one tree (`media`) under four prefixes:
//! `r` the record of attachment `n` of an appeal (pending, stored, failed or too large), `q`
//! the attachments still to fetch (written in the appeal's own transaction, so a crash
//! between intake and fetch loses none), `f` which attachments hold each stored file (files
//! are content-addressed and shared), `t` stored files by when they were fetched (retention).

use super::Store;
use super::tx::{TreeId, Tx};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where an attachment's file stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum FileState {
    /// Still to fetch; the next attempt is due at `next_at` (ms since the epoch).
    Pending {
        /// Attempts made.
        attempts: u32,
        /// When to try again.
        next_at: u64,
        /// Why the last attempt did not bring it.
        error: Option<String>,
    },
    /// In the attachment store.
    Stored {
        /// Its sha256, hex: its name in the store.
        sha256: String,
        /// Bytes.
        size: u64,
        /// When it was fetched.
        fetched_at: u64,
    },
    /// Could not be fetched, for good.
    Failed {
        /// Why.
        error: String,
    },
    /// Larger than the cap for its kind: refused, not kept.
    TooLarge {
        /// The cap, in bytes.
        cap: u64,
    },
    /// Deleted: past the retention, or its person was erased.
    Removed {
        /// Why.
        reason: String,
    },
}

/// The record of one attachment's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The raw request the attachment came in (an e-mail's parts are in it).
    pub raw_request: String,
    /// MIME type, as the platform (or the download) tells it.
    pub mime_type: Option<String>,
    /// File name, as the platform tells it.
    pub file_name: Option<String>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: FileState,
}

fn key(prefix: u8, appeal: &str, n: u16) -> Vec<u8> {
    [&[prefix, b'/'], appeal.as_bytes(), &[0], &n.to_be_bytes()].concat()
}

fn split(rest: &[u8]) -> Option<(String, u16)> {
    let (appeal, n) = rest.split_at(rest.len().checked_sub(3)?);
    let n = u16::from_be_bytes([n[1], n[2]]);
    Some((String::from_utf8_lossy(appeal).into_owned(), n))
}

fn encode(record: &FileRecord) -> Vec<u8> {
    serde_json::to_vec(record).expect("a file record serialises")
}

/// Inside an appeal's transaction: attachments `from..to` of `appeal` are to be fetched, from
/// the raw request `raw_request`.
pub(super) fn queue(tx: &mut Tx, appeal: &str, from: usize, to: usize, raw_request: &str) {
    for n in from..to.min(usize::from(u16::MAX)) {
        let n = n as u16;
        let record = FileRecord {
            raw_request: raw_request.to_string(),
            mime_type: None,
            file_name: None,
            state: FileState::Pending { attempts: 0, next_at: 0, error: None },
        };
        tx.insert(TreeId::Media, key(b'r', appeal, n), encode(&record));
        tx.insert(TreeId::Media, key(b'q', appeal, n), []);
    }
}

impl Store {
    /// The record of attachment `n` of `appeal`.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn file_record(&self, appeal: &str, n: u16) -> Result<Option<FileRecord>> {
        self.tree(TreeId::Media)
            .get(key(b'r', appeal, n))?
            .map(|v| serde_json::from_slice(&v).context("corrupt file record"))
            .transpose()
    }

    /// The records of every attachment of `appeal`, by index.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn file_records(&self, appeal: &str) -> Result<Vec<(u16, FileRecord)>> {
        let prefix = [b"r/", appeal.as_bytes(), &[0]].concat();
        self.tree(TreeId::Media)
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, v) = entry?;
                let (_, n) = split(&k[2..]).context("corrupt file key")?;
                Ok((n, serde_json::from_slice(&v).context("corrupt file record")?))
            })
            .collect()
    }

    /// Up to `limit` attachments still to fetch: (appeal, index).
    ///
    /// # Errors
    /// On storage failure.
    pub fn files_to_fetch(&self, limit: usize) -> Result<Vec<(String, u16)>> {
        self.tree(TreeId::Media)
            .scan_prefix(b"q/")
            .keys()
            .take(limit)
            .map(|k| split(&k?[2..]).context("corrupt file queue key"))
            .collect()
    }

    /// Records where attachment `n` of `appeal` stands; it leaves the queue unless pending.
    /// A stored file is indexed by its digest and its time.
    ///
    /// # Errors
    /// On storage failure.
    pub fn record_file(&self, appeal: &str, n: u16, record: &FileRecord) -> Result<()> {
        let mut writes = vec![(TreeId::Media, key(b'r', appeal, n), Some(encode(record)))];
        if !matches!(record.state, FileState::Pending { .. }) {
            writes.push((TreeId::Media, key(b'q', appeal, n), None));
        }
        if let FileState::Stored { sha256, fetched_at, .. } = &record.state {
            writes.push((TreeId::Media, ref_key(sha256, appeal, n), Some(Vec::new())));
            writes.push((TreeId::Media, time_key(*fetched_at, appeal, n), Some(sha256.clone().into_bytes())));
        }
        self.write_blind(writes)
    }

    /// Forgets the stored file of attachment `n` of `appeal` (`reason` is kept): whether any
    /// other attachment still holds the same file (when none does, the caller deletes it).
    ///
    /// # Errors
    /// On storage failure.
    pub fn forget_file(&self, appeal: &str, n: u16, reason: &str) -> Result<Option<String>> {
        let Some(record) = self.file_record(appeal, n)? else { return Ok(None) };
        let FileState::Stored { sha256, fetched_at, .. } = &record.state else { return Ok(None) };
        let removed =
            FileRecord { state: FileState::Removed { reason: reason.to_string() }, ..record.clone() };
        self.write_blind(vec![
            (TreeId::Media, key(b'r', appeal, n), Some(encode(&removed))),
            (TreeId::Media, ref_key(sha256, appeal, n), None),
            (TreeId::Media, time_key(*fetched_at, appeal, n), None),
        ])?;
        let still_held = self.tree(TreeId::Media).scan_prefix(ref_prefix(sha256)).next().is_some();
        Ok((!still_held).then(|| sha256.clone()))
    }

    /// Forgets every file of `appeal` (`reason` is kept) and stops its fetches: the digests no
    /// other attachment holds any more (the caller deletes those files).
    ///
    /// # Errors
    /// On storage failure.
    pub fn forget_files(&self, appeal: &str, reason: &str) -> Result<Vec<String>> {
        let mut orphans = Vec::new();
        for (n, record) in self.file_records(appeal)? {
            match record.state {
                FileState::Stored { .. } => orphans.extend(self.forget_file(appeal, n, reason)?),
                FileState::Pending { .. } => {
                    let removed =
                        FileRecord { state: FileState::Removed { reason: reason.to_string() }, ..record };
                    self.record_file(appeal, n, &removed)?;
                }
                _ => {}
            }
        }
        Ok(orphans)
    }

    /// Forgets every file of `appeal` as [`Store::forget_files`] does, and blanks what the
    /// records said of them (file names, types): an erasure leaves no «Паспорт Иванова.pdf».
    ///
    /// # Errors
    /// On storage failure.
    pub fn erase_files(&self, appeal: &str, reason: &str) -> Result<Vec<String>> {
        let orphans = self.forget_files(appeal, reason)?;
        for (n, record) in self.file_records(appeal)? {
            if record.file_name.is_some() || record.mime_type.is_some() {
                let blank = FileRecord { file_name: None, mime_type: None, ..record };
                self.record_file(appeal, n, &blank)?;
            }
        }
        Ok(orphans)
    }

    /// Shares a fetched file with the cluster's other nodes (nothing on one machine).
    ///
    /// # Errors
    /// When the cluster's object store does not take it.
    pub fn share_file(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.backend.share_file(sha256, bytes)
    }

    /// A file another node of the cluster fetched, when this node lacks it.
    ///
    /// # Errors
    /// When the cluster's object store cannot be read.
    pub fn shared_file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.backend.fetch_file(sha256)
    }

    /// Deletes a file from what the cluster shares (nothing on one machine).
    ///
    /// # Errors
    /// When the cluster's object store cannot delete it.
    pub fn unshare_file(&self, sha256: &str) -> Result<()> {
        self.backend.delete_file(sha256)
    }

    /// Up to `limit` stored files fetched before `cutoff`: (appeal, index).
    ///
    /// # Errors
    /// On storage failure.
    pub fn files_fetched_before(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, u16)>> {
        let end = [b"t/".as_slice(), &cutoff.to_be_bytes()].concat();
        self.tree(TreeId::Media)
            .range(b"t/".to_vec()..end)
            .keys()
            .take(limit)
            .map(|k| split(&k?[10..]).context("corrupt file time key"))
            .collect()
    }
}

fn ref_prefix(sha256: &str) -> Vec<u8> {
    [b"f/", sha256.as_bytes(), b"/"].concat()
}

fn ref_key(sha256: &str, appeal: &str, n: u16) -> Vec<u8> {
    [ref_prefix(sha256), appeal.as_bytes().to_vec(), vec![0], n.to_be_bytes().to_vec()].concat()
}

fn time_key(at: u64, appeal: &str, n: u16) -> Vec<u8> {
    [b"t/".as_slice(), &at.to_be_bytes(), appeal.as_bytes(), &[0], &n.to_be_bytes()].concat()
}

/// A stored file, from this node's attachment store or (in a cluster, when another node
/// fetched it) from the shared object store, copied here; `None` when neither has it (a record
/// restored without its file).
///
/// # Errors
/// On storage failure.
pub fn local_file(store: &Store, files: &super::files::Files, sha256: &str) -> Result<Option<std::fs::File>> {
    if let Ok(file) = files.open_file(sha256) {
        return Ok(Some(file.into_std()));
    }
    match store.shared_file(sha256)? {
        Some(bytes) => {
            files.put(&bytes)?;
            Ok(Some(files.open_file(sha256)?.into_std()))
        }
        None => Ok(None),
    }
}

/// A stored file's bytes (see [`local_file`]).
///
/// # Errors
/// On storage failure.
pub fn read_file(store: &Store, files: &super::files::Files, sha256: &str) -> Result<Option<Vec<u8>>> {
    let Some(mut file) = local_file(store, files, sha256)? else { return Ok(None) };
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut body)?;
    Ok(Some(body))
}

/// The usual file extension of a MIME type (`jpg` for `image/jpeg`), `bin` when unknown: for
/// naming a file the platform gave no name.
pub fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "audio/wav" | "audio/x-wav" => "wav",
        "video/mp4" => "mp4",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}
