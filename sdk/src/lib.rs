//! # ClientHub SDK
//!
//! Everything a ClientHub plugin needs, in one dependency. A plugin is one crate
//! (`crate-type = ["cdylib", "rlib"]`) built with `cargo build --target wasm32-wasip2`; the
//! resulting `.wasm` is the artifact an admin uploads.
//!
//! Start with three items:
//! - a trait for your plugin's kind — [`Channel`], [`Filter`] or [`Router`];
//! - the matching macro — [`export_channel!`], [`export_filter!`] or [`export_router!`] — which
//!   exports your type and its manifest;
//! - [`testing::Harness`], which runs your plugin natively under `cargo test` with an
//!   in-memory key-value store, configuration and routing directory.
//!
//! ```
//! use clienthub_sdk::{Appeal, Decision, Router};
//!
//! struct EverythingToSupport;
//!
//! impl Router for EverythingToSupport {
//!     fn route(appeal: Appeal) -> Result<Decision, String> {
//!         Ok(Decision::to_queue("support", format!("{} appeal", appeal.channel)))
//!     }
//! }
//! // In the plugin crate: clienthub_sdk::export_router!(EverythingToSupport);
//!
//! let appeal = clienthub_sdk::testing::appeal("telegram", "Hello");
//! let decision = clienthub_sdk::testing::Harness::new()
//!     .run(|| EverythingToSupport::route(appeal))
//!     .unwrap();
//! assert_eq!(decision.queue, "support");
//! ```
//!
//! ## The manifest
//! The macros build the manifest from the crate's `Cargo.toml` (name and version) and a
//! `clienthub.json` beside it: `description`, `capabilities` (`"key-value"`, `"directory"`,
//! `{"outbound-host": "api.example.com"}`), `config_schema` (a JSON Schema for the admin
//! configuration) and optionally `name` to publish under another name than the crate's.
//! In a channel's `config_schema`, `"x-clienthub-secret": "generated"` on a property makes the
//! host generate that secret when the channel is activated, `"platform"` makes the channel
//! refuse deliveries until an admin sets it; `"x-clienthub-setup": {"ru": …, "en": …}` at the
//! top says what to paste on the platform's side (`{url}` and `{key}` filled in). A channel
//! that marks no secret accepts deliveries only once an admin opens it without verification.
//! The manifest travels inside the component (the exported `get-manifest` function), so
//! the `.wasm` is the only file to upload.
//!
//! Host services: [`log`], [`kv`], [`config`], [`directory`], [`clock`], [`http`]. Helpers:
//! [`auth`] (verifying a platform's secret or signature), [`text`].

pub mod auth;
pub mod bindings;
pub mod manifest;
pub mod manifest_check;
mod records;
mod services;
pub mod survey;
pub mod testing;
pub mod text;

pub use services::{clock, config, directory, http, kv, log};

pub use bindings::host::clienthub::plugin::directory::{Department, Employee, Region, Topic, TopicRule};
pub use bindings::host::clienthub::plugin::types::{
    AdapterError, AdapterOutput, Appeal, AssignmentStrategy, Attachment, AttachmentKind, Capability, Contact,
    Decision, DeliveryState, DeliveryStatus, Event, Header, HttpRequest, HttpResponse, InboundMessage,
    Manifest, MediaFile, MediaStep, MetaEntry, OutboundReply, OutboundRequest, OutboundSurvey, PluginKind,
    Priority, ReplyCommand, ReplyOutcome, RetryLater, SurveyOption, Verdict,
};
pub use bindings::host::clienthub::plugin::types::{
    CrmAssignee, CrmError, CrmEventOutput, CrmFile, CrmOutput, CrmRecord, CrmReply, CrmState, CrmStatus,
    CrmStatusChange, CrmUpdate,
};

/// The version of the `clienthub:plugin` WIT package this SDK is built against.
pub const WIT_VERSION: &str = "0.1.3";

/// This SDK's own version, stamped into every plugin's manifest.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A channel adapter: turns a platform's webhook into events.
pub trait Channel {
    /// Handles one webhook request. Return [`AdapterError::Unauthorized`] when the signature
    /// or secret does not verify, [`AdapterError::Malformed`] when the payload is not what
    /// the platform documents.
    ///
    /// # Errors
    /// As above; the host answers 401 for `Unauthorized` and keeps the raw request in triage
    /// for `Malformed`.
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError>;

    /// Renders the platform call that sends `reply` to the customer of `appeal`. The host
    /// performs it (only to the hosts the manifest declares as `outbound-host`), retries it
    /// and records the outcome. The default refuses: the channel sends no replies.
    ///
    /// # Errors
    /// When this appeal cannot be answered (no chat id, replies not configured); the reply
    /// fails with the message.
    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let _ = reply;
        Err(format!("the {} channel does not send replies", appeal.channel))
    }

    /// Reads the platform's answer to the rendered call. The default treats 2xx as sent,
    /// 429 and 5xx as retry (honouring `Retry-After`) and anything else as failed; override
    /// it to pick up the platform's message id or errors it reports inside a 200.
    fn read_reply_answer(appeal: Appeal, reply: OutboundReply, answer: HttpResponse) -> ReplyOutcome {
        let _ = (appeal, reply);
        ReplyOutcome::from_status(&answer)
    }

    /// The next step of fetching `attachment` of `appeal` (see the WIT `media-fetcher`):
    /// [`MediaStep::Call`] a platform API whose answer comes back in `answers`,
    /// [`MediaStep::Download`] the file itself, [`MediaStep::File`] a part cut from `raw`,
    /// [`MediaStep::Retry`] when the platform is not ready yet, or [`MediaStep::Failed`]. The
    /// default: this channel fetches no files.
    fn fetch_media(
        appeal: Appeal,
        attachment: Attachment,
        raw: Option<HttpRequest>,
        answers: Vec<HttpResponse>,
    ) -> MediaStep {
        let _ = (attachment, raw, answers);
        MediaStep::Failed(format!("the {} channel does not fetch files", appeal.channel))
    }

    /// Renders the platform call that asks the customer of `appeal` the question of `survey`
    /// (the rating after a resolution). Channels with buttons put each option on one, with a
    /// payload that brings `survey.id` and the option's value back ([`survey::answer_event`]
    /// makes the event); the default sends the question and the numbered options as a plain
    /// reply through [`Channel::render_reply`], answered by typing the number.
    ///
    /// # Errors
    /// As [`Channel::render_reply`].
    fn render_survey(appeal: Appeal, survey: OutboundSurvey) -> Result<OutboundRequest, String> {
        let reply = OutboundReply { id: survey.id.clone(), text: survey::as_text(&survey), author: None };
        Self::render_reply(appeal, reply)
    }

    /// Renders the platform call that sends `file` with `caption` into the chat `appeal` is
    /// addressed to (a notice's photo). The default: this channel sends no files.
    ///
    /// # Errors
    /// When the channel sends no files, or not to this chat.
    fn render_file(appeal: Appeal, file: MediaFile, caption: String) -> Result<OutboundRequest, String> {
        let _ = (file, caption);
        Err(format!("the {} channel sends no files", appeal.channel))
    }

    /// The CRM this adapter connects (`Some("bitrix24")`) — then the host delivers every
    /// routed appeal through [`Channel::deliver`] and passes the CRM's webhooks to
    /// [`Channel::handle_event`]. The default: not a CRM connector.
    fn crm_name() -> Option<String> {
        None
    }

    /// CRM connectors: puts the appeal into the CRM (reached through [`http::send`]) and
    /// returns the record. Must be idempotent: look the appeal up by its id first, since a
    /// crash between the CRM's answer and the host's record makes the host call again.
    ///
    /// # Errors
    /// [`CrmError::Retry`] when the CRM is down or rate-limits; [`CrmError::Failed`] when it
    /// refuses the record (the default: not a CRM connector).
    fn deliver(appeal: Appeal, assignee: Option<CrmAssignee>) -> Result<CrmRecord, CrmError> {
        let _ = (appeal, assignee);
        Err(CrmError::Failed("this channel is not a CRM connector".into()))
    }

    /// CRM connectors: adds `text` to the timeline of the record the appeal became (the
    /// conversation before delivery, then each later message of the customer).
    ///
    /// # Errors
    /// As [`Channel::deliver`].
    fn add_note(record: CrmRecord, appeal: Appeal, text: String) -> Result<(), CrmError> {
        let _ = (record, appeal, text);
        Err(CrmError::Failed("this channel is not a CRM connector".into()))
    }

    /// CRM connectors: applies one event of the appeal to the record it became (WIT 0.1.3
    /// `crm-sync`): the new owner, the stage for the new state, a timeline comment with files.
    /// Must be idempotent; when `update.retried`, look for `update.event_id` before writing a
    /// comment again. The default adds the comment (or the customer's message) through
    /// [`Channel::add_note`] and changes nothing else.
    ///
    /// # Errors
    /// As [`Channel::deliver`].
    fn apply_update(record: CrmRecord, appeal: Appeal, update: CrmUpdate) -> Result<(), CrmError> {
        let text = match (update.comment, update.customer_message) {
            (Some(comment), _) => comment,
            (None, Some(message)) => format!("Клиент ({}): {message}", appeal.channel),
            (None, None) => return Ok(()),
        };
        Self::add_note(record, appeal, text)
    }

    /// CRM connectors: reads one webhook from the CRM with each reply's origin (WIT 0.1.3
    /// `crm-sync.read-event`; a Bitrix24 Open Lines message) — the host sends a reply of the
    /// same origin once only and hands the origin back in [`CrmUpdate::reply_origin`]. The
    /// default: [`Channel::handle_event`]'s replies, without origins.
    ///
    /// # Errors
    /// As [`Channel::handle`].
    fn read_event(request: HttpRequest) -> Result<CrmEventOutput, AdapterError> {
        let output = Self::handle_event(request)?;
        let replies = output
            .replies
            .into_iter()
            .map(|r| CrmReply { appeal_id: r.appeal_id, text: r.text, author: r.author, origin: None })
            .collect();
        Ok(CrmEventOutput { response: output.response, replies, status_changes: output.status_changes })
    }

    /// CRM connectors: reads one webhook from the CRM — replies to send through each appeal's
    /// own channel, and status changes. The default passes the request to [`Channel::handle`]
    /// and keeps its reply commands.
    ///
    /// # Errors
    /// As [`Channel::handle`].
    fn handle_event(request: HttpRequest) -> Result<CrmOutput, AdapterError> {
        let output = Self::handle(request)?;
        let replies = output
            .events
            .into_iter()
            .filter_map(|event| match event {
                Event::ReplyCommand(reply) => Some(reply),
                _ => None,
            })
            .collect();
        Ok(CrmOutput { response: output.response, replies, status_changes: Vec::new() })
    }
}

/// A filter: keeps, drops or tags an appeal.
pub trait Filter {
    /// Returns the verdict on one appeal.
    ///
    /// # Errors
    /// An `Err` is a failure of the plugin; the appeal goes to triage with the message.
    fn check(appeal: Appeal) -> Result<Verdict, String>;
}

/// A router: decides where an appeal goes.
pub trait Router {
    /// Returns the routing decision for one appeal.
    ///
    /// # Errors
    /// An `Err` is a failure of the plugin; the appeal goes to triage with the message.
    fn route(appeal: Appeal) -> Result<Decision, String>;
}

/// Exports a type implementing [`Channel`] as this crate's channel adapter, with the manifest
/// built from `Cargo.toml` and `clienthub.json`.
#[macro_export]
macro_rules! export_channel {
    ($plugin:ty) => {
        $crate::__export_manifest!(Channel);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            impl $crate::bindings::channel::exports::clienthub::plugin::channel_adapter::Guest
                for __ClienthubPlugin
            {
                fn get_manifest() -> $crate::Manifest {
                    plugin_manifest()
                }
                fn handle(
                    request: $crate::HttpRequest,
                ) -> ::core::result::Result<$crate::AdapterOutput, $crate::AdapterError> {
                    <$plugin as $crate::Channel>::handle(request)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::reply_renderer::Guest
                for __ClienthubPlugin
            {
                fn render_reply(
                    appeal: $crate::Appeal,
                    reply: $crate::OutboundReply,
                ) -> ::core::result::Result<$crate::OutboundRequest, ::std::string::String> {
                    <$plugin as $crate::Channel>::render_reply(appeal, reply)
                }
                fn read_reply_answer(
                    appeal: $crate::Appeal,
                    reply: $crate::OutboundReply,
                    answer: $crate::HttpResponse,
                ) -> $crate::ReplyOutcome {
                    <$plugin as $crate::Channel>::read_reply_answer(appeal, reply, answer)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::crm_connector::Guest
                for __ClienthubPlugin
            {
                fn crm_name() -> ::core::option::Option<::std::string::String> {
                    <$plugin as $crate::Channel>::crm_name()
                }
                fn deliver(
                    appeal: $crate::Appeal,
                    assignee: ::core::option::Option<$crate::CrmAssignee>,
                ) -> ::core::result::Result<$crate::CrmRecord, $crate::CrmError> {
                    <$plugin as $crate::Channel>::deliver(appeal, assignee)
                }
                fn add_note(
                    record: $crate::CrmRecord,
                    appeal: $crate::Appeal,
                    text: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::CrmError> {
                    <$plugin as $crate::Channel>::add_note(record, appeal, text)
                }
                fn handle_event(
                    request: $crate::HttpRequest,
                ) -> ::core::result::Result<$crate::CrmOutput, $crate::AdapterError> {
                    <$plugin as $crate::Channel>::handle_event(request)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::media_fetcher::Guest
                for __ClienthubPlugin
            {
                fn fetch_media(
                    appeal: $crate::Appeal,
                    attachment: $crate::Attachment,
                    raw: ::core::option::Option<$crate::HttpRequest>,
                    answers: ::std::vec::Vec<$crate::HttpResponse>,
                ) -> $crate::MediaStep {
                    <$plugin as $crate::Channel>::fetch_media(appeal, attachment, raw, answers)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::survey_renderer::Guest
                for __ClienthubPlugin
            {
                fn render_survey(
                    appeal: $crate::Appeal,
                    survey: $crate::OutboundSurvey,
                ) -> ::core::result::Result<$crate::OutboundRequest, ::std::string::String> {
                    <$plugin as $crate::Channel>::render_survey(appeal, survey)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::file_sender::Guest
                for __ClienthubPlugin
            {
                fn render_file(
                    appeal: $crate::Appeal,
                    file: $crate::MediaFile,
                    caption: ::std::string::String,
                ) -> ::core::result::Result<$crate::OutboundRequest, ::std::string::String> {
                    <$plugin as $crate::Channel>::render_file(appeal, file, caption)
                }
            }
            impl $crate::bindings::channel::exports::clienthub::plugin::crm_sync::Guest
                for __ClienthubPlugin
            {
                fn apply(
                    record: $crate::CrmRecord,
                    appeal: $crate::Appeal,
                    update: $crate::CrmUpdate,
                ) -> ::core::result::Result<(), $crate::CrmError> {
                    <$plugin as $crate::Channel>::apply_update(record, appeal, update)
                }
                fn read_event(
                    request: $crate::HttpRequest,
                ) -> ::core::result::Result<$crate::CrmEventOutput, $crate::AdapterError> {
                    <$plugin as $crate::Channel>::read_event(request)
                }
            }
            $crate::bindings::channel::export_channel_world!(
                __ClienthubPlugin with_types_in $crate::bindings::channel
            );
        };
    };
}

/// Exports a type implementing [`Filter`] as this crate's filter, with the manifest built from
/// `Cargo.toml` and `clienthub.json`.
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::__export_manifest!(Filter);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            impl $crate::bindings::filter::exports::clienthub::plugin::appeal_filter::Guest
                for __ClienthubPlugin
            {
                fn get_manifest() -> $crate::Manifest {
                    plugin_manifest()
                }
                fn check(
                    appeal: $crate::Appeal,
                ) -> ::core::result::Result<$crate::Verdict, ::std::string::String> {
                    <$plugin as $crate::Filter>::check(appeal)
                }
            }
            $crate::bindings::filter::export_filter_world!(
                __ClienthubPlugin with_types_in $crate::bindings::filter
            );
        };
    };
}

/// Exports a type implementing [`Router`] as this crate's router, with the manifest built from
/// `Cargo.toml` and `clienthub.json`.
#[macro_export]
macro_rules! export_router {
    ($plugin:ty) => {
        $crate::__export_manifest!(Router);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            impl $crate::bindings::router::exports::clienthub::plugin::appeal_router::Guest
                for __ClienthubPlugin
            {
                fn get_manifest() -> $crate::Manifest {
                    plugin_manifest()
                }
                fn route(
                    appeal: $crate::Appeal,
                ) -> ::core::result::Result<$crate::Decision, ::std::string::String> {
                    <$plugin as $crate::Router>::route(appeal)
                }
            }
            $crate::bindings::router::export_router_world!(
                __ClienthubPlugin with_types_in $crate::bindings::router
            );
        };
    };
}

/// Defines `plugin_manifest()` in the plugin crate (usable from its tests too). Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_manifest {
    ($kind:ident) => {
        $crate::__check_manifest_file!();
        /// The manifest this plugin publishes: `Cargo.toml` plus `clienthub.json`.
        pub fn plugin_manifest() -> $crate::Manifest {
            $crate::manifest::build(
                $crate::PluginKind::$kind,
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/clienthub.json")),
            )
        }
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        pub struct __ClienthubPlugin;
    };
}
