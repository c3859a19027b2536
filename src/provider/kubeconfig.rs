//! Kubeconfig files: merge a workload cluster's kubeconfig into the file kubectl reads (entries
//! of the same name replaced, its context made current, mode 0600), and remove it again.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

/// Why a kubeconfig could not be merged or written.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// Not a kubeconfig.
    #[error("{what} is not a valid kubeconfig: {detail}")]
    Invalid {
        /// Which one.
        what: String,
        /// Parser message.
        detail: String,
    },
    /// The file could not be read or written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The file kubectl reads: `--kubeconfig`, else the first path of `KUBECONFIG`, else
/// `~/.kube/config`.
pub fn default_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let from_env = std::env::var_os("KUBECONFIG").and_then(|v| std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty()));
    from_env.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".kube").join("config")
    })
}

/// Merge `incoming` (kubeconfig text) into `existing`: clusters, users and contexts of the same
/// name are replaced, the rest kept; `incoming`'s current context becomes current. Returns it.
pub fn merge(existing: Kubeconfig, incoming: &str) -> Result<(Kubeconfig, String), KubeconfigError> {
    let new: Kubeconfig = serde_saphyr::from_str(incoming)
        .map_err(|e| KubeconfigError::Invalid { what: "the workload cluster's kubeconfig".into(), detail: e.to_string() })?;
    let context = new
        .current_context
        .clone()
        .or_else(|| new.contexts.first().map(|c| c.name.clone()))
        .ok_or_else(|| KubeconfigError::Invalid { what: "the workload cluster's kubeconfig".into(), detail: "it has no context".into() })?;
    let mut out = existing;
    out.clusters.retain(|c| !new.clusters.iter().any(|n| n.name == c.name));
    out.clusters.extend(new.clusters);
    out.auth_infos.retain(|c| !new.auth_infos.iter().any(|n| n.name == c.name));
    out.auth_infos.extend(new.auth_infos);
    out.contexts.retain(|c| !new.contexts.iter().any(|n| n.name == c.name));
    out.contexts.extend(new.contexts);
    out.current_context = Some(context.clone());
    Ok((out, context))
}

/// Remove a context and the cluster and user it names (when no other context uses them).
pub fn remove_context(mut config: Kubeconfig, context: &str) -> Kubeconfig {
    let Some(pos) = config.contexts.iter().position(|c| c.name == context) else { return config };
    let removed = config.contexts.remove(pos);
    if let Some(ctx) = removed.context {
        let used = |f: &dyn Fn(&kube::config::Context) -> bool| config.contexts.iter().filter_map(|c| c.context.as_ref()).any(f);
        let cluster_used = used(&|c| c.cluster == ctx.cluster);
        let user_used = used(&|c| c.user == ctx.user);
        if !cluster_used {
            config.clusters.retain(|c| c.name != ctx.cluster);
        }
        if !user_used {
            config.auth_infos.retain(|a| Some(&a.name) != ctx.user.as_ref());
        }
    }
    if config.current_context.as_deref() == Some(context) {
        config.current_context = None;
    }
    config
}

/// Read a kubeconfig file; a missing file is an empty kubeconfig.
pub fn read(path: &Path) -> Result<Kubeconfig, KubeconfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(empty()),
        Ok(text) => {
            serde_saphyr::from_str(&text).map_err(|e| KubeconfigError::Invalid { what: path.display().to_string(), detail: e.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(empty()),
        Err(source) => Err(KubeconfigError::Io { path: path.display().to_string(), source }),
    }
}

/// Write a kubeconfig file (mode 0600, replaced atomically).
pub fn write(path: &Path, config: &Kubeconfig) -> Result<(), KubeconfigError> {
    let io = |source| KubeconfigError::Io { path: path.display().to_string(), source };
    let text = serde_saphyr::to_string(config).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("bigtop-partial");
    std::fs::write(&tmp, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn empty() -> Kubeconfig {
    Kubeconfig { api_version: Some("v1".into()), kind: Some("Config".into()), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, server: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: \"{server}\"}}\nusers:\n- name: {name}-admin\n  user: {{token: t}}\ncontexts:\n- name: {name}-admin@{name}\n  context: {{cluster: {name}, user: {name}-admin}}\ncurrent-context: {name}-admin@{name}\n"
        )
    }

    #[test]
    fn merge_replaces_same_names_keeps_others_and_removes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kube/config");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, config("mgmt", "https://127.0.0.1:1")).unwrap();
        let (merged, ctx) = merge(read(&path).unwrap(), &config("wl", "https://127.0.0.1:2")).unwrap();
        let (merged, _) = merge(merged, &config("wl", "https://127.0.0.1:3")).unwrap();
        write(&path, &merged).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(ctx, "wl-admin@wl");
        assert_eq!(back.current_context.as_deref(), Some("wl-admin@wl"));
        assert_eq!(back.clusters.len(), 2, "the second merge replaced the first");
        assert_eq!(
            back.clusters.iter().find(|c| c.name == "wl").unwrap().cluster.as_ref().unwrap().server.as_deref(),
            Some("https://127.0.0.1:3")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let removed = remove_context(back, "wl-admin@wl");
        assert_eq!((removed.clusters.len(), removed.auth_infos.len(), removed.contexts.len()), (1, 1, 1));
        assert_eq!(removed.current_context, None);
        assert!(read(&dir.path().join("absent")).unwrap().clusters.is_empty());
        assert!(merge(empty(), "clusters: 3").is_err());
    }
}
