//! Garage setup through its admin API (v2): assign the node a role in the cluster layout and
//! apply it, import the per-service keys generated into Secrets (deleting a service's earlier
//! keys), create the buckets, and grant each key exactly the buckets the phase data allows.
//! Re-running changes nothing.
//!
//! Settings: `service`, `port` (admin API), `secret` (Secret with `admin-token`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Context, SetupError, secret_value};
use crate::catalog::actions::GarageAdmin;
use crate::forward;

/// One service key and the buckets it may read and write.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyGrant {
    /// Key name shown by Garage (`bigtop-<service>`).
    pub name: String,
    /// Access key id (`GK…`).
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
    /// Bucket → (read, write).
    pub buckets: BTreeMap<String, (bool, bool)>,
}

/// What the cluster should look like after setup.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Capacity given to the single node, in bytes.
    pub capacity: u64,
    /// Buckets to exist.
    pub buckets: Vec<String>,
    /// Keys to exist, with their grants.
    pub keys: Vec<KeyGrant>,
}

/// Build the desired state from the phase data (`services` with bucket roles), the phase's
/// `<role>-bucket` parameters and the keys read from Secrets. Pure.
pub fn desired(
    data: &Value,
    params: &BTreeMap<String, Value>,
    phase: &str,
    capacity: u64,
    keys: &BTreeMap<String, (String, String)>,
) -> Result<Desired, SetupError> {
    let bucket = |role: &str| {
        let key = format!("{phase}.{role}-bucket");
        params.get(&key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| SetupError::Missing(format!("parameter {key}")))
    };
    let mut buckets: Vec<String> = Vec::new();
    for role in ["warehouse", "raw", "clean"] {
        buckets.push(bucket(role)?);
    }
    let mut grants = Vec::new();
    for svc in data["services"].as_array().into_iter().flatten() {
        let name = svc["name"].as_str().unwrap_or_default();
        let (access_key, secret_key) = keys.get(name).cloned().ok_or_else(|| SetupError::Missing(format!("key of service {name}")))?;
        let mut per_bucket: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for (field, write) in [("read", false), ("write", true)] {
            for role in svc[field].as_array().into_iter().flatten().filter_map(Value::as_str) {
                let entry = per_bucket.entry(bucket(role)?).or_default();
                if write { entry.1 = true } else { entry.0 = true }
            }
        }
        grants.push(KeyGrant { name: format!("bigtop-{name}"), access_key, secret_key, buckets: per_bucket });
    }
    Ok(Desired { capacity, buckets, keys: grants })
}

pub(super) async fn run(ctx: &Context<'_>, s: &GarageAdmin) -> Result<Vec<String>, SetupError> {
    let ns = &ctx.addon.namespace;
    let token = secret_value(ctx.client, ns, &s.secret, "admin-token").await?;
    let mut keys = BTreeMap::new();
    for svc in ctx.phase.data["services"].as_array().into_iter().flatten() {
        let name = svc["name"].as_str().unwrap_or_default().to_string();
        let secret = format!("s3-{name}");
        let pair = (secret_value(ctx.client, ns, &secret, "access-key").await?, secret_value(ctx.client, ns, &secret, "secret-key").await?);
        keys.insert(name, pair);
    }
    let storage_key = format!("{}.storage", ctx.addon.name);
    let capacity = ctx
        .params
        .get(&storage_key)
        .and_then(Value::as_str)
        .and_then(crate::validation::quantity_bytes)
        .ok_or_else(|| SetupError::Missing(storage_key))?;
    let want = desired(&ctx.phase.data, ctx.params, &ctx.phase.name, capacity, &keys)?;
    let fwd = forward::forward(ctx.client, ns, &s.service, s.port, 0).await?;
    let admin = Admin::new(&format!("http://{}", fwd.local), &token)?;
    apply(&admin, &want).await
}

/// A client of Garage's admin API v2.
pub struct Admin {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Admin {
    /// A client for `base` (e.g. `http://127.0.0.1:3903`) with a bearer `token`.
    pub fn new(base: &str, token: &str) -> Result<Admin, SetupError> {
        let http = crate::local_http_client(Duration::from_secs(30)).map_err(|e| SetupError::Failed(e.to_string()))?;
        Ok(Admin { base: base.trim_end_matches('/').into(), token: token.into(), http })
    }

    /// Call an endpoint; `Ok(None)` for 404 (absent objects are normal during setup).
    async fn call(&self, method: reqwest::Method, endpoint: &str, body: Option<Value>) -> Result<Option<Value>, SetupError> {
        let url = format!("{}/v2/{endpoint}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| {
            SetupError::Failed(format!("{endpoint}: no answer from the Garage admin API: {}", crate::error::root_cause(&e)))
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        match status {
            200..=299 => Ok(Some(serde_json::from_str(&text).unwrap_or(Value::Null))),
            404 => Ok(None),
            403 | 401 => {
                Err(SetupError::Failed(format!("{endpoint}: the admin token was refused (HTTP {status}): check Secret garage-admin")))
            }
            _ => Err(SetupError::Failed(format!("{endpoint} answered HTTP {status}: {}", text.trim()))),
        }
    }

    async fn get(&self, endpoint: &str) -> Result<Option<Value>, SetupError> {
        self.call(reqwest::Method::GET, endpoint, None).await
    }

    async fn post(&self, endpoint: &str, body: Value) -> Result<Value, SetupError> {
        self.call(reqwest::Method::POST, endpoint, Some(body)).await?.ok_or_else(|| SetupError::Failed(format!("{endpoint} answered 404")))
    }
}

/// Bring Garage to `want`; returns one line per change made (empty when nothing changed).
pub async fn apply(admin: &Admin, want: &Desired) -> Result<Vec<String>, SetupError> {
    let mut done = Vec::new();
    done.extend(layout(admin, want.capacity).await?);
    for key in &want.keys {
        let path = format!("GetKeyInfo?id={}", key.access_key);
        if admin.get(&path).await?.is_none() {
            let body = json!({"accessKeyId": key.access_key, "secretAccessKey": key.secret_key, "name": key.name});
            admin.post("ImportKey", body).await?;
            done.push(format!("imported key {}", key.name));
        }
    }
    done.extend(remove_earlier_keys(admin, &want.keys).await?);
    let mut ids = BTreeMap::new();
    for bucket in &want.buckets {
        let id = match admin.get(&format!("GetBucketInfo?globalAlias={bucket}")).await? {
            Some(info) => info["id"].as_str().unwrap_or_default().to_string(),
            None => {
                let created = admin.post("CreateBucket", json!({"globalAlias": bucket})).await?;
                done.push(format!("created bucket {bucket}"));
                created["id"].as_str().unwrap_or_default().to_string()
            }
        };
        ids.insert(bucket.clone(), id);
    }
    for key in &want.keys {
        for (bucket, (read, write)) in &key.buckets {
            let id = ids.get(bucket).ok_or_else(|| SetupError::Missing(format!("bucket {bucket}")))?;
            let body =
                json!({"bucketId": id, "accessKeyId": key.access_key, "permissions": {"read": read, "write": write, "owner": false}});
            admin.post("AllowBucketKey", body).await?;
        }
    }
    Ok(done)
}

/// Delete the keys that carry a service's name under another id: the service's earlier keys,
/// from before a rotation or a Secret regenerated since. They must stop working.
async fn remove_earlier_keys(admin: &Admin, keys: &[KeyGrant]) -> Result<Vec<String>, SetupError> {
    let listed = admin.get("ListKeys").await?.unwrap_or(Value::Null);
    let mut done = Vec::new();
    for item in listed.as_array().into_iter().flatten() {
        let (id, name) = (item["id"].as_str().unwrap_or_default(), item["name"].as_str().unwrap_or_default());
        if keys.iter().any(|k| k.name == name && k.access_key != id) {
            admin.call(reqwest::Method::POST, &format!("DeleteKey?id={id}"), None).await?;
            done.push(format!("deleted an earlier key of {name}"));
        }
    }
    Ok(done)
}

/// Give the (single) node a role if it has none, and apply the new layout version.
async fn layout(admin: &Admin, capacity: u64) -> Result<Vec<String>, SetupError> {
    let status = admin.get("GetClusterStatus").await?.ok_or_else(|| SetupError::Failed("GetClusterStatus answered 404".into()))?;
    let node = status["nodes"][0]["id"].as_str().ok_or_else(|| SetupError::Failed("Garage reports no node".into()))?.to_string();
    let layout = admin.get("GetClusterLayout").await?.unwrap_or(Value::Null);
    let has_role = layout["roles"].as_array().into_iter().flatten().any(|r| r["id"] == node.as_str());
    if has_role {
        return Ok(Vec::new());
    }
    let staged =
        admin.post("UpdateClusterLayout", json!({"roles": [{"id": node, "zone": "dc1", "capacity": capacity, "tags": []}]})).await?;
    let version = staged["version"].as_u64().unwrap_or(0) + 1;
    admin.post("ApplyClusterLayout", json!({"version": version})).await?;
    Ok(vec![format!("applied layout version {version} ({capacity} bytes on node {})", &node[..node.len().min(16)])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_state_from_phase_data() {
        let data = json!({"services": [{"name": "cleaner", "read": ["raw"], "write": ["clean"]}, {"name": "sql", "read": ["warehouse"], "write": ["warehouse"]}]});
        let params = BTreeMap::from([
            ("os.warehouse-bucket".to_string(), json!("wh")),
            ("os.raw-bucket".to_string(), json!("raw")),
            ("os.clean-bucket".to_string(), json!("clean")),
        ]);
        let keys = BTreeMap::from([
            ("cleaner".to_string(), ("GKc".to_string(), "s1".to_string())),
            ("sql".to_string(), ("GKs".to_string(), "s2".to_string())),
        ]);
        let d = desired(&data, &params, "os", 5, &keys).unwrap();
        assert_eq!(d.buckets, ["wh", "raw", "clean"]);
        assert_eq!(d.keys[0].buckets, BTreeMap::from([("clean".to_string(), (false, true)), ("raw".to_string(), (true, false))]));
        assert_eq!(d.keys[1].buckets, BTreeMap::from([("wh".to_string(), (true, true))]));
        assert!(desired(&data, &BTreeMap::new(), "os", 5, &keys).is_err());
    }
}
