//! The cluster's streams, buckets and consumers, named after the cluster and created when
//! missing, and the connection to NATS.

use super::{ACK_WAIT, ClusterOptions, LEASE_AGE};
use crate::tx::TreeId;
use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use std::collections::HashMap;
use std::time::Duration;

/// Connects to NATS and JetStream, warning when the server takes messages too small for a
/// large webhook.
pub(super) async fn connect(options: &ClusterOptions) -> Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("clienthub {}", env!("CARGO_PKG_VERSION")))
        .retry_on_initial_connect()
        .connect(&options.url)
        .await
        .with_context(|| format!("connecting to {}", options.url))?;
    let max_payload = client.server_info().max_payload;
    // 0: the server's INFO was not read yet, so nothing is known.
    if (1..4 << 20).contains(&max_payload) {
        tracing::warn!(
            max_payload,
            "NATS takes messages up to {max_payload} bytes: a webhook near the 1 MiB body limit may not fit \
             (set max_payload: 8MB in the server's configuration)"
        );
    }
    Ok(jetstream::new(client))
}

/// The cluster's streams, buckets and consumers, created when missing.
pub(super) struct Layout {
    pub(super) state: stream::Stream,
    pub(super) intake: consumer::PullConsumer,
    pub(super) outboxes: HashMap<TreeId, consumer::PullConsumer>,
    pub(super) control: kv::Store,
    pub(super) idempotency: kv::Store,
    pub(super) leases: kv::Store,
    pub(super) blobs: object_store::ObjectStore,
    /// Attachments' files.
    pub(super) files: object_store::ObjectStore,
    /// The cluster's name in lower case: the prefix of its subjects and buckets.
    pub(super) lower: String,
}

impl Layout {
    pub(super) async fn open(js: &jetstream::Context, options: &ClusterOptions) -> Result<Self> {
        let (lower, upper) = (options.name.to_lowercase(), options.name.to_uppercase().replace('-', "_"));
        let timeout = Duration::from_secs(10);
        let replicas = options.replicas.max(1);
        let stream = |name: String, subject: String, retention| stream::Config {
            name,
            subjects: vec![subject],
            retention,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        };
        let state = tokio::time::timeout(
            timeout,
            js.get_or_create_stream(stream(
                format!("{upper}_STATE"),
                format!("{lower}.state"),
                stream::RetentionPolicy::Limits,
            )),
        )
        .await
        .context("JetStream does not answer (is the server started with -js?)")?
        .context("creating the state stream (is JetStream enabled?)")?;
        let intake_stream = js
            .get_or_create_stream(stream(
                format!("{upper}_INTAKE"),
                format!("{lower}.intake"),
                stream::RetentionPolicy::WorkQueue,
            ))
            .await
            .context("creating the intake stream")?;
        let outbox_stream = js
            .get_or_create_stream(stream(
                format!("{upper}_OUTBOX"),
                format!("{lower}.outbox.*"),
                stream::RetentionPolicy::WorkQueue,
            ))
            .await
            .context("creating the outbox stream")?;
        let (control, idempotency, leases, blobs) = Self::buckets(js, &lower, replicas).await?;
        let files = object_store(js, format!("{lower}-attachments"), replicas)
            .await
            .context("creating the attachments' object store")?;
        let worker = |durable: String, filter: String| consumer::pull::Config {
            durable_name: Some(durable),
            filter_subject: filter,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_ack_pending: 10_000,
            ..Default::default()
        };
        let intake = intake_stream
            .get_or_create_consumer("workers", worker("workers".into(), format!("{lower}.intake")))
            .await
            .context("creating the intake consumer")?;
        let mut outboxes = HashMap::new();
        for tree in [TreeId::CrmOutbox, TreeId::CrmNotes, TreeId::ReplyOutbox] {
            let name = tree.name().replace('_', "-");
            let consumer = outbox_stream
                .get_or_create_consumer(
                    &name,
                    worker(name.clone(), format!("{lower}.outbox.{}", tree.name())),
                )
                .await
                .context("creating an outbox consumer")?;
            outboxes.insert(tree, consumer);
        }
        Ok(Self { state, intake, outboxes, control, idempotency, leases, blobs, files, lower })
    }

    /// The control, idempotency and lease buckets and the plugin object store.
    async fn buckets(
        js: &jetstream::Context,
        lower: &str,
        replicas: usize,
    ) -> Result<(kv::Store, kv::Store, kv::Store, object_store::ObjectStore)> {
        let control =
            bucket(js, format!("{lower}-control"), Duration::ZERO, stream::StorageType::File, replicas)
                .await
                .context("creating the control bucket")?;
        let idempotency =
            bucket(js, format!("{lower}-idempotency"), Duration::ZERO, stream::StorageType::File, replicas)
                .await
                .context("creating the idempotency bucket")?;
        let leases = bucket(js, format!("{lower}-leases"), LEASE_AGE, stream::StorageType::Memory, replicas)
            .await
            .context("creating the lease bucket")?;
        let blobs = object_store(js, format!("{lower}-plugins"), replicas)
            .await
            .context("creating the plugin object store")?;
        Ok((control, idempotency, leases, blobs))
    }
}

/// An object store on file storage, created when missing.
async fn object_store(
    js: &jetstream::Context,
    bucket: String,
    replicas: usize,
) -> Result<object_store::ObjectStore> {
    match js.get_object_store(&bucket).await {
        Ok(store) => Ok(store),
        Err(_) => Ok(js
            .create_object_store(object_store::Config {
                bucket,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            })
            .await?),
    }
}

/// A key-value bucket (history 1), created when missing. The stream is made here as the
/// client's `create_key_value` would, because that first asks for account details in a shape
/// NATS 2.9 (Debian's) does not send.
async fn bucket(
    js: &jetstream::Context,
    name: String,
    max_age: Duration,
    storage: stream::StorageType,
    replicas: usize,
) -> Result<kv::Store> {
    if let Ok(kv) = js.get_key_value(&name).await {
        return Ok(kv);
    }
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age,
        duplicate_window: if max_age.is_zero() { Duration::from_secs(120) } else { max_age },
        storage,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: replicas,
        ..Default::default()
    })
    .await?;
    Ok(js.get_key_value(&name).await?)
}
