//! `rotate-keys`: new keys for the lake's services. The lake's phase is installed again with
//! new values in the key Secrets (its setup gives them to the server and removes the earlier
//! keys with any service account they minted), every phase that copies a rotated key gets a
//! fresh copy and its consumers are restarted, the checkpoints prove the new keys work, and each
//! old key must be refused by the server (`crate::pipeline::rotate_steps`).

use serde::Serialize;

use super::{Globals, SpecArgs};
use crate::checkpoint::s3::ServiceKey;
use crate::contracts::Lake;
use crate::error::Error;
use crate::pipeline::{self, Context, Loaded, OnCheckpointFailure, Verify, rotate_steps};
use crate::plan::PlannedPhase;

/// One rotated key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    /// The service.
    pub service: String,
    /// `namespace/name` of the key's Secret.
    pub secret: String,
    /// The new access key id (not secret).
    pub access_key: String,
    /// `namespace/name` of every copy updated.
    pub copies: Vec<String>,
    /// Whether the server refused the old key (none when not checked: `--no-verify`, or the
    /// old Secret was gone).
    pub old_key_refused: Option<bool>,
    /// When (RFC 3339).
    pub at: String,
}

/// Run `rotate-keys` for `services` (every service of the lake when empty).
pub async fn run(g: &Globals, services: &[String], verify: Verify) -> Result<Vec<Rotated>, Error> {
    let loaded = Loaded::read(g, &SpecArgs::default())?;
    // The names are checked against the catalog before any connection: bad input is exit 2.
    let lake_phase = crate::contracts::of_catalog(&loaded.catalog, &loaded.resolved).ok().and_then(|c| c.lake).map(|l| l.phase);
    let services = chosen(&loaded.catalog, lake_phase.as_deref(), services)?;
    let mut ctx = loaded.connect(g).await?;
    let lake = ctx.contracts.lake.clone().filter(|l| ctx.state.contains_key(&l.phase)).ok_or_else(|| {
        Error::prerequisite("no installed phase provides the lake, so there are no keys to rotate")
            .with_hint("bigtop-k8s add-phase object-storage")
    })?;
    ctx.as_installed(&lake.phase)?;
    let secret = |svc: &str| format!("{}{svc}", lake.key_secret_prefix);
    ctx.fresh = services.iter().map(|s| format!("{}/{}", lake.namespace, secret(s))).collect();
    let mut old = Vec::new();
    for svc in &services {
        let name = secret(svc);
        let read = |key| crate::secrets::read_value(&ctx.cluster.client, &lake.namespace, &name, key);
        let key = match (read("access-key").await, read("secret-key").await) {
            (Ok(access_key), Ok(secret_key)) => Some(ServiceKey { access_key, secret_key, secret_ref: String::new() }),
            _ => None,
        };
        old.push(key);
    }
    let installed = |phase: &str| PlannedPhase { phase: phase.into(), addons: ctx.state[phase].addons.keys().cloned().collect() };
    let copies = copies(&ctx, &lake, &services.iter().map(|s| secret(s)).collect::<Vec<_>>());
    let dependents: Vec<PlannedPhase> =
        ctx.state.keys().filter(|p| copies.iter().any(|(phase, _)| phase == *p)).map(|p| installed(p)).collect();
    pipeline::run(&ctx, rotate_steps(&installed(&lake.phase), &dependents, verify), OnCheckpointFailure::Stop).await?;

    let refused = match verify {
        Verify::Run => old_keys_refused(&ctx, &lake, &services, &old).await?,
        Verify::Skip => vec![None; services.len()],
    };
    let mut out = Vec::new();
    for (svc, refused) in services.iter().zip(refused) {
        let name = secret(svc);
        let access_key = crate::secrets::read_value(&ctx.cluster.client, &lake.namespace, &name, "access-key").await.unwrap_or_default();
        out.push(Rotated {
            service: svc.clone(),
            secret: format!("{}/{name}", lake.namespace),
            access_key,
            copies: copies.iter().filter(|(_, s)| s.ends_with(&format!("/{name}"))).map(|(_, s)| s.clone()).collect(),
            old_key_refused: refused,
            at: crate::state::now(),
        });
    }
    Ok(out)
}

/// The services to rotate: those named (each must be one of the lake's), or all of them.
fn chosen(catalog: &crate::catalog::Catalog, lake_phase: Option<&str>, named: &[String]) -> Result<Vec<String>, Error> {
    let data = lake_phase.and_then(|p| catalog.phase(p)).map(|d| d.data.clone()).unwrap_or_default();
    let all: Vec<String> = data["services"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).map(String::from).collect();
    if let Some(unknown) = named.iter().find(|n| !all.contains(n)) {
        return Err(Error::usage(format!("the lake has no service {unknown}"))
            .with_hint(format!("name one or more of: {} (or none for all)", all.join(", "))));
    }
    Ok(if named.is_empty() { all } else { named.to_vec() })
}

/// (phase, `namespace/name`) of every installed copy of the Secrets `secrets` of the lake.
fn copies(ctx: &Context<'_>, lake: &Lake, secrets: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (phase, record) in &ctx.state {
        for addon in record.addons.keys().filter_map(|a| ctx.catalog.addons.get(a)) {
            let imported = addon.imports.iter().filter(|i| i.namespace == lake.namespace && secrets.contains(&i.secret));
            out.extend(imported.map(|i| (phase.clone(), format!("{}/{}", addon.namespace, i.secret))));
        }
    }
    out
}

/// Each old key must now be refused by the server (its first readable bucket, listed through a
/// port-forward to the lake's Service).
async fn old_keys_refused(
    ctx: &Context<'_>,
    lake: &Lake,
    services: &[String],
    old: &[Option<ServiceKey>],
) -> Result<Vec<Option<bool>>, Error> {
    let fwd = crate::forward::forward(&ctx.cluster.client, &lake.namespace, &lake.service, lake.port, 0)
        .await
        .map_err(|e| Error::failure(format!("cannot reach Service {}/{}", lake.namespace, lake.service)).with_source(e))?;
    let endpoint = format!("http://{}", fwd.local);
    let def = ctx.catalog.phase(&lake.phase).expect("the lake's phase is in the catalog");
    let mut out = Vec::new();
    for (svc, key) in services.iter().zip(old) {
        let Some(key) = key else {
            out.push(None);
            continue;
        };
        let row = def.data["services"].as_array().into_iter().flatten().find(|s| s["name"] == svc.as_str());
        let role = row.and_then(|r| r["read"][0].as_str()).unwrap_or("warehouse");
        let bucket = lake.bucket(role).map_err(|e| Error::failure(e.to_string()))?;
        let s3 =
            crate::s3::S3::new(&endpoint, &lake.region, &key.access_key, &key.secret_key).map_err(|e| Error::failure(e.to_string()))?;
        match s3.list(bucket, "").await {
            Err(e) if e.is_access_denied() => out.push(Some(true)),
            Err(e) => return Err(Error::failure(format!("checking that the old {svc} key is refused failed")).with_source(e)),
            Ok(_) => {
                return Err(Error::new(
                    crate::error::Exit::Checkpoint,
                    format!("the server still accepts the old {svc} key after rotation"),
                )
                .with_hint(format!(
                    "`bigtop-k8s verify {}` and the setup's log say why; re-run `bigtop-k8s rotate-keys {svc}`",
                    lake.phase
                )));
            }
        }
    }
    Ok(out)
}

/// Human summary of `rotate-keys`.
pub fn text(rotated: &Vec<Rotated>) -> String {
    let line = |r: &Rotated| {
        let copies = if r.copies.is_empty() { "no copies".to_string() } else { format!("copies {}", r.copies.join(", ")) };
        let old = match r.old_key_refused {
            Some(true) => "old key refused",
            _ => "old key not checked",
        };
        format!("{}: new key {} in {} ({copies}); {old}", r.service, r.access_key, r.secret)
    };
    rotated.iter().map(line).collect::<Vec<_>>().join("\n")
}
