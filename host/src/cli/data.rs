//! `clienthub contacts erase`, `clienthub backup` and `clienthub restore`: a person's data
//! erased on request, and the data directory saved from a running host and rebuilt from the
//! archive (with progress bars: a year of appeals is gigabytes).

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use clienthub::client::Client;
use clienthub::store::archive::{self, ArchiveWriter};
use std::path::Path;

#[derive(Subcommand)]
pub enum ContactsAction {
    /// Erase everything personal the host keeps about a person (152-ФЗ / GDPR request): their
    /// appeals are anonymised, raw requests deleted; the erasure itself is recorded (when, by
    /// whom, how many appeals), never what was erased.
    Erase {
        /// The person: a phone as typed, an e-mail, `channel:user id` or a contact id.
        contact: String,
    },
}

pub async fn contacts(action: ContactsAction, client: Client) -> Result<()> {
    let ContactsAction::Erase { contact } = action;
    let answer =
        client.send_json("POST", "/api/contacts/erase", &serde_json::json!({ "contact": contact })).await?;
    if answer["appeals"].is_null() {
        bail!("{}", answer["error"].as_str().unwrap_or("the erasure failed"));
    }
    println!(
        "Удалено / erased: appeals {}, raw requests {}, CRM notes {}",
        answer["appeals"], answer["raw_requests"], answer["crm_notes"]
    );
    Ok(())
}

/// Reads every record tree of the running host into the archive `to`.
pub async fn backup(client: Client, to: &Path) -> Result<()> {
    let listing = client.get_json("/api/backup").await?;
    let trees: Vec<String> = serde_json::from_value(listing["trees"].clone())
        .with_context(|| format!("the host did not list its trees: {listing}"))?;
    let partial = to.with_extension("partial");
    let file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut writer = ArchiveWriter::new(std::io::BufWriter::new(file))?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} backup: {msg} {bytes} ({bytes_per_sec})",
    )?);
    for tree in &trees {
        bar.set_message(tree.clone());
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(key) => format!("/api/backup/{tree}?after={key}"),
                None => format!("/api/backup/{tree}"),
            };
            let answer = client.send("GET", &path, None).await?;
            if answer.status != 200 {
                bail!("reading {tree}: HTTP {} {}", answer.status, String::from_utf8_lossy(&answer.body));
            }
            writer.write(&answer.body)?;
            bar.set_position(writer.written);
            match answer.header("x-clienthub-next") {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
    }
    let written = writer.written;
    writer.finish()?;
    std::fs::rename(&partial, to)?;
    bar.finish_and_clear();
    println!(
        "backup: {} ({} MiB, {} appeals when it began)",
        to.display(),
        written >> 20,
        listing["appeals"]
    );
    Ok(())
}

/// Rebuilds a data directory from an archive.
pub fn restore(file: &Path, data_dir: &Path) -> Result<()> {
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "restore {bar:40} {bytes}/{total_bytes} eta {eta}",
    )?);
    let records = archive::restore(file, data_dir, |read| bar.set_position(read))?;
    bar.finish_and_clear();
    println!("restored {records} records into {} (indexes and search rebuilt)", data_dir.display());
    Ok(())
}
