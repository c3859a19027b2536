//! The `s3-roundtrip` checkpoint: with a per-service key, PUT random bytes (one plain object,
//! one multipart), GET them back and compare sha256, HEAD the size, LIST, DELETE; then prove
//! the key's narrowing by writing to a bucket it must not reach. Then every service key of the
//! phase: the server must accept the key its Secret holds (a Secret changed or regenerated after
//! setup is drift), refuse a write to every bucket outside the key's row, and refuse to create
//! a bucket; on MinIO also any admin action.
//!
//! Settings: `service`, `port`, `region`, `secret` (Secret with `access-key`/`secret-key`),
//! `bucket-param` (parameter naming the bucket the key may use), `forbidden-bucket-param`,
//! `minio-admin-probe` (optional: each key must be refused by MinIO's admin API).

use std::time::Instant;

use rand::RngCore;
use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::S3Check;
use crate::fetch::sha256;
use crate::forward;
use crate::s3::{S3, S3Error};

/// A per-service key and where it is stored (for messages).
pub struct ServiceKey {
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
    /// `namespace/name` of the Secret holding it.
    pub secret_ref: String,
}

/// What the round trip runs against.
pub struct Target<'a> {
    /// S3 endpoint URL.
    pub endpoint: &'a str,
    /// Region the server signs for.
    pub region: &'a str,
    /// The key under test.
    pub key: &'a ServiceKey,
    /// Bucket the key may read and write.
    pub bucket: &'a str,
    /// Bucket the key must not write.
    pub forbidden: &'a str,
}

const PLAIN_BYTES: usize = 1 << 20;
const MULTIPART_BYTES: usize = 11 << 20;
const PART_BYTES: usize = 5 << 20;

pub(super) async fn run(ctx: &Context<'_>, s: &S3Check) -> Result<Evidence, CheckpointError> {
    let key = read_key(ctx, &s.secret).await?;
    let bucket = ctx.text_param(&s.bucket_param)?;
    let forbidden = ctx.text_param(&s.forbidden_bucket_param)?;
    let region = &s.region;
    let fwd = forward::forward(ctx.client, &ctx.addon.namespace, &s.service, s.port, 0).await?;
    let endpoint = format!("http://{}", fwd.local);
    let mut evidence = roundtrip(&Target { endpoint: &endpoint, region, key: &key, bucket: &bucket, forbidden: &forbidden }).await?;
    let grants = grants(ctx).await?;
    evidence.insert("keysAsGranted".into(), json!(keys_as_granted(&endpoint, region, &grants).await?));
    if s.minio_admin_probe {
        for g in &grants {
            minio_admin_refused(&endpoint, region, &g.key).await?;
        }
        evidence.insert("adminRefused".into(), json!(grants.len()));
    }
    evidence.insert("pod".into(), json!(fwd.pod));
    Ok(evidence)
}

/// One service key and what its row of the phase's table grants.
pub struct Grant {
    /// The key.
    pub key: ServiceKey,
    /// Buckets it may read.
    pub read: Vec<String>,
    /// Buckets it may write.
    pub write: Vec<String>,
}

/// Every service key of the phase (`data.services`, Secrets `<prefix><service>` in the addon's
/// namespace) with its buckets, by role through the lake contract.
async fn grants(ctx: &Context<'_>) -> Result<Vec<Grant>, CheckpointError> {
    let lake = ctx.lake()?;
    let mut out = Vec::new();
    for svc in ctx.phase.data["services"].as_array().into_iter().flatten() {
        let buckets = |field: &str| -> Result<Vec<String>, CheckpointError> {
            let roles = svc[field].as_array().into_iter().flatten().filter_map(Value::as_str);
            roles.map(|r| lake.bucket(r).map(str::to_string).map_err(|e| CheckpointError::Setting(e.to_string()))).collect()
        };
        let name = svc["name"].as_str().unwrap_or_default();
        let key = read_key(ctx, &format!("{}{name}", lake.key_secret_prefix)).await?;
        out.push(Grant { key, read: buckets("read")?, write: buckets("write")? });
    }
    Ok(out)
}

/// Each key must be the one the server holds (it may list its readable buckets, and write and
/// delete an object in each bucket it writes — for a write-only key that is the only proof) and
/// may write nowhere outside its row (a write to every other bucket is refused). Returns how
/// many keys.
pub async fn keys_as_granted(endpoint: &str, region: &str, grants: &[Grant]) -> Result<usize, CheckpointError> {
    let all: std::collections::BTreeSet<&String> = grants.iter().flat_map(|g| g.read.iter().chain(&g.write)).collect();
    for g in grants {
        let s3 = S3::new(endpoint, region, &g.key.access_key, &g.key.secret_key).map_err(|e| CheckpointError::Failed(e.to_string()))?;
        let refused = |e: crate::s3::S3Error| match e.is_access_denied() {
            true => CheckpointError::Failed(format!(
                "the server refuses the key in Secret {} ({e}): the Secret no longer holds the key setup gave the server (changed or regenerated since)",
                g.key.secret_ref
            )),
            false => CheckpointError::Failed(e.to_string()),
        };
        for bucket in &g.read {
            s3.list(bucket, "bigtop-checkpoint/").await.map_err(refused)?;
        }
        let prefix = format!("bigtop-checkpoint/{}", crate::secrets::random(12, crate::catalog::Alphabet::Hex));
        for bucket in g.write.iter().filter(|b| !g.read.contains(b)) {
            let key = format!("{prefix}/written");
            s3.put(bucket, &key, b"x".to_vec()).await.map_err(refused)?;
            s3.delete(bucket, &key).await.map_err(refused)?;
        }
        for forbidden in all.iter().filter(|b| !g.write.contains(b)) {
            narrowing(&s3, &Target { endpoint, region, key: &g.key, bucket: "", forbidden }, &prefix).await?;
        }
        no_bucket_management(&s3, &g.key).await?;
    }
    Ok(grants.len())
}

/// A service key runs no MinIO admin action: the server-information call (the least an admin
/// policy grants) must be refused, signed in headers as the admin API demands.
pub async fn minio_admin_refused(endpoint: &str, region: &str, key: &ServiceKey) -> Result<(), CheckpointError> {
    let url = url::Url::parse(&format!("{endpoint}/minio/admin/v3/info")).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let http = crate::local_http_client(std::time::Duration::from_secs(30)).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let mut request = http.get(url.clone());
    for (name, value) in crate::sigv4::get_headers(&url, region, &key.access_key, &key.secret_key, jiff::Timestamp::now()) {
        request = request.header(name, value);
    }
    let response =
        request.send().await.map_err(|e| CheckpointError::Failed(format!("MinIO's admin API: {}", crate::error::root_cause(&e))))?;
    match response.status().as_u16() {
        403 => Ok(()),
        200 => {
            Err(CheckpointError::Failed(format!("the key of {} may run MinIO admin actions: its permissions are too wide", key.secret_ref)))
        }
        status => Err(CheckpointError::Failed(format!(
            "MinIO's admin API answered HTTP {status} to the key of {}: {}",
            key.secret_ref,
            response.text().await.unwrap_or_default().trim()
        ))),
    }
}

/// A service key manages no buckets: creating one must be refused (no row of the table grants
/// it; a key that may is too wide, and may also change policies and lifecycles).
async fn no_bucket_management(s3: &S3, key: &ServiceKey) -> Result<(), CheckpointError> {
    let bucket = format!("bigtop-probe-{}", crate::secrets::random(12, crate::catalog::Alphabet::Hex));
    match s3.create_bucket(&bucket).await {
        Err(e) if e.is_access_denied() => Ok(()),
        Err(e) => Err(CheckpointError::Failed(format!("creating a bucket with a service key failed for another reason: {e}"))),
        Ok(()) => {
            let _ = s3.delete_bucket(&bucket).await;
            Err(CheckpointError::Failed(format!("the key of {} may create buckets: its permissions are too wide", key.secret_ref)))
        }
    }
}

/// A lake key held in Secret `secret` of the addon's namespace.
pub(super) async fn read_key(ctx: &Context<'_>, secret: &str) -> Result<ServiceKey, CheckpointError> {
    read_key_in(ctx.client, &ctx.addon.namespace, secret).await
}

/// A lake key held in Secret `ns/secret`.
pub(super) async fn read_key_in(client: &kube::Client, ns: &str, secret: &str) -> Result<ServiceKey, CheckpointError> {
    let read = |key| crate::secrets::read_value(client, ns, secret, key);
    let access_key = read("access-key").await.map_err(CheckpointError::Failed)?;
    let secret_key = read("secret-key").await.map_err(CheckpointError::Failed)?;
    Ok(ServiceKey { access_key, secret_key, secret_ref: format!("{ns}/{secret}") })
}

/// The round trip itself, against any S3 endpoint (a port-forward, or a server on loopback).
pub async fn roundtrip(t: &Target<'_>) -> Result<Evidence, CheckpointError> {
    let s3 = S3::new(t.endpoint, t.region, &t.key.access_key, &t.key.secret_key).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let denied = |e: S3Error| access_error(e, t.key);
    let prefix = format!("bigtop-checkpoint/{}", crate::secrets::random(12, crate::catalog::Alphabet::Hex));
    let mut evidence = Evidence::new();

    let plain = random_bytes(PLAIN_BYTES);
    let key = format!("{prefix}/plain.bin");
    let started = Instant::now();
    s3.put(t.bucket, &key, plain.clone()).await.map_err(denied)?;
    let put_ms = started.elapsed().as_millis();
    let started = Instant::now();
    let back = s3.get(t.bucket, &key).await.map_err(denied)?;
    let get_ms = started.elapsed().as_millis();
    same_bytes(&plain, &back, &key)?;
    let size = s3.head(t.bucket, &key).await.map_err(denied)?;
    if size != plain.len() as u64 {
        return Err(CheckpointError::Failed(format!("HEAD {key} says {size} bytes, wrote {}", plain.len())));
    }

    let big = random_bytes(MULTIPART_BYTES);
    let big_key = format!("{prefix}/multipart.bin");
    let started = Instant::now();
    let parts = s3.put_multipart(t.bucket, &big_key, &big, PART_BYTES).await.map_err(denied)?;
    let multipart_ms = started.elapsed().as_millis();
    same_bytes(&big, &s3.get(t.bucket, &big_key).await.map_err(denied)?, &big_key)?;

    let listed = s3.list(t.bucket, &prefix).await.map_err(denied)?;
    if listed.len() != 2 {
        return Err(CheckpointError::Failed(format!("LIST {}/{prefix} returned {} objects, expected 2", t.bucket, listed.len())));
    }
    s3.delete(t.bucket, &key).await.map_err(denied)?;
    s3.delete(t.bucket, &big_key).await.map_err(denied)?;
    if !s3.list(t.bucket, &prefix).await.map_err(denied)?.is_empty() {
        return Err(CheckpointError::Failed(format!("objects under {}/{prefix} remain after DELETE", t.bucket)));
    }
    narrowing(&s3, t, &prefix).await?;

    evidence.insert("bucket".into(), json!(t.bucket));
    evidence.insert("bytes".into(), json!(plain.len() + big.len()));
    evidence.insert("sha256".into(), json!(sha256(&plain)));
    evidence.insert("multipartSha256".into(), json!(sha256(&big)));
    evidence.insert("multipartParts".into(), json!(parts));
    evidence.insert("putMs".into(), json!(put_ms));
    evidence.insert("getMs".into(), json!(get_ms));
    evidence.insert("multipartPutMs".into(), json!(multipart_ms));
    evidence.insert("refusedOutside".into(), json!(t.forbidden));
    Ok(evidence)
}

/// A write outside the key's buckets must be refused.
async fn narrowing(s3: &S3, t: &Target<'_>, prefix: &str) -> Result<(), CheckpointError> {
    let key = format!("{prefix}/must-be-refused");
    match s3.put(t.forbidden, &key, b"x".to_vec()).await {
        Err(e) if e.is_access_denied() => Ok(()),
        Err(e) => Err(CheckpointError::Failed(format!("writing outside the key's buckets failed for another reason: {e}"))),
        Ok(()) => {
            let _ = s3.delete(t.forbidden, &key).await;
            Err(CheckpointError::Failed(format!(
                "the key of {} may write to bucket {}: its permissions are too wide",
                t.key.secret_ref, t.forbidden
            )))
        }
    }
}

fn access_error(e: S3Error, key: &ServiceKey) -> CheckpointError {
    if e.is_access_denied() {
        CheckpointError::AccessDenied { secret: key.secret_ref.clone(), detail: e.to_string() }
    } else {
        CheckpointError::Failed(e.to_string())
    }
}

fn same_bytes(sent: &[u8], got: &[u8], key: &str) -> Result<(), CheckpointError> {
    let (a, b) = (sha256(sent), sha256(got));
    if a == b { Ok(()) } else { Err(CheckpointError::Failed(format!("GET {key} returned sha256 {b}, wrote {a}"))) }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}
