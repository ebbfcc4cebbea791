//! Backups: the record trees of a data directory as one archive file, read page by page from
//! a running host and written back into a new data directory.
//!
//! The archive is `CLIENTHUB BACKUP 1\n`, then frames `[name length u8][tree name][key length
//! u32 LE][key][value length u32 LE][value]`, then a frame with an empty name followed by the
//! SHA-256 of every byte before it. Only records are kept: the indexes, counters, per-day
//! figures and the search index are derived, and are rebuilt when the restored directory is
//! first opened.
//!
//! Consistency: every tree is read in key order while the host serves, so every record that
//! existed when the backup began is in it (as it was then or later: appeals are never
//! deleted); records written meanwhile may or may not be. An appeal acknowledged before the
//! backup began is therefore always restored.

use super::Store;
use super::tx::{TreeId, Trees};
use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The first bytes of an archive.
pub const MAGIC: &[u8] = b"CLIENTHUB BACKUP 1\n";

/// The trees an archive holds: every tree but the derived ones and the notices still to
/// send (a restored host does not announce old events again).
pub fn record_trees() -> impl Iterator<Item = TreeId> {
    TreeId::ALL.into_iter().filter(|t| {
        !matches!(
            t,
            TreeId::AppealIndex
                | TreeId::Counters
                | TreeId::SearchPending
                | TreeId::DayFigures
                | TreeId::Notices
        )
    })
}

/// Appends one frame.
pub fn frame(out: &mut Vec<u8>, tree: &str, key: &[u8], value: &[u8]) {
    out.push(tree.len() as u8);
    out.extend_from_slice(tree.as_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

/// The checksum frame that ends an archive whose bytes hashed to `digest`.
fn trailer(digest: [u8; 32]) -> Vec<u8> {
    [&[0u8][..], &digest].concat()
}

impl Store {
    /// Frames of tree `name`'s records after key `after`, about `max_bytes` of them; with the
    /// last key read when more may follow.
    ///
    /// # Errors
    /// For an unknown or derived tree, or on storage failure.
    pub fn backup_page(
        &self,
        name: &str,
        after: Option<&[u8]>,
        max_bytes: usize,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let tree = TreeId::from_name(name)
            .filter(|t| record_trees().any(|r| r == *t))
            .with_context(|| format!("no record tree '{name}'"))?;
        let entries = match after {
            Some(after) => self
                .tree(tree)
                .range::<&[u8], _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => self.tree(tree).iter(),
        };
        let mut out = Vec::new();
        for entry in entries {
            let (key, value) = entry?;
            frame(&mut out, name, &key, &value);
            if out.len() >= max_bytes {
                return Ok((out, Some(key.to_vec())));
            }
        }
        Ok((out, None))
    }
}

/// Writes the archive `file` into a new data directory `dir` (absent or empty), calling
/// `progress` with the bytes read so far; the derived trees are rebuilt. How many records.
///
/// # Errors
/// When the archive is not one, is truncated or fails its checksum (nothing is written
/// then), or the directory is not empty.
pub fn restore(file: &Path, dir: &Path, progress: impl Fn(u64)) -> Result<u64> {
    verify(file)?;
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty: restore into a new data directory", dir.display());
    }
    let db =
        super::engine::Db::open(&dir.join(super::engine::DIR), 64 << 20).context("creating the database")?;
    let trees = Trees::open(&db)?;
    let mut reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let mut magic = vec![0; MAGIC.len()];
    reader.read_exact(&mut magic)?;
    let (mut records, mut read) = (0u64, MAGIC.len() as u64);
    let mut bulk = db.bulk();
    while let Some((name, key, value)) = read_frame(&mut reader)? {
        let tree =
            TreeId::from_name(&name).with_context(|| format!("unknown tree '{name}' in the archive"))?;
        bulk.insert(trees.get(tree), &key, &value)?;
        records += 1;
        read += 1 + name.len() as u64 + 8 + key.len() as u64 + value.len() as u64;
        if records % 10_000 == 0 {
            progress(read);
        }
    }
    bulk.finish()?;
    super::index::ensure(&trees)?;
    db.flush()?;
    progress(read);
    Ok(records)
}

/// Checks an archive's magic, frames and checksum.
///
/// # Errors
/// When it is not an archive, is truncated or its checksum does not match.
pub fn verify(file: &Path) -> Result<()> {
    let mut reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut hasher = Sha256::new();
    let magic = read_exact(&mut reader, MAGIC.len()).context("not a ClientHub backup")?;
    ensure!(magic == MAGIC, "not a ClientHub backup");
    hasher.update(&magic);
    loop {
        let len = read_exact(&mut reader, 1).context("the backup is truncated")?;
        if len[0] == 0 {
            let digest = read_exact(&mut reader, 32).context("the backup is truncated")?;
            ensure!(
                digest == hasher.finalize().as_slice(),
                "the backup is damaged: its checksum does not match"
            );
            ensure!(reader.read(&mut [0])? == 0, "the backup has bytes after its checksum");
            return Ok(());
        }
        hasher.update(&len);
        let name = read_exact(&mut reader, len[0] as usize).context("the backup is truncated")?;
        hasher.update(&name);
        for _ in 0..2 {
            let block = read_block(&mut reader).context("the backup is truncated")?;
            hasher.update((block.len() as u32).to_le_bytes());
            hasher.update(&block);
        }
    }
}

/// One frame of an archive: tree name, key, value.
pub type Frame = (String, Vec<u8>, Vec<u8>);

/// The next frame of an archive read past its magic; `None` at the checksum that ends it.
///
/// # Errors
/// When the archive is truncated.
pub fn read_frame(reader: &mut impl Read) -> Result<Option<Frame>> {
    let len = read_exact(reader, 1)?;
    if len[0] == 0 {
        return Ok(None);
    }
    let name = String::from_utf8(read_exact(reader, len[0] as usize)?)?;
    let key = read_block(reader)?;
    let value = read_block(reader)?;
    Ok(Some((name, key, value)))
}

fn read_exact(reader: &mut impl Read, n: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0; n];
    reader.read_exact(&mut buffer)?;
    Ok(buffer)
}

fn read_block(reader: &mut impl Read) -> Result<Vec<u8>> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    read_exact(reader, u32::from_le_bytes(len) as usize)
}

/// Writes archive bytes while hashing them.
pub struct ArchiveWriter<W: Write> {
    out: W,
    hasher: Sha256,
    /// Bytes written so far.
    pub written: u64,
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts an archive on `out`.
    ///
    /// # Errors
    /// When writing fails.
    pub fn new(out: W) -> Result<Self> {
        let mut writer = Self { out, hasher: Sha256::new(), written: 0 };
        writer.write(MAGIC)?;
        Ok(writer)
    }

    /// Appends frames.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Ends the archive with its checksum.
    ///
    /// # Errors
    /// When writing fails.
    pub fn finish(mut self) -> Result<W> {
        let digest: [u8; 32] = self.hasher.finalize().into();
        self.out.write_all(&trailer(digest))?;
        self.out.flush()?;
        Ok(self.out)
    }
}
