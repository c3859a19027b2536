//! Fetch: pinned upstream artifacts, verified by sha256 before use, from the cache, a mirror
//! directory (offline use) or the network, in that order. Never trusts unverified bytes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::Source;
use crate::render::hex;

/// Environment variable naming a mirror directory for offline use.
pub const MIRROR_ENV: &str = "BIGTOP_K8S_MIRROR";
/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "BIGTOP_K8S_CACHE";

/// Why an artifact could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The bytes do not match the pinned hash.
    #[error("checksum mismatch for {name} from {origin}: expected sha256 {expected}, got {actual}")]
    Checksum {
        /// Source name.
        name: String,
        /// Where the bytes came from (file or URL).
        origin: String,
        /// The pinned sha256.
        expected: String,
        /// The sha256 of what was read.
        actual: String,
    },
    /// Download failed.
    #[error("cannot download {url}")]
    Download {
        /// The URL.
        url: String,
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// A local file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where artifacts come from.
#[derive(Debug, Clone)]
pub struct Fetcher {
    cache: PathBuf,
    mirror: Option<PathBuf>,
}

impl Fetcher {
    /// A fetcher using [`Fetcher::cache_root`] and an optional mirror.
    pub fn new(mirror: Option<PathBuf>) -> Fetcher {
        Fetcher { cache: Fetcher::cache_root(), mirror }
    }

    /// `BIGTOP_K8S_CACHE`, or the user's cache directory + `bigtop-k8s`.
    pub fn cache_root() -> PathBuf {
        std::env::var_os(CACHE_ENV).map(PathBuf::from).unwrap_or_else(default_cache_dir)
    }

    /// A fetcher with an explicit cache directory (tests).
    pub fn with_cache(cache: PathBuf, mirror: Option<PathBuf>) -> Fetcher {
        Fetcher { cache, mirror }
    }

    /// The verified bytes of `source`.
    ///
    /// # Errors
    /// A checksum mismatch (naming both hashes), an unreadable mirror file, or a failed download.
    pub async fn fetch(&self, source: &Source) -> Result<Vec<u8>, FetchError> {
        let cached = self.cache.join("sources").join(&source.sha256);
        if let Ok(bytes) = std::fs::read(&cached)
            && sha256(&bytes) == source.sha256
        {
            return Ok(bytes);
        }
        let (bytes, origin) = match &self.mirror {
            Some(dir) => {
                let path = dir.join(&source.mirror_path);
                (read(&path)?, path.display().to_string())
            }
            None => (download(&source.url).await?, source.url.clone()),
        };
        verify(source, &bytes, &origin)?;
        write(&cached, &bytes)?;
        Ok(bytes)
    }
}

fn verify(source: &Source, bytes: &[u8], origin: &str) -> Result<(), FetchError> {
    let actual = sha256(bytes);
    if actual != source.sha256 {
        return Err(FetchError::Checksum {
            name: source.name.clone(),
            origin: origin.to_string(),
            expected: source.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// sha256 of bytes, lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bigtop-k8s")
}

fn read(path: &Path) -> Result<Vec<u8>, FetchError> {
    std::fs::read(path).map_err(|source| FetchError::Io { path: path.display().to_string(), source })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let io = |source| FetchError::Io { path: path.display().to_string(), source };
    std::fs::create_dir_all(path.parent().expect("cache paths have a parent")).map_err(io)?;
    // Write then rename, so an interrupted run never leaves a truncated file under a valid name.
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// GET `url` (system proxies apply) and return the body; non-2xx is an error.
pub async fn download(url: &str) -> Result<Vec<u8>, FetchError> {
    let err = |source| FetchError::Download { url: url.to_string(), source };
    crate::install_crypto_provider();
    let response = reqwest::get(url).await.map_err(err)?.error_for_status().map_err(err)?;
    Ok(response.bytes().await.map_err(err)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> Source {
        Source {
            name: "thing".into(),
            url: "https://example.invalid/thing.yaml".into(),
            sha256: sha256(bytes),
            mirror_path: "up/thing.yaml".into(),
            apply: true,
        }
    }

    #[tokio::test]
    async fn mirror_then_cache_and_mismatch_names_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        std::fs::create_dir_all(mirror.join("up")).unwrap();
        std::fs::write(mirror.join("up/thing.yaml"), b"kind: A\n").unwrap();
        let fetcher = Fetcher::with_cache(dir.path().join("cache"), Some(mirror.clone()));
        let good = source(b"kind: A\n");
        assert_eq!(fetcher.fetch(&good).await.unwrap(), b"kind: A\n");
        std::fs::remove_file(mirror.join("up/thing.yaml")).unwrap();
        assert_eq!(fetcher.fetch(&good).await.unwrap(), b"kind: A\n", "served from the cache");

        std::fs::write(mirror.join("up/thing.yaml"), b"kind: B\n").unwrap();
        let err = fetcher.fetch(&source(b"kind: C\n")).await.unwrap_err().to_string();
        assert!(err.contains(&sha256(b"kind: C\n")) && err.contains(&sha256(b"kind: B\n")), "{err}");
    }
}
