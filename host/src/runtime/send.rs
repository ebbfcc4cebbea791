//! A reply's platform call, the one path every message the host sends through a channel takes
//! (an operator's reply, a notice to a brigade chat): the channel's plugin renders it, the
//! host checks the URL against the plugin's allowlist, then sends it and hands back the
//! platform's answer.

use super::{ChannelWorld, Plugin, Runtime, wit};
use crate::directory::Directory;
use std::sync::Arc;

/// Why a rendered call did not reach the platform.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The plugin could not render it (its own refusal, or a failed call).
    #[error("rendering the reply failed: {0}")]
    Render(String),
    /// The URL is not one the plugin may have the host call.
    #[error("{0}")]
    Refused(String),
    /// The platform could not be reached or did not answer in time (worth a retry).
    #[error("{authority}: {error}")]
    Unreachable {
        /// The host and port called (never the URL: it may hold a token).
        authority: String,
        /// What went wrong.
        error: String,
    },
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
        let target = plugin.check_url(&request.url).map_err(SendError::Refused)?;
        self.outbound()
            .send(&request, super::outbound::CALL_TIMEOUT)
            .await
            .map_err(|e| SendError::Unreachable { authority: target.authority(), error: format!("{e:#}") })
    }
}
