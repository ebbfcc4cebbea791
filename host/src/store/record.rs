//! How an appeal record is kept on disk: one format byte, then the appeal in postcard (a
//! compact binary serde format, the one the cluster's wire already uses). Records written
//! as JSON by earlier versions still read (they start with `{`) and are rewritten compactly
//! the next time the appeal changes.
//!
//! postcard is not self-describing: a field's place is its identity. A change to the shape of
//! [`Appeal`] (a field added, an enum variant reordered) takes a new format byte here, with the
//! reader of the previous one kept.

use crate::appeal::Appeal;
use anyhow::{Context, Result, bail};

/// The format byte of the current layout.
const POSTCARD_V1: u8 = 1;

/// The stored bytes of an appeal.
pub fn encode(appeal: &Appeal) -> Vec<u8> {
    let mut bytes = vec![POSTCARD_V1];
    // Serialising plain data into a growing buffer does not fail.
    bytes.extend(postcard::to_allocvec(appeal).expect("an appeal serialises"));
    bytes
}

/// The appeal stored as `bytes`.
///
/// # Errors
/// When the record is corrupt or of an unknown format.
pub fn decode(bytes: &[u8]) -> Result<Appeal> {
    match bytes.first() {
        Some(&POSTCARD_V1) => postcard::from_bytes(&bytes[1..]).context("corrupt appeal record"),
        Some(b'{') => serde_json::from_slice(bytes).context("corrupt appeal record (JSON)"),
        Some(other) => bail!("appeal record of unknown format {other}"),
        None => bail!("empty appeal record"),
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};
    use crate::appeal::{Appeal, Attachment, Status};

    #[test]
    fn an_appeal_reads_back_from_both_formats_and_the_binary_one_is_smaller() {
        let mut appeal = Appeal {
            id: "01JABCDEFGHJKMNPQRSTVWXYZ0".into(),
            channel: "telegram".into(),
            text: "Хочу вернуть заказ, магазин 112".into(),
            status: Status::Routed,
            metadata: vec![("store".into(), "112".into())],
            attachments: vec![Attachment {
                kind: "photo".into(),
                reference: "AgACAgIAAxkBAAIB".into(),
                mime_type: None,
                size: Some(1024),
                file_name: None,
            }],
            ..Appeal::default()
        };
        appeal.record(1, "received", None, "webhook");
        appeal.record(2, "routed", Some("rules-router@0.1.0".into()), "topic refund");
        let compact = encode(&appeal);
        let json = serde_json::to_vec(&appeal).unwrap();
        assert_eq!(decode(&compact).unwrap(), appeal);
        assert_eq!(decode(&json).unwrap(), appeal);
        assert!(compact.len() * 2 < json.len(), "{} vs {}", compact.len(), json.len());
        assert!(decode(&[9, 1, 2]).is_err());
        assert!(decode(&compact[..compact.len() / 2]).is_err());
    }
}
