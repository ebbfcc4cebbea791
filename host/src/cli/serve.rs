//! `clienthub serve`: the host, until Ctrl-C (or, on a cluster node, until it can no longer
//! keep its view).

use anyhow::Result;
use clienthub::server::{ServeOptions, start};

pub async fn run(options: ServeOptions) -> Result<()> {
    let running = start(options).await?;
    if let Some(file) = &running.token_file {
        println!("admin token: {} (set CLIENTHUB_ADMIN_TOKEN to choose your own)", file.display());
    }
    println!("clienthub listening on http://{}", running.addr);
    let store = running.app.store.clone();
    tokio::select! {
        signal = tokio::signal::ctrl_c() => {
            signal?;
            tracing::info!("shutting down");
            running.stop().await
        }
        // A cluster node that can no longer keep its view stops; on restart it resumes from
        // its last applied position.
        reason = store.failed() => anyhow::bail!("this node stopped: {reason}"),
    }
}
