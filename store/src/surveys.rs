//! The customers' verdicts: a survey per resolved appeal (asked when, answered what), and the
//! answers by the time they came (`t/<ms><appeal>`), so a period's report reads only that
//! period. An answer is recorded with its appeal's `rated` event and the message's idempotency
//! key in one transaction: the same press twice is one answer, and it never opens an appeal.

use super::tx::TreeId;
use super::{Claim, Store, pair_key};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A survey of one appeal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    /// When the question went out (ms since the epoch).
    pub asked_at: u64,
    /// The rating, 1–5, once answered.
    #[serde(default)]
    pub rating: Option<u8>,
    /// When it was answered.
    #[serde(default)]
    pub answered_at: Option<u64>,
}

fn key(appeal: &str) -> Vec<u8> {
    [b"a/", appeal.as_bytes()].concat()
}

fn time_key(at: u64, appeal: &str) -> Vec<u8> {
    [b"t/".as_slice(), &at.to_be_bytes(), appeal.as_bytes()].concat()
}

impl Store {
    /// The survey of `appeal`, if one was asked.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn survey(&self, appeal: &str) -> Result<Option<Survey>> {
        self.tree(TreeId::Surveys)
            .get(key(appeal))?
            .map(|v| serde_json::from_slice(&v).context("corrupt survey"))
            .transpose()
    }

    /// Records that `appeal`'s customer was asked (a new question replaces an earlier one).
    ///
    /// # Errors
    /// On storage failure.
    pub fn survey_asked(&self, appeal: &str, at: u64) -> Result<()> {
        let survey = Survey { asked_at: at, ..Survey::default() };
        self.write_blind(vec![(TreeId::Surveys, key(appeal), Some(serde_json::to_vec(&survey)?))])
    }

    /// Records `rating` as the answer to `appeal`'s survey, with a `rated` event in its
    /// history (and `rated_low` when `low`, which tells the manager), claiming the message
    /// (`channel`, `platform_id`) it came in: `Claim::Seen` when that message was recorded
    /// before, `None` when that appeal was never asked.
    ///
    /// # Errors
    /// On storage failure.
    pub fn survey_answered(
        &self,
        appeal: &str,
        rating: u8,
        channel: &str,
        platform_id: &str,
        plugin: &str,
        low: bool,
    ) -> Result<Option<Claim>> {
        let claim = pair_key(channel, platform_id);
        let now = self.now_ms();
        self.write(|tx| {
            if let Some(owner) = tx.get(TreeId::Idempotency, &claim)? {
                return Ok(Some(Claim::Seen(String::from_utf8_lossy(&owner).into_owned())));
            }
            let Some(bytes) = tx.get(TreeId::Surveys, &key(appeal))? else { return Ok(None) };
            let mut survey: Survey = serde_json::from_slice(&bytes).context("corrupt survey")?;
            if let Some(earlier) = survey.answered_at {
                tx.remove(TreeId::Surveys, time_key(earlier, appeal));
            }
            survey.rating = Some(rating);
            survey.answered_at = Some(now);
            let changed = super::appeals::change_in(tx, appeal, &|a: &mut crate::appeal::Appeal| {
                a.record(now, Some(plugin.to_string()), crate::event::Event::Rated { score: rating });
                if low {
                    a.record(now, None, crate::event::Event::RatedLow { score: rating });
                }
            })?;
            if changed.is_none() {
                return Ok(None);
            }
            tx.insert(TreeId::Surveys, key(appeal), serde_json::to_vec(&survey)?);
            tx.insert(TreeId::Surveys, time_key(now, appeal), [rating]);
            tx.insert(TreeId::Idempotency, claim.as_slice(), appeal.as_bytes());
            Ok(Some(Claim::New))
        })
    }

    /// Calls `visit` with (appeal id, rating) of every answer that came in `[from, to)`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn survey_answers(&self, from: u64, to: u64, mut visit: impl FnMut(&str, u8)) -> Result<()> {
        for entry in self.tree(TreeId::Surveys).range(time_key(from, "")..time_key(to, "")) {
            let (k, v) = entry?;
            let appeal = String::from_utf8_lossy(&k[10..]).into_owned();
            visit(&appeal, v.first().copied().unwrap_or(0));
        }
        Ok(())
    }
}
