//! The lake flow's part of the `nifi-cluster` checkpoint: the flow definition the addon ships
//! (a ConfigMap) uploaded as a group under NiFi's root — or the group already there reused —,
//! its services given the imported lake key (NiFi never keeps a secret in a definition, and a
//! rotated key must reach it), enabled, the group started; then records with a fresh run id go
//! to its topic through the producer addon's client pod, and every one of them must come back
//! from the objects the flow wrote under `<prefix><topic>/` of the raw bucket, read with the key
//! of the service that reads raw. Evidence: records, objects, sha256, seconds to land.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::LakeFlowCheck;
use crate::fetch::sha256;
use crate::nifi::flow::{Group, Service};
use crate::nifi::{Nifi, NifiError};
use crate::s3::S3;

/// How long the records may take to land, and NiFi's services to change state.
const LAND_BUDGET: Duration = Duration::from_secs(180);
const SERVICES_BUDGET: Duration = Duration::from_secs(60);
/// The controller service the lake key goes into.
const CREDENTIALS_SERVICE: &str = "AWSCredentialsProviderControllerService";

pub(super) async fn run(ctx: &Context<'_>, nifi: &Nifi, f: &LakeFlowCheck) -> Result<Evidence, CheckpointError> {
    let definition = ctx.configmap_value(&f.configmap, &f.key).await?;
    let name = flow_name(&definition).map_err(|e| CheckpointError::Failed(format!("ConfigMap {} key {}: {e}", f.configmap, f.key)))?;
    let topic = ctx.text_param(&f.topic_param)?;
    let lake = ctx.lake()?;
    let raw = lake.bucket("raw").map_err(|e| CheckpointError::Failed(e.to_string()))?.to_string();
    let writer = super::s3::read_key(ctx, &ctx.imported_lake_key()?).await?;

    let failed = |e: NifiError| CheckpointError::Failed(format!("NiFi's lake flow: {e}"));
    let group = deploy(nifi, &name, &definition).await.map_err(failed)?;
    let credentials = json!({"Access Key ID": writer.access_key, "Secret Access Key": writer.secret_key});
    restart_with(nifi, &group, &credentials).await.map_err(failed)?;

    let reader_secret = format!("{}{}", lake.key_secret_prefix, f.reader);
    let reader = super::s3::read_key_in(ctx.client, &lake.namespace, &reader_secret).await?;
    let fwd = crate::forward::forward(ctx.client, &lake.namespace, &lake.service, lake.port, 0).await?;
    let s3 = S3::new(&format!("http://{}", fwd.local), &lake.region, &reader.access_key, &reader.secret_key)
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let prefix = format!("{}{topic}/", f.prefix);
    let listed = |e| CheckpointError::Failed(format!("cannot list s3://{raw}/{prefix} with Secret {}: {e}", reader.secret_ref));
    let before: BTreeSet<String> = s3.list(&raw, &prefix).await.map_err(listed)?.into_iter().map(|(k, _)| k).collect();

    let run_id = super::unique_name("lake");
    let sent: Vec<String> = (0..f.records).map(|n| format!("{{\"checkpoint\":\"{run_id}\",\"n\":{n}}}")).collect();
    let started = Instant::now();
    produce(ctx, &f.producer, &topic, &sent).await?;
    let (landed, objects) = match collect(&s3, &raw, &prefix, &before, &run_id, sent.len()).await {
        Ok(found) => found,
        Err(e) => return Err(not_landed(nifi, &group, e).await),
    };
    let seconds = started.elapsed().as_secs_f64();
    let digest = |records: &[String]| {
        let mut sorted = records.to_vec();
        sorted.sort();
        sha256(sorted.join("\n").as_bytes())
    };
    if landed.len() != sent.len() || digest(&landed) != digest(&sent) {
        return Err(CheckpointError::Failed(format!(
            "the lake flow wrote {} records of run {run_id} to s3://{raw}/{prefix}; {} were sent, and they differ",
            landed.len(),
            sent.len()
        )));
    }
    Ok(Evidence::from([
        ("flowRecords".to_string(), json!(landed.len())),
        ("flowObjects".to_string(), json!(objects)),
        ("flowSha256".to_string(), json!(digest(&landed))),
        ("flowSeconds".to_string(), json!((seconds * 10.0).round() / 10.0)),
        ("flowPrefix".to_string(), json!(format!("s3://{raw}/{prefix}"))),
    ]))
}

/// The group's name in the flow definition.
fn flow_name(definition: &str) -> Result<String, String> {
    let parsed: Value = serde_json::from_str(definition).map_err(|e| format!("not a flow definition: {e}"))?;
    parsed["flowContents"]["name"].as_str().map(str::to_string).ok_or_else(|| "a flow definition without flowContents.name".into())
}

/// The root's group of that name, uploaded first if there is none.
async fn deploy(nifi: &Nifi, name: &str, definition: &str) -> Result<Group, NifiError> {
    let (root, children) = nifi.root_groups().await?;
    match children.into_iter().find(|g| g.name == name) {
        Some(existing) => Ok(existing),
        None => nifi.upload_group(&root, name, definition).await,
    }
}

/// Stop the group, give its credentials service `credentials` (services must be disabled for
/// that), enable its services and start it.
async fn restart_with(nifi: &Nifi, group: &Group, credentials: &Value) -> Result<(), NifiError> {
    nifi.schedule(&group.id, "STOPPED").await?;
    nifi.set_services_state(&group.id, "DISABLED").await?;
    let services = services_in_state(nifi, &group.id, "DISABLED").await?;
    let key_holder = services.iter().find(|s| s.kind.ends_with(CREDENTIALS_SERVICE)).ok_or_else(|| NifiError::Protocol {
        url: format!("process group {}", group.name),
        status: 200,
        detail: format!("no {CREDENTIALS_SERVICE} among its controller services"),
    })?;
    nifi.set_properties(key_holder, credentials).await?;
    nifi.set_services_state(&group.id, "ENABLED").await?;
    services_in_state(nifi, &group.id, "ENABLED").await?;
    nifi.schedule(&group.id, "RUNNING").await
}

/// Wait until every service of the group is in `state`; the services then.
async fn services_in_state(nifi: &Nifi, group: &str, state: &str) -> Result<Vec<Service>, NifiError> {
    let started = Instant::now();
    loop {
        let services = nifi.services(group).await?;
        let behind: Vec<&Service> = services.iter().filter(|s| s.state != state).collect();
        if behind.is_empty() {
            return Ok(services);
        }
        if started.elapsed() > SERVICES_BUDGET {
            let why: Vec<String> = behind.iter().map(|s| format!("{} is {} {:?}", s.kind, s.state, s.validation_errors)).collect();
            return Err(NifiError::Protocol {
                url: format!("controller services of group {group}"),
                status: 200,
                detail: format!("not {state} within {SERVICES_BUDGET:?}: {}", why.join("; ")),
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Send `records` to `topic` through the producer addon's client pod.
async fn produce(ctx: &Context<'_>, producer: &str, topic: &str, records: &[String]) -> Result<(), CheckpointError> {
    let addon = ctx.catalog.addons.get(producer).ok_or_else(|| CheckpointError::Setting(format!("producer addon {producer}")))?;
    let pod = crate::kafka::ClientPod::start(ctx.client, addon).await.map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let outcome = pod.produce(topic, (records.join("\n") + "\n").into_bytes()).await;
    pod.stop().await;
    outcome.map_err(|e| CheckpointError::Failed(format!("cannot send the lake flow's records to topic {topic}: {e}")))
}

/// Read each object new under `prefix` until `expected` records of `run_id` are in: those
/// records, and how many objects held them.
async fn collect(
    s3: &S3,
    bucket: &str,
    prefix: &str,
    before: &BTreeSet<String>,
    run_id: &str,
    expected: usize,
) -> Result<(Vec<String>, usize), String> {
    let started = Instant::now();
    let mut read = BTreeSet::new();
    let mut landed = Vec::new();
    let mut objects = 0;
    while started.elapsed() < LAND_BUDGET {
        let listed = s3.list(bucket, prefix).await.map_err(|e| e.to_string())?;
        for (key, _) in listed.into_iter().filter(|(k, _)| !before.contains(k)) {
            if !read.insert(key.clone()) {
                continue;
            }
            let bytes = s3.get(bucket, &key).await.map_err(|e| format!("{key}: {e}"))?;
            let mine: Vec<String> = String::from_utf8_lossy(&bytes).lines().filter(|l| l.contains(run_id)).map(str::to_string).collect();
            objects += usize::from(!mine.is_empty());
            landed.extend(mine);
        }
        if landed.len() >= expected {
            return Ok((landed, objects));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(format!("{} of {expected} records of run {run_id} landed in s3://{bucket}/{prefix} within {LAND_BUDGET:?}", landed.len()))
}

/// The failure, with what NiFi says of the group (its counts and its latest bulletins).
async fn not_landed(nifi: &Nifi, group: &Group, why: String) -> CheckpointError {
    let status = nifi.status(&group.id).await.map(|s| format!("received {}, sent {}, queued {}", s.received, s.sent, s.queued));
    let bulletins = nifi.bulletins(&group.id).await.map(|b| b.join("\n  ")).unwrap_or_default();
    CheckpointError::Failed(format!(
        "{why}; NiFi's group {} (last 5 minutes): {}{}",
        group.name,
        status.unwrap_or_else(|e| e.to_string()),
        if bulletins.is_empty() { String::new() } else { format!("\n  {bulletins}") }
    ))
}
