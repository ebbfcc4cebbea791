use clienthub_sdk::{Appeal, Verdict, kv};

/// The probe.
pub struct KvProbe;

impl clienthub_sdk::Filter for KvProbe {
    fn check(appeal: Appeal) -> Result<Verdict, String> {
        let name = plugin_manifest().name;
        let seen = kv::get("probe")?.map(|v| String::from_utf8_lossy(&v).into_owned());
        if name.ends_with("-a") {
            kv::set("probe", appeal.text.as_bytes())?;
        }
        Ok(Verdict::Tag(vec![format!("{name}:{}", seen.as_deref().unwrap_or("none"))]))
    }
}

clienthub_sdk::export_filter!(KvProbe);
