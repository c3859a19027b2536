//! Generated credentials: random values created once, then read back from the cluster on every
//! later run, so re-applying a phase never rotates a password behind a running service.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::catalog::{Addon, Alphabet};
use crate::render::Generated;

/// Values for every generated Secret of `addon`: existing ones from the cluster (when a client
/// is given), fresh random ones otherwise and for the Secrets `fresh` names as `namespace/name`
/// (a rotation).
pub async fn generated_for(client: Option<&Client>, addon: &Addon, fresh: &BTreeSet<String>) -> Result<Generated, kube::Error> {
    let mut out = Generated::new();
    for spec in &addon.generated {
        let existing = match client {
            Some(_) if fresh.contains(&format!("{}/{}", addon.namespace, spec.secret)) => BTreeMap::new(),
            Some(c) => read_all(c, &addon.namespace, &spec.secret).await?,
            None => BTreeMap::new(),
        };
        // Several entries may fill one Secret (keys of different lengths), so merge.
        let values = out.entry(spec.secret.clone()).or_default();
        for k in &spec.keys {
            let value = existing.get(k).cloned().unwrap_or_else(|| format!("{}{}", spec.prefix, random(spec.length, spec.alphabet)));
            values.insert(k.clone(), value);
        }
    }
    Ok(out)
}

/// Every value of a Secret; an absent Secret (or namespace) is an empty map.
pub async fn read_all(client: &Client, namespace: &str, name: &str) -> Result<BTreeMap<String, String>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match api.get_opt(name).await {
        Ok(s) => s,
        // The namespace may not exist yet on a first install.
        Err(kube::Error::Api(s)) if s.code == 404 => None,
        Err(e) => return Err(e),
    };
    Ok(secret
        .and_then(|s| s.data)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| String::from_utf8(v.0).ok().map(|v| (k, v)))
        .collect())
}

/// One value of a Secret, or a message naming the Secret and the key.
pub async fn read_value(client: &Client, namespace: &str, secret: &str, key: &str) -> Result<String, String> {
    let values = read_all(client, namespace, secret)
        .await
        .map_err(|e| format!("cannot read Secret {namespace}/{secret}: {}", crate::error::error_text(&e)))?;
    values.get(key).cloned().ok_or_else(|| format!("Secret {namespace}/{secret} has no key {key}"))
}

/// A random string from the OS-seeded thread RNG.
pub fn random(length: usize, alphabet: Alphabet) -> String {
    match alphabet {
        Alphabet::Alphanumeric => rand::rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect(),
        Alphabet::Hex => (0..length).map(|_| char::from_digit(rand::rng().random_range(0..16), 16).expect("below 16")).collect(),
    }
}
