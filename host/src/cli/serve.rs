//! `clienthub serve`: the host, until Ctrl-C (or, on a cluster node, until it can no longer
//! keep its view). A panic (a bug: it fails only the task it happened in) is logged as one
//! line, at most once a second, never with a backtrace: requests cannot flood the log.

use anyhow::Result;
use clienthub::server::{ServeOptions, start};
use std::sync::atomic::{AtomicU64, Ordering};

/// Logs a panic in one line, at most once a second.
fn quiet_panics() {
    static LAST: AtomicU64 = AtomicU64::new(0);
    std::panic::set_hook(Box::new(|info| {
        let second = std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs());
        if LAST.swap(second, Ordering::Relaxed) != second {
            let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            tracing::error!(%place, "a task panicked: {}", info.payload_as_str().unwrap_or("(no message)"));
        }
    }));
}

pub async fn run(options: ServeOptions) -> Result<()> {
    quiet_panics();
    let data_dir = std::path::absolute(&options.data_dir)?;
    if let Some(warning) = clienthub::private::exposed(&data_dir) {
        tracing::warn!("{warning}");
    }
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
