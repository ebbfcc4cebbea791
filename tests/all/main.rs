//! End-to-end tests: the real `clienthub` binary, the real built plugins, real HTTP on
//! loopback and the real store (fjall) on a temp dir. One test binary, one module per area.

mod bitrix;
mod platform;
mod support;

mod abuse;
mod access;
mod access_matrix;
mod admin;
mod channels;
mod chats_and_reviews;
mod cli;
mod cluster;
mod console;
mod crm;
mod crm_sync;
mod csat;
mod desk;
mod door;
mod history;
mod ingest;
mod layers;
mod lifecycle;
mod media;
mod notices;
mod partner;
mod people;
mod proof;
mod replies;
mod rollout;
mod routing;
mod sandbox;
mod shift;
mod store;
mod swap;
mod tour;
mod work;
mod workspace;
