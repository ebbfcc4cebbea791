//! The attachment store: files under `<data>/attachments`, opened as a `cap-std` capability
//! directory, so no name — `../`, an absolute path, a symlink — can reach outside it. Files are
//! content-addressed (`ab/abcdef…`, their sha256 in hex), so the same photo sent twice is kept
//! once. A file is written to `tmp/`, synced, and renamed into place (then the directory is
//! synced): it is durable before any record says it is there.

use anyhow::{Context, Result, bail};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The attachment store.
pub struct Files {
    dir: Dir,
}

impl Files {
    /// Opens (creating) the store at `path`.
    ///
    /// # Errors
    /// When the directory cannot be created or opened.
    pub fn open(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path.join("tmp")).with_context(|| format!("creating {}", path.display()))?;
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { dir })
    }

    /// Keeps `bytes`; their sha256 in hex.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = relative(&sha256)?;
        if self.dir.exists(&path) {
            return Ok(sha256);
        }
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).context("the operating system's random generator")?;
        let temporary = PathBuf::from("tmp").join(hex::encode(random));
        let mut file = self.dir.create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        let parent = path.parent().context("a file's directory")?;
        self.dir.create_dir_all(parent)?;
        self.dir.rename(&temporary, &self.dir, &path)?;
        self.dir.open_dir(parent)?.open(".").and_then(|d| d.sync_all()).ok();
        Ok(sha256)
    }

    /// Opens the file named `sha256`.
    ///
    /// # Errors
    /// When the name is not a sha256 in hex or there is no such file.
    pub fn open_file(&self, sha256: &str) -> Result<File> {
        Ok(self.dir.open(relative(sha256)?)?)
    }

    /// Deletes the file named `sha256` (nothing when it is gone already).
    ///
    /// # Errors
    /// When the name is not a sha256 in hex or the file cannot be deleted.
    pub fn delete(&self, sha256: &str) -> Result<()> {
        match self.dir.remove_file(relative(sha256)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Opens any relative `name` inside the store (what a name from outside could ask for);
    /// the capability directory refuses one that leads out of it.
    ///
    /// # Errors
    /// When the name escapes the store or there is no such file.
    pub fn open_name(&self, name: &str) -> Result<File> {
        Ok(self.dir.open(name)?)
    }
}

/// Where the file named `sha256` lives: `ab/abcdef…`; only 64 lower-case hex digits are a name.
fn relative(sha256: &str) -> Result<PathBuf> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        bail!("not a file name of the attachment store");
    }
    Ok(PathBuf::from(&sha256[..2]).join(sha256))
}

#[cfg(test)]
mod tests {
    use super::Files;

    #[test]
    fn files_are_kept_once_by_digest_and_no_name_escapes_the_store() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("secret.txt"), b"outside").unwrap();
        let files = Files::open(&root.path().join("attachments")).unwrap();
        let a = files.put(b"photo").unwrap();
        assert_eq!(files.put(b"photo").unwrap(), a, "the same bytes are one file");
        let mut read = String::new();
        std::io::Read::read_to_string(&mut files.open_file(&a).unwrap(), &mut read).unwrap();
        assert_eq!(read, "photo");
        for name in ["../secret.txt", "/etc/passwd", "ab/../../secret.txt"] {
            assert!(files.open_name(name).is_err(), "{name} stays outside");
            assert!(files.open_file(name).is_err(), "{name} is not a file name");
        }
        std::os::unix::fs::symlink(root.path().join("secret.txt"), root.path().join("attachments/link"))
            .unwrap();
        assert!(files.open_name("link").is_err(), "a symlink out of the store is refused");
        files.delete(&a).unwrap();
        assert!(files.open_file(&a).is_err());
        files.delete(&a).unwrap();
    }
}
