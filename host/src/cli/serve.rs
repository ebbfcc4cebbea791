//! `clienthub serve`: the host, until Ctrl-C (or, on a cluster node, until it can no longer
//! keep its view).

use anyhow::Result;
use clienthub::server::{ServeOptions, start};

pub async fn run(options: ServeOptions) -> Result<()> {
    let data_dir = std::path::absolute(&options.data_dir)?;
    clienthub::memory::trim_periodically();
    let running = start(options).await?;
    println!("clienthub listening on http://{}", running.addr);
    // What another terminal's CLI needs: where the host is, and where its admin token is.
    println!("for the CLI in another terminal:");
    println!("  export CLIENTHUB_URL=http://{}", running.addr);
    match &running.token_file {
        Some(_) => println!("  export CLIENTHUB_DATA_DIR={}", data_dir.display()),
        None => println!("  export CLIENTHUB_ADMIN_TOKEN=…   # the token this host was started with"),
    }
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
