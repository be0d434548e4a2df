//! Where accepted Alipay certificates are kept between runs (and, with a shared
//! implementation, across a fleet): a trait with two operations, and a directory as the
//! default implementation.
//!
//! Storage is never a trust anchor: the store validates everything it loads (chain to its
//! own root bundle, validity, SN, key strength) exactly as it validates a download.

use std::path::{Path, PathBuf};

/// The error of a storage backend.
pub type StorageError = Box<dyn std::error::Error + Send + Sync>;

/// Keeps the content of accepted Alipay certificates, by SN.
pub trait CertStorage: Send + Sync + std::fmt::Debug {
    /// Every stored certificate: the SN it was stored under and its content as downloaded.
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError>;

    /// Stores the content of a certificate that passed every check, under its SN.
    fn save(&self, sn: &str, content: &[u8]) -> Result<(), StorageError>;
}

/// One file per certificate, `alipayCertPublicKey_<sn>.crt`, in a directory.
#[derive(Debug, Clone)]
pub struct DirStorage {
    dir: PathBuf,
}

impl DirStorage {
    /// Storage in `dir`, created if missing.
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<DirStorage> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        Ok(DirStorage { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sn: &str) -> PathBuf {
        self.dir.join(format!("alipayCertPublicKey_{sn}.crt"))
    }
}

impl CertStorage for DirStorage {
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let sn = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("alipayCertPublicKey_"))
                .and_then(|n| n.strip_suffix(".crt"));
            // Only names this storage writes: an SN cannot contain a path separator.
            if let Some(sn) = sn.filter(|sn| super::is_well_formed_sn(sn)) {
                found.push((sn.to_string(), std::fs::read(&path)?));
            }
        }
        found.sort();
        Ok(found)
    }

    fn save(&self, sn: &str, content: &[u8]) -> Result<(), StorageError> {
        if !super::is_well_formed_sn(sn) {
            return Err(format!("{sn:?} is not a certificate SN").into());
        }
        // Write then rename: a crash never leaves half a certificate under the final name.
        let target = self.path(sn);
        let temporary = self.dir.join(format!(".alipayCertPublicKey_{sn}.crt.tmp"));
        std::fs::write(&temporary, content)?;
        std::fs::rename(&temporary, &target)?;
        Ok(())
    }
}
