//! The `kind` binary: use the one on PATH when its minor version matches the release whose node
//! images we pin; otherwise download that release for this OS/arch, verify it against the
//! `.sha256sum` file published beside it, and cache it. Runs kind commands, keeping argv and
//! output for error messages.

use std::path::{Path, PathBuf};

use super::tool::{self, ToolError};
use crate::fetch::sha256;

const RELEASES: &str = "https://github.com/kubernetes-sigs/kind/releases/download";

/// Why kind could not be found or run.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// No usable binary and no way to get one.
    #[error("cannot get kind {version}: {detail}")]
    Unavailable {
        /// The release wanted.
        version: String,
        /// What went wrong.
        detail: String,
    },
    /// A kind command failed.
    #[error(transparent)]
    Command(#[from] ToolError),
}

/// A kind binary we can run.
#[derive(Debug, Clone)]
pub struct Kind {
    /// Its path.
    pub path: PathBuf,
}

/// The asset name of a kind release for this machine.
pub fn asset_name() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("kind-{os}-{arch}")
}

/// Whether `kind version` output is of the same minor release as `wanted` (`v0.32.x`).
pub fn compatible(version_output: &str, wanted: &str) -> bool {
    let minor = |v: &str| v.trim_start_matches('v').splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    version_output.split_whitespace().nth(1).is_some_and(|v| minor(v) == minor(wanted))
}

/// Find or fetch kind `version`: PATH, then the cache, then the mirror directory, then GitHub.
pub async fn locate(version: &str, cache: &Path, mirror: Option<&Path>) -> Result<Kind, KindError> {
    if let Ok(out) = tokio::process::Command::new("kind").arg("version").output().await
        && out.status.success()
        && compatible(&String::from_utf8_lossy(&out.stdout), version)
    {
        return Ok(Kind { path: PathBuf::from("kind") });
    }
    let cached = cache.join("kind").join(version).join("kind");
    if cached.exists() {
        return Ok(Kind { path: cached });
    }
    let unavailable = |detail: String| KindError::Unavailable { version: version.into(), detail };
    let asset = asset_name();
    let (binary, sums) = match mirror {
        Some(dir) => {
            let base = dir.join("kind").join(version);
            let read = |p: PathBuf| std::fs::read(&p).map_err(|e| unavailable(format!("{}: {e}", p.display())));
            (read(base.join(&asset))?, read(base.join(format!("{asset}.sha256sum")))?)
        }
        None => {
            let url = format!("{RELEASES}/{version}/{asset}");
            (download(&url).await.map_err(unavailable)?, download(&format!("{url}.sha256sum")).await.map_err(unavailable)?)
        }
    };
    check_published(&asset, &binary, &sums).map_err(unavailable)?;
    install(&cached, &binary).map_err(|e| unavailable(format!("cannot write {}: {e}", cached.display())))?;
    Ok(Kind { path: cached })
}

/// Check `binary` against the `<sha256>  <asset>` line of the checksum file published with it.
pub fn check_published(asset: &str, binary: &[u8], sums: &[u8]) -> Result<(), String> {
    let published = String::from_utf8_lossy(sums).split_whitespace().next().unwrap_or_default().to_lowercase();
    let actual = sha256(binary);
    if published == actual {
        Ok(())
    } else {
        Err(format!("checksum mismatch for {asset}: the published .sha256sum says {published}, the download is {actual}"))
    }
}

fn install(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("cache paths have a parent"))?;
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    tool::make_executable(&tmp)?;
    std::fs::rename(&tmp, path)
}

async fn download(url: &str) -> Result<Vec<u8>, String> {
    crate::fetch::download(url).await.map_err(|e| format!("{e}: {}", crate::error::root_cause(&e)))
}

impl Kind {
    /// Run `kind <args>` with optional stdin; stdout on success.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, KindError> {
        Ok(tool::run(&self.path, args, stdin, &[]).await?)
    }

    /// Names of existing kind clusters.
    pub async fn clusters(&self) -> Result<Vec<String>, KindError> {
        // kind prints "No kind clusters found." on stderr when there are none.
        Ok(self.run(&["get", "clusters"], None).await?.lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compatibility() {
        assert!(compatible("kind v0.32.0 go1.26.8 linux/amd64", "v0.32.0"));
        assert!(compatible("kind v0.32.3 go1.26.8 linux/amd64", "v0.32.0"));
        assert!(!compatible("kind v0.31.0 go1.25 linux/amd64", "v0.32.0"));
        assert!(!compatible("", "v0.32.0"));
        assert!(asset_name().starts_with("kind-"));
    }

    #[test]
    fn published_checksum_is_enforced() {
        let line = format!("{}  kind-linux-amd64\n", sha256(b"binary"));
        assert!(check_published("kind-linux-amd64", b"binary", line.as_bytes()).is_ok());
        let err = check_published("kind-linux-amd64", b"tampered", line.as_bytes()).unwrap_err();
        assert!(err.contains(&sha256(b"binary")) && err.contains(&sha256(b"tampered")), "{err}");
    }
}
