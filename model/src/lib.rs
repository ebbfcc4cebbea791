//! # ClientHub's model
//!
//! What an appeal is and what can happen to it, with no I/O: the host's store, pipeline,
//! workers and API all speak these types, and cargo keeps this crate below them.
//!
//! Start with [`appeal::Appeal`], [`event::Event`] (one typed entry of an appeal's history)
//! and [`text::render`] (an event in words for people, in Russian or English, with names
//! instead of ids). [`legacy`] reads the prose history that records before format 3 kept.

pub mod appeal;
pub mod event;
pub mod legacy;
pub mod text;
