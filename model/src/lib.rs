//! # ClientHub's model
//!
//! What an appeal is and what can happen to it, with no I/O: the host's store, pipeline,
//! workers and API all speak these types, and cargo keeps this crate below them.
//!
//! Start with [`appeal::Appeal`], [`event::Event`] (one typed entry of an appeal's history)
//! and [`text::render`] (an event in words for people, in Russian or English, with names
//! instead of ids). [`legacy`] reads the prose history that records before format 3 kept.
//! Beside them the rest of the vocabulary: the routing [`directory`] (and the names it gives
//! ids), working time ([`calendar`]), the injected [`clock`], what adapters find
//! ([`inbound`]), phones and e-mails normalised ([`normalize`]) and why a request was
//! refused ([`refusal`]).

pub mod appeal;
pub mod calendar;
pub mod clock;
pub mod directory;
pub mod event;
pub mod inbound;
pub mod legacy;
pub mod normalize;
pub mod notice;
pub mod refusal;
pub mod text;
