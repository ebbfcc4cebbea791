//! A reply's platform call, the one path every message the host sends through a channel takes
//! (an operator's reply, a notice to a brigade chat, a survey): the channel's plugin renders it, the
//! host sends it through the outbound client (which checks the URL against the plugin's
//! allowlist) and hands back the platform's answer.

use super::outbound::OutboundError;
use super::{ChannelWorld, Plugin, Runtime, wit};
use crate::directory::Directory;
use std::sync::Arc;

/// Why a rendered call did not reach the platform.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The plugin could not render it (its own refusal, or a failed call).
    #[error("rendering the reply failed: {0}")]
    Render(String),
    /// The URL was refused, or the platform could not be reached (worth a retry).
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}

impl Runtime {
    /// Renders `reply` to `appeal` with `plugin`, checks the URL, sends the call and returns the
    /// platform's answer. Plugin calls run on a blocking thread.
    ///
    /// # Errors
    /// See [`SendError`].
    pub async fn send_reply(
        self: &Arc<Self>,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<Directory>,
        appeal: &wit::Appeal,
        reply: &wit::OutboundReply,
    ) -> Result<wit::HttpResponse, SendError> {
        let (runtime, rendering, appeal, reply) =
            (self.clone(), plugin.clone(), appeal.clone(), reply.clone());
        let request =
            tokio::task::spawn_blocking(move || runtime.render_reply(&rendering, directory, &appeal, &reply))
                .await
                .map_err(|e| SendError::Render(e.to_string()))?
                .map_err(|e| SendError::Render(e.to_string()))?;
        let grants = plugin.grants();
        Ok(self
            .outbound()
            .send(&request, &grants.label, &grants.outbound_hosts, super::outbound::CALL_TIMEOUT)
            .await?)
    }

    /// Renders `survey` to the customer of `appeal` with `plugin` (`survey-renderer`), checks
    /// the URL, sends the call and returns the platform's answer (read it with
    /// [`Runtime::read_reply_answer`]).
    ///
    /// # Errors
    /// See [`SendError`].
    pub async fn send_survey(
        self: &Arc<Self>,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<Directory>,
        appeal: &wit::Appeal,
        survey: &wit::OutboundSurvey,
    ) -> Result<wit::HttpResponse, SendError> {
        let (runtime, rendering, appeal, survey) =
            (self.clone(), plugin.clone(), appeal.clone(), survey.clone());
        let request = tokio::task::spawn_blocking(move || {
            runtime.render_survey(&rendering, directory, &appeal, &survey)
        })
        .await
        .map_err(|e| SendError::Render(e.to_string()))?
        .map_err(|e| SendError::Render(e.to_string()))?;
        let grants = plugin.grants();
        Ok(self
            .outbound()
            .send(&request, &grants.label, &grants.outbound_hosts, super::outbound::CALL_TIMEOUT)
            .await?)
    }
}
