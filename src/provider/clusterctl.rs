//! The `clusterctl` binary: the one on PATH when its minor version matches the release we pin,
//! else one we built earlier into the cache, else built now with `go install` from the Go module
//! proxy. The Go toolchain checks every module it downloads against the Go checksum database
//! (sum.golang.org), which is how the build is verified: ClusterAPI publishes no checksum file
//! for its release binaries, and we pin no hash we did not compute from real bytes.

use std::path::{Path, PathBuf};

use super::tool::{self, ToolError};

const MODULE: &str = "sigs.k8s.io/cluster-api";

/// Why clusterctl could not be found, built or run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterctlError {
    /// No usable binary, and building one failed.
    #[error("no clusterctl {version} on PATH, and building it failed")]
    Unavailable {
        /// The release wanted.
        version: String,
        /// The failed build.
        #[source]
        source: ToolError,
    },
    /// A clusterctl command failed.
    #[error(transparent)]
    Command(#[from] ToolError),
}

/// A clusterctl binary we can run.
#[derive(Debug, Clone)]
pub struct Clusterctl {
    /// Its path.
    pub path: PathBuf,
}

/// Whether `clusterctl version -o short` output (`v1.12.11`) has the same minor as `wanted`.
pub fn compatible(version_output: &str, wanted: &str) -> bool {
    let minor = |v: &str| v.trim().trim_start_matches('v').splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    !version_output.trim().is_empty() && minor(version_output) == minor(wanted)
}

/// The `-ldflags` that make a `go install`ed clusterctl report its version, as upstream's
/// release build does (hack/version.sh sets the same variables).
pub fn version_ldflags(version: &str) -> String {
    let minor = version.trim_start_matches('v').split('.').nth(1).unwrap_or_default();
    let pkg = format!("{MODULE}/version");
    format!("-X {pkg}.gitVersion={version} -X {pkg}.gitMajor=1 -X {pkg}.gitMinor={minor} -X {pkg}.gitTreeState=clean")
}

/// Find clusterctl `version`: PATH, then the cache, then `go install` into the cache.
pub async fn locate(version: &str, cache: &Path) -> Result<Clusterctl, ClusterctlError> {
    let on_path = PathBuf::from("clusterctl");
    if let Ok(out) = tool::run(&on_path, &["version", "-o", "short"], None, &[]).await
        && compatible(&out, version)
    {
        return Ok(Clusterctl { path: on_path });
    }
    let dir = cache.join("clusterctl").join(version);
    let cached = dir.join("clusterctl");
    if cached.exists() {
        return Ok(Clusterctl { path: cached });
    }
    let package = format!("{MODULE}/cmd/clusterctl@{version}");
    let gobin = dir.display().to_string();
    let ldflags = version_ldflags(version);
    tool::run(Path::new("go"), &["install", "-trimpath", "-ldflags", &ldflags, &package], None, &[("GOBIN", &gobin), ("CGO_ENABLED", "0")])
        .await
        .map_err(|source| ClusterctlError::Unavailable { version: version.into(), source })?;
    Ok(Clusterctl { path: cached })
}

impl Clusterctl {
    /// Run `clusterctl <args>` against a kubeconfig (and context) with extra environment.
    pub async fn run(
        &self,
        args: &[String],
        kubeconfig: &Path,
        context: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<String, ClusterctlError> {
        let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let kubeconfig = kubeconfig.display().to_string();
        argv.extend(["--kubeconfig", &kubeconfig]);
        if let Some(ctx) = context {
            argv.extend(["--kubeconfig-context", ctx]);
        }
        Ok(tool::run(&self.path, &argv, None, env).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compatibility_and_ldflags() {
        assert!(compatible("v1.12.11\n", "v1.12.11"));
        assert!(compatible("v1.12.3", "v1.12.11"));
        assert!(!compatible("v1.11.1", "v1.12.11"));
        assert!(!compatible("", "v1.12.11"));
        let flags = version_ldflags("v1.12.11");
        assert!(flags.contains("sigs.k8s.io/cluster-api/version.gitVersion=v1.12.11") && flags.contains("gitMinor=12"), "{flags}");
    }
}
