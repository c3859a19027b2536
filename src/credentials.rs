//! Drift of generated credentials. A phase records a fingerprint of every Secret it generated;
//! a Secret that later goes missing or changes no longer holds what the servers were given, and
//! a copy in another namespace that differs from its source hands its pods a stale key. Either
//! is refused (exit 3) instead of papered over with a fresh value: for service keys
//! `rotate-keys` is the way out, for other Secrets restoring them is.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;

use crate::catalog::Catalog;
use crate::contracts::Lake;
use crate::error::Error;
use crate::state::State;

/// A short digest identifying a Secret's values (never the values themselves).
pub fn fingerprint(values: &BTreeMap<String, String>) -> String {
    crate::render::digest(values)[..16].to_string()
}

/// Fingerprints of the generated Secrets of `addons`, from the values a render used.
pub fn fingerprints(generated: &crate::render::Generated) -> BTreeMap<String, String> {
    generated.iter().map(|(secret, values)| (secret.clone(), fingerprint(values))).collect()
}

/// What is wrong with one Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A generated Secret of an installed phase is gone.
    Missing,
    /// It holds other values than the phase recorded when it gave them to its servers.
    Changed,
    /// A copy differs from (or lacks) the Secret it copies.
    StaleCopy {
        /// `namespace/name` of the source.
        source: String,
    },
}

/// One drifted Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The installed phase it belongs to.
    pub phase: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub secret: String,
    /// What is wrong.
    pub drift: Drift,
}

/// What the check leaves out.
#[derive(Debug, Default)]
pub struct Exempt {
    /// `namespace/name` of Secrets about to be generated anew (`rotate-keys`).
    pub secrets: BTreeSet<String>,
    /// Phases about to be rendered again, which re-copy what they import.
    pub copies_of: BTreeSet<String>,
}

/// Every drifted Secret of the installed phases.
pub async fn find(client: &Client, catalog: &Catalog, state: &State, exempt: &Exempt) -> Result<Vec<Finding>, kube::Error> {
    let mut found = Vec::new();
    for (phase, record) in state {
        for addon in record.addons.keys().filter_map(|a| catalog.addons.get(a)) {
            let ns = &addon.namespace;
            let secrets: BTreeSet<&String> = addon.generated.iter().map(|g| &g.secret).collect();
            for secret in secrets.into_iter().filter(|s| !exempt.secrets.contains(&format!("{ns}/{s}"))) {
                // Only the generated keys: a template may add fixed ones to the same Secret.
                let generated: BTreeSet<&String> = addon.generated.iter().filter(|g| &g.secret == secret).flat_map(|g| &g.keys).collect();
                let mut values = crate::secrets::read_all(client, ns, secret).await?;
                values.retain(|k, _| generated.contains(k));
                // A Secret the installed phase never had (the catalog added it since) is not
                // drift: the phase's next apply generates it.
                let drift = match record.credentials.get(secret) {
                    Some(_) if values.is_empty() => Some(Drift::Missing),
                    Some(recorded) if *recorded != fingerprint(&values) => Some(Drift::Changed),
                    _ => None,
                };
                found.extend(drift.map(|drift| Finding { phase: phase.clone(), namespace: ns.clone(), secret: secret.clone(), drift }));
            }
            if exempt.copies_of.contains(phase) {
                continue;
            }
            for import in &addon.imports {
                let source = crate::secrets::read_all(client, &import.namespace, &import.secret).await?;
                if crate::secrets::read_all(client, ns, &import.secret).await? != source {
                    let drift = Drift::StaleCopy { source: format!("{}/{}", import.namespace, import.secret) };
                    found.push(Finding { phase: phase.clone(), namespace: ns.clone(), secret: import.secret.clone(), drift });
                }
            }
        }
    }
    Ok(found)
}

/// The service whose key a Secret holds (the source or a copy), if it holds one.
pub fn service_of<'a>(lake: Option<&Lake>, secret: &'a str) -> Option<&'a str> {
    secret.strip_prefix(lake?.key_secret_prefix.as_str())
}

/// The error for drifted Secrets: each named with why, and the way out.
pub fn drift_error(found: &[Finding], lake: Option<&Lake>) -> Error {
    let lines: Vec<String> = found
        .iter()
        .map(|f| {
            let at = format!("Secret {}/{} (phase {})", f.namespace, f.secret, f.phase);
            match &f.drift {
                Drift::Missing => format!("{at} is missing; a new value would not be the one its servers were given"),
                Drift::Changed => format!("{at} was changed since the phase gave it to its servers"),
                Drift::StaleCopy { source } => format!("{at} differs from {source}, which it copies: its pods use a stale value"),
            }
        })
        .collect();
    let services: BTreeSet<&str> = found.iter().filter_map(|f| service_of(lake, &f.secret)).collect();
    let hint = match found.iter().find(|f| service_of(lake, &f.secret).is_none()) {
        Some(f) => format!(
            "restore Secret {}/{} as it was (from a backup), or `bigtop-k8s remove-phase {}` and add it again; service keys: `bigtop-k8s rotate-keys`",
            f.namespace, f.secret, f.phase
        ),
        None => format!(
            "`bigtop-k8s rotate-keys {}` issues new keys, gives them to the server and updates every copy",
            services.into_iter().collect::<Vec<_>>().join(" ")
        ),
    };
    Error::prerequisite(format!("credentials have drifted:\n  {}", lines.join("\n  "))).with_hint(hint)
}
