//! Raw webhook requests, kept byte for byte before any plugin sees them.
//!
//! Encoding: a little-endian `u32` length, the JSON of everything but the body, then the body
//! bytes, so a large body is not blown up by JSON escaping.

use super::Store;
use super::tx::TreeId;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// A webhook request as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawRequest {
    /// Id (a ULID).
    pub id: String,
    /// The channel in the URL.
    pub channel: String,
    /// When it arrived (ms since the epoch).
    pub received_at: u64,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Headers as received.
    pub headers: Vec<(String, String)>,
    /// What became of it: `appeal …`, `duplicate of …`, `unauthorized: …`, `triage: …`.
    pub outcome: String,
    /// The body.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Encodes for storage.
    pub fn encode(&self) -> Vec<u8> {
        // Strings, numbers and a list of string pairs: JSON encoding cannot fail.
        let meta = serde_json::to_vec(self).expect("a raw request always serialises");
        let mut out = Vec::with_capacity(4 + meta.len() + self.body.len());
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a stored record.
    ///
    /// # Errors
    /// When the record is truncated or its JSON is corrupt.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            bail!("raw request record is truncated");
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            bail!("raw request record is truncated");
        }
        let mut raw: RawRequest = serde_json::from_slice(&rest[..len])?;
        raw.body = rest[len..].to_vec();
        Ok(raw)
    }
}

impl Store {
    /// A raw request by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn raw(&self, id: &str) -> Result<Option<RawRequest>> {
        let Some(mut raw) =
            self.tree(TreeId::Raw).get(id.as_bytes())?.map(|b| RawRequest::decode(&b)).transpose()?
        else {
            return Ok(None);
        };
        if let Some(outcome) = self.tree(TreeId::RawOutcomes).get(id.as_bytes())? {
            raw.outcome = String::from_utf8_lossy(&outcome).into_owned();
        }
        Ok(Some(raw))
    }

    /// Keeps a request its channel's adapter accepted (or could not read after verifying it)
    /// with what became of it (`appeal 01H…`, `triage …`): one write, after verification, never
    /// before. A refused request is never kept.
    ///
    /// # Errors
    /// On storage failure.
    pub fn keep_raw(&self, raw: &mut RawRequest, outcome: String) -> Result<()> {
        self.write_blind(vec![
            (TreeId::RawOutcomes, raw.id.as_bytes().to_vec(), Some(outcome.as_bytes().to_vec())),
            (TreeId::Raw, raw.id.as_bytes().to_vec(), Some(raw.encode())),
        ])?;
        raw.outcome = outcome;
        Ok(())
    }

    /// Deletes up to `limit` raw requests received before `cutoff` (ms since the epoch), oldest
    /// first, keeping what became of them (their outcome); the appeals stay. How many.
    ///
    /// # Errors
    /// On storage failure.
    pub fn purge_raw_before(&self, cutoff: u64, limit: usize) -> Result<usize> {
        let end = super::appeals::id_at(cutoff);
        let due: Vec<Vec<u8>> = self
            .tree(TreeId::Raw)
            .range(..end)
            .keys()
            .take(limit)
            .map(|k| k.map(|k| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let count = due.len();
        self.write_blind(due.into_iter().map(|key| (TreeId::Raw, key, None)).collect())?;
        Ok(count)
    }

    /// Records what became of a request whose body is not kept again (a platform's repeated
    /// delivery of messages already stored): its outcome only.
    ///
    /// # Errors
    /// On storage failure.
    pub fn note_raw_outcome(&self, raw: &mut RawRequest, outcome: String) -> Result<()> {
        self.write_blind(vec![(
            TreeId::RawOutcomes,
            raw.id.as_bytes().to_vec(),
            Some(outcome.as_bytes().to_vec()),
        )])?;
        raw.outcome = outcome;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_bodies() {
        let raw = RawRequest {
            id: "01".into(),
            channel: "telegram".into(),
            received_at: 5,
            method: "POST".into(),
            path: "/hooks/telegram".into(),
            query: String::new(),
            headers: vec![("a".into(), "b".into())],
            outcome: String::new(),
            body: vec![0, 255, 10],
        };
        let back = RawRequest::decode(&raw.encode()).unwrap();
        assert_eq!(back.body, raw.body);
        assert_eq!(back.headers, raw.headers);
        assert!(RawRequest::decode(&[1, 0]).is_err());
    }
}
