//! The calls each world exports, on typed handles: a channel adapter's `handle`, reply
//! rendering and CRM connector calls; a filter's `check`; a router's `route`; any plugin's
//! manifest; and the benchmark's instantiation measurements.

use super::handles::{
    AnyPlugin, ChannelWorld, FilterWorld, Instance, Plugin, RouterWorld, World, wrong_world,
};
use super::{CallError, Runtime, wit};
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

impl Runtime {
    /// The plugin's manifest.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn manifest(&self, plugin: &AnyPlugin) -> Result<wit::Manifest, CallError> {
        let plugin = match plugin {
            AnyPlugin::Channel(p) => &p.loaded,
            AnyPlugin::Filter(p) => &p.loaded,
            AnyPlugin::Router(p) => &p.loaded,
        };
        self.call(plugin, Default::default(), |instance, store| match instance {
            Instance::Channel(i) => i.clienthub_plugin_channel_adapter().call_get_manifest(store),
            Instance::Extended(i, _) => i.clienthub_plugin_channel_adapter().call_get_manifest(store),
            Instance::Filter(i) => i.clienthub_plugin_appeal_filter().call_get_manifest(store),
            Instance::Router(i) => i.clienthub_plugin_appeal_router().call_get_manifest(store),
        })
    }

    /// A channel adapter's handling of one webhook request.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]) or is not a channel adapter.
    pub fn handle(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        request: &wit::HttpRequest,
    ) -> Result<Result<wit::AdapterOutput, wit::AdapterError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Channel(i) => i.clienthub_plugin_channel_adapter().call_handle(store, request),
            Instance::Extended(i, _) => i.clienthub_plugin_channel_adapter().call_handle(store, request),
            _ => wrong_world(World::Channel),
        })
    }

    /// A channel adapter's rendering of the platform call that sends `reply`.
    ///
    /// # Errors
    /// When the plugin fails, refuses (its message) or sends no replies.
    pub fn render_reply(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        reply: &wit::OutboundReply,
    ) -> Result<wit::OutboundRequest, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i, _) => {
                i.clienthub_plugin_reply_renderer().call_render_reply(store, appeal, reply)
            }
            _ => Ok(Err(format!(
                "{} does not send replies (it does not export reply-renderer)",
                plugin.loaded.grants.label
            ))),
        })?
        .map_err(CallError::Plugin)
    }

    /// A channel adapter's reading of the platform's answer to a rendered reply call.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn read_reply_answer(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        reply: &wit::OutboundReply,
        answer: &wit::HttpResponse,
    ) -> Result<wit::ReplyOutcome, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i, _) => {
                i.clienthub_plugin_reply_renderer().call_read_reply_answer(store, appeal, reply, answer)
            }
            _ => Ok(wit::ReplyOutcome::Failed("the plugin does not send replies".into())),
        })
    }

    /// A channel adapter's next step of fetching `attachment` (`media-fetcher`, WIT 0.1.2).
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn fetch_media(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        attachment: &wit::Attachment,
        raw: Option<&wit::HttpRequest>,
        answers: &[wit::HttpResponse],
    ) -> Result<wit::MediaStep, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(_, rich) if let Some(media) = &rich.media => {
                media.call_fetch_media(store, appeal, attachment, raw, answers)
            }
            _ => Ok(wit::MediaStep::Failed(format!(
                "{} does not fetch files (it does not export media-fetcher)",
                plugin.loaded.grants.label
            ))),
        })
    }

    /// A channel adapter's rendering of the call that asks a customer `survey`'s question
    /// (`survey-renderer`, WIT 0.1.2).
    ///
    /// # Errors
    /// When the plugin fails, refuses (its message) or asks no questions.
    pub fn render_survey(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        survey: &wit::OutboundSurvey,
    ) -> Result<wit::OutboundRequest, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(_, rich) if let Some(survey_renderer) = &rich.survey => {
                survey_renderer.call_render_survey(store, appeal, survey)
            }
            _ => Ok(Err(format!(
                "{} asks no questions (it does not export survey-renderer)",
                plugin.loaded.grants.label
            ))),
        })?
        .map_err(CallError::Plugin)
    }

    /// A channel adapter's rendering of the call that sends `file` into the chat `appeal` is
    /// addressed to (`file-sender`, WIT 0.1.2).
    ///
    /// # Errors
    /// When the plugin fails, refuses (its message) or sends no files.
    pub fn render_file(
        &self,
        plugin: &Plugin<ChannelWorld>,
        appeal: &wit::Appeal,
        file: &wit::MediaFile,
        caption: &str,
    ) -> Result<wit::OutboundRequest, CallError> {
        self.call(&plugin.loaded, Default::default(), |instance, store| match instance {
            Instance::Extended(_, rich) if let Some(sender) = &rich.files => {
                sender.call_render_file(store, appeal, file, caption)
            }
            _ => Ok(Err(format!(
                "{} sends no files (it does not export file-sender)",
                plugin.loaded.grants.label
            ))),
        })?
        .map_err(CallError::Plugin)
    }

    /// The CRM a channel connects, when it is a CRM connector.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn crm_name(&self, plugin: &Plugin<ChannelWorld>) -> Result<Option<String>, CallError> {
        self.call(&plugin.loaded, Default::default(), |instance, store| match instance {
            Instance::Extended(i, _) => i.clienthub_plugin_crm_connector().call_crm_name(store),
            _ => Ok(None),
        })
    }

    /// A CRM connector's delivery of one appeal.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn deliver(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        assignee: Option<&wit::CrmAssignee>,
    ) -> Result<Result<wit::CrmRecord, wit::CrmError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i, _) => {
                i.clienthub_plugin_crm_connector().call_deliver(store, appeal, assignee)
            }
            _ => Ok(Err(wit::CrmError::Failed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A CRM connector's application of one update to a record (`crm-sync`, WIT 0.1.3). A
    /// connector built before 0.1.3 gets the update's comment, or the customer's message, as a
    /// note (`add-note`) and nothing else.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn apply_crm_update(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        record: &wit::CrmRecord,
        appeal: &wit::Appeal,
        update: &wit::CrmUpdate,
    ) -> Result<Result<(), wit::CrmError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(_, rich) if let Some(sync) = &rich.sync => {
                sync.call_apply(store, record, appeal, update)
            }
            Instance::Extended(i, _) => {
                let note = update.comment.clone().or_else(|| {
                    update.customer_message.as_ref().map(|m| format!("Клиент ({}): {m}", appeal.channel))
                });
                match note {
                    Some(text) => {
                        i.clienthub_plugin_crm_connector().call_add_note(store, record, appeal, &text)
                    }
                    None => Ok(Ok(())),
                }
            }
            _ => Ok(Err(wit::CrmError::Failed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A CRM connector's reading of one webhook from its CRM: `crm-sync.read-event` (WIT
    /// 0.1.3, replies with their origin) when the component has it, else
    /// `crm-connector.handle-event`.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn read_crm_event(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        request: &wit::HttpRequest,
    ) -> Result<Result<wit::CrmEventOutput, wit::AdapterError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(_, rich) if let Some(sync) = &rich.sync => {
                sync.call_read_event(store, request)
            }
            Instance::Extended(i, _) => {
                Ok(i.clienthub_plugin_crm_connector().call_handle_event(store, request)?.map(|output| {
                    let replies = output
                        .replies
                        .into_iter()
                        .map(|r| wit::CrmReply {
                            appeal_id: r.appeal_id,
                            text: r.text,
                            author: r.author,
                            origin: None,
                        })
                        .collect();
                    wit::CrmEventOutput {
                        response: output.response,
                        replies,
                        status_changes: output.status_changes,
                    }
                }))
            }
            _ => Ok(Err(wit::AdapterError::Malformed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A filter's verdict on one appeal.
    ///
    /// # Errors
    /// When the plugin fails or returns an error (see [`CallError`]).
    pub fn check(
        &self,
        plugin: &Plugin<FilterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
    ) -> Result<wit::Verdict, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Filter(i) => i.clienthub_plugin_appeal_filter().call_check(store, appeal),
            _ => wrong_world(World::Filter),
        })?
        .map_err(CallError::Plugin)
    }

    /// A router's decision on one appeal.
    ///
    /// # Errors
    /// When the plugin fails or returns an error (see [`CallError`]).
    pub fn route(
        &self,
        plugin: &Plugin<RouterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
    ) -> Result<wit::Decision, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Router(i) => i.clienthub_plugin_appeal_router().call_route(store, appeal),
            _ => wrong_world(World::Router),
        })?
        .map_err(CallError::Plugin)
    }

    /// Benchmark only: the median time to create a `Store`, instantiate `plugin` in it and drop
    /// both.
    ///
    /// # Errors
    /// When instantiation fails.
    pub fn instantiation_time(&self, plugin: &Plugin<RouterWorld>, iterations: usize) -> Result<Duration> {
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = std::time::Instant::now();
            drop(self.instantiate(&plugin.loaded, Default::default()).map_err(|e| anyhow::anyhow!("{e}"))?);
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok(samples[samples.len() / 2])
    }

    /// Benchmark only: routes `appeal` `iterations` times, each on a fresh `Store` and
    /// instance (the alternative to warm instances); the median per call.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn route_on_fresh_stores(
        &self,
        plugin: &Plugin<RouterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        iterations: usize,
    ) -> Result<Duration> {
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = std::time::Instant::now();
            let mut warm =
                self.instantiate(&plugin.loaded, directory.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let Instance::Router(router) = &warm.instance else {
                anyhow::bail!("not a router");
            };
            router
                .clienthub_plugin_appeal_router()
                .call_route(&mut warm.store, appeal)?
                .map_err(anyhow::Error::msg)?;
            drop(warm);
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok(samples[samples.len() / 2])
    }
}
