//! The customer's verdict, as the notifier handles it: after a resolution the customer is
//! asked through their own channel to rate the help (`survey-renderer`: buttons where the
//! platform has them), and a low rating is told to the department's manager. The answers are
//! read at intake ([`crate::pipeline`]) and kept by the store ([`crate::store::Survey`]).

use super::notices::Notifier;
use crate::appeal::Appeal;
use crate::directory::{Directory, Notify};
use crate::event::NoticeOutcome;
use crate::runtime::{convert, wit};

/// The answers a customer picks from.
const OPTIONS: [&str; 5] = ["1 — плохо", "2", "3", "4", "5 — отлично"];

impl Notifier {
    /// Asks the customer of a resolved appeal to rate the help, when the directory's `csat`
    /// covers its channel and topic: how it went, for the history (`None`: not asked).
    ///
    /// # Errors
    /// Why the question did not reach the platform (worth a retry).
    pub(super) async fn ask(
        &self,
        appeal: &Appeal,
        directory: &Directory,
        now: u64,
    ) -> Result<Option<NoticeOutcome>, String> {
        let Some(csat) = &directory.csat else { return Ok(None) };
        let topic = appeal.decision.as_ref().and_then(|d| d.topic.as_deref());
        if !csat.asks(&appeal.channel, topic) || appeal.status != crate::appeal::Status::Resolved {
            return Ok(None);
        }
        let stage = super::notices::adapter(&self.registry, &appeal.channel)?;
        let survey = wit::OutboundSurvey {
            id: appeal.id.clone(),
            question: csat.question().to_string(),
            options: OPTIONS
                .iter()
                .enumerate()
                .map(|(n, label)| wit::SurveyOption { value: (n + 1).to_string(), label: label.to_string() })
                .collect(),
        };
        let runtime = self.registry.runtime().clone();
        let wit_appeal = convert::to_wit(appeal);
        let answer = runtime
            .send_survey(&stage.plugin, self.store.directory(), &wit_appeal, &survey)
            .await
            .map_err(|e| format!("csat: {e}"))?;
        let reply = wit::OutboundReply { id: survey.id.clone(), text: survey.question.clone(), author: None };
        let (plugin, directory) = (stage.plugin.clone(), self.store.directory());
        let outcome = tokio::task::spawn_blocking(move || {
            runtime.read_reply_answer(&plugin, directory, &wit_appeal, &reply, &answer)
        })
        .await
        .map_err(|e| format!("csat: {e}"))?
        .map_err(|e| format!("csat: {e}"))?;
        match outcome {
            wit::ReplyOutcome::Sent(_) => {
                self.store.survey_asked(&appeal.id, now).map_err(|e| format!("{e:#}"))?;
                Ok(Some(NoticeOutcome::Asked))
            }
            wit::ReplyOutcome::Retry(later) => Err(format!("csat: {}", later.error)),
            wit::ReplyOutcome::Failed(error) => Ok(Some(NoticeOutcome::NotAsked(error))),
        }
    }
}

/// The department manager's own chat, for a low rating (when the directory's `csat` asks it).
pub(super) fn manager(directory: &Directory, appeal: &Appeal) -> Option<Notify> {
    if !directory.csat.as_ref().is_some_and(|c| c.notify_manager_on_low) {
        return None;
    }
    let department = directory.departments.iter().find(|d| Some(&d.id) == appeal.work.department.as_ref())?;
    let manager = department.manager.as_deref()?;
    directory.employees.iter().find(|e| e.id == manager)?.notify.clone()
}
