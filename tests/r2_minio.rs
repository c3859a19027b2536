//! R2: the object-storage phase's MinIO configuration against a real MinIO server and `mc`,
//! built from their Go modules. The server runs with the args and credentials our render
//! produces; the setup is the rendered setup script; the checkpoint is the CLI's own code.

mod common;

use bigtop_k8s::checkpoint::CheckpointError;
use bigtop_k8s::checkpoint::s3::{ServiceKey, Target, minio_admin_refused, roundtrip};
use common::servers::*;

fn start_minio() -> Minio {
    Minio::start(render("minio", &[]))
}

#[tokio::test]
async fn setup_is_idempotent_and_the_checkpoint_passes_with_narrowed_keys() {
    let lake = start_minio();
    let first = lake.setup();
    assert!(first.contains("service sql: read warehouse, write warehouse"), "{first}");
    lake.setup(); // a second run (a re-applied Job) must succeed and change nothing

    let sql = lake.key("sql");
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let evidence = roundtrip(&t).await.unwrap();
    assert_eq!(evidence["multipartParts"], 3);
    assert_eq!(evidence["refusedOutside"], "raw");
    assert_eq!(evidence["bytes"], (1 << 20) + (11 << 20));

    // The cleaner reads raw and writes clean, and nothing else.
    assert_cleaner_is_narrowed(&lake.endpoint, &lake.key("cleaner")).await;
}

#[tokio::test]
async fn wrong_credentials_say_access_denied_and_name_the_secret() {
    let lake = start_minio();
    lake.setup();
    let mut sql = lake.key("sql");
    sql.secret_key = "not-the-secret-key-000000".into();
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let err = roundtrip(&t).await.unwrap_err();
    assert!(matches!(err, CheckpointError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().starts_with("access denied: check Secret object-storage/s3-sql"), "{err}");
}

#[tokio::test]
async fn a_key_with_too_wide_permissions_fails_the_checkpoint() {
    let lake = start_minio();
    lake.setup();
    // The root key may write everywhere: the narrowing check must catch it.
    let root = ServiceKey {
        access_key: secret_value(&lake.objects, "minio-root", "user"),
        secret_key: secret_value(&lake.objects, "minio-root", "password"),
        secret_ref: "object-storage/minio-root".into(),
    };
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &root, bucket: "warehouse", forbidden: "raw" };
    let err = roundtrip(&t).await.unwrap_err().to_string();
    assert!(err.contains("permissions are too wide"), "{err}");
}

/// A service key may do no admin action: in particular it cannot mint service accounts for
/// itself (MinIO allows that unless a policy denies it; such accounts carry the key's scope,
/// never expire and kept working after the key's secret was rotated).
#[tokio::test]
async fn a_service_key_is_refused_every_admin_action() {
    let lake = start_minio();
    lake.setup();
    let sql = lake.key("sql");
    let config = tempfile::tempdir().unwrap();
    let mc = |args: &[&str]| mc(config.path(), args);
    let (ok, out) = mc(&["alias", "set", "svc", &lake.endpoint, &sql.access_key, &sql.secret_key, "--api", "s3v4", "--path", "on"]);
    assert!(ok, "{out}");
    for attempt in [
        vec!["admin", "user", "svcacct", "add", "svc", sql.access_key.as_str()],
        vec!["admin", "accesskey", "create", "svc"],
        vec!["admin", "accesskey", "list", "svc"],
        vec!["admin", "user", "add", "svc", "intruder", "intruder-secret-0000"],
        vec!["admin", "policy", "attach", "svc", "readwrite", "--user", sql.access_key.as_str()],
    ] {
        let (ok, out) = mc(&attempt);
        assert!(!ok && out.contains("Access Denied"), "{}: {out}", attempt.join(" "));
    }
    // The data path is untouched: the key still reads and writes its bucket.
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    roundtrip(&t).await.unwrap();

    // The checkpoint's own admin probe: refused for the service key, and it does catch a key
    // that may run admin actions (the root key).
    minio_admin_refused(&lake.endpoint, "us-east-1", &sql).await.unwrap();
    let root = ServiceKey {
        access_key: secret_value(&lake.objects, "minio-root", "user"),
        secret_key: secret_value(&lake.objects, "minio-root", "password"),
        secret_ref: "object-storage/minio-root".into(),
    };
    let err = minio_admin_refused(&lake.endpoint, "us-east-1", &root).await.unwrap_err().to_string();
    assert!(err.contains("may run MinIO admin actions"), "{err}");
}

/// `verify object-storage` checks every service key against the server: each Secret must hold
/// the key the server knows (a Secret regenerated after setup is drift), and no key may write
/// outside its row of the table.
#[tokio::test]
async fn every_key_is_checked_against_the_server_and_drift_is_named() {
    use bigtop_k8s::checkpoint::s3::{Grant, keys_as_granted};
    let lake = start_minio();
    lake.setup();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let grants = |spark: ServiceKey| {
        vec![
            Grant { key: lake.key("sql"), read: strings(&["warehouse"]), write: strings(&["warehouse"]) },
            Grant { key: spark, read: strings(&["warehouse"]), write: strings(&["warehouse"]) },
            Grant { key: lake.key("cleaner"), read: strings(&["raw", "clean"]), write: strings(&["clean"]) },
            Grant { key: lake.key("streaming"), read: vec![], write: strings(&["raw"]) },
        ]
    };
    assert_eq!(keys_as_granted(&lake.endpoint, "us-east-1", &grants(lake.key("spark"))).await.unwrap(), 4);

    // The spark Secret regenerated after setup: the server still holds the old key.
    let mut drifted = lake.key("spark");
    drifted.secret_key = "regenerated-secret-key-000000000000000000".into();
    let err = keys_as_granted(&lake.endpoint, "us-east-1", &grants(drifted)).await.unwrap_err().to_string();
    assert!(err.contains("object-storage/s3-spark") && err.contains("no longer holds"), "{err}");

    // A key whose row says warehouse only, but which may write everywhere (the root key).
    let root = ServiceKey {
        access_key: secret_value(&lake.objects, "minio-root", "user"),
        secret_key: secret_value(&lake.objects, "minio-root", "password"),
        secret_ref: "object-storage/minio-root".into(),
    };
    let err = keys_as_granted(&lake.endpoint, "us-east-1", &grants(root)).await.unwrap_err().to_string();
    assert!(err.contains("permissions are too wide"), "{err}");
}

/// Objects with Secret `s3-<service>` holding another key, as `rotate-keys` renders them.
fn with_new_key(objects: &[serde_json::Value], service: &str, access_key: &str, secret_key: &str) -> Vec<serde_json::Value> {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let mut out = objects.to_vec();
    let secret = out.iter_mut().find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == format!("s3-{service}")).unwrap();
    secret["data"] = serde_json::json!({"access-key": b64(access_key), "secret-key": b64(secret_key)});
    out
}

/// Setup removes what a key could leave behind: service accounts minted for a service key
/// (possible before its policy denied admin actions; they outlived a rotation), and after a
/// rotation the service's earlier key, which must stop working while the new one works.
#[tokio::test]
async fn setup_removes_service_accounts_and_a_rotated_services_earlier_key() {
    let lake = start_minio();
    lake.setup();
    let sql = lake.key("sql");
    let config = tempfile::tempdir().unwrap();
    let mc = |args: &[&str]| mc(config.path(), args);
    let root = (secret_value(&lake.objects, "minio-root", "user"), secret_value(&lake.objects, "minio-root", "password"));
    assert!(mc(&["alias", "set", "root", &lake.endpoint, &root.0, &root.1, "--api", "s3v4", "--path", "on"]).0);
    // A service account of the sql key, as one minted before the fix.
    let (minted, minted_secret) = ("mintedbysqlkey000001", "minted-secret-key-0000000000000000000000");
    let (ok, out) =
        mc(&["admin", "user", "svcacct", "add", "root", &sql.access_key, "--access-key", minted, "--secret-key", minted_secret]);
    assert!(ok, "{out}");
    let lists = |access: &str, secret: &str| {
        let s3 = bigtop_k8s::s3::S3::new(&lake.endpoint, "us-east-1", access, secret).unwrap();
        async move { s3.list("warehouse", "").await }
    };
    lists(minted, minted_secret).await.unwrap();

    let again = lake.setup();
    assert!(again.contains("service sql: removed a service account of its key"), "{again}");
    assert!(lists(minted, minted_secret).await.unwrap_err().is_access_denied());
    lists(&sql.access_key, &sql.secret_key).await.unwrap();
    assert!(!lake.setup().contains("removed"), "a clean server: nothing to remove");

    // Rotation: setup with a new sql key removes the earlier one.
    let rotated = with_new_key(&lake.objects, "sql", "rotatedsqlkey0000001", "rotated-secret-key-000000000000000000000");
    let out = lake.setup_with(&rotated);
    assert!(out.contains("service sql: removed an earlier key") && !out.contains("service spark: removed"), "{out}");
    assert!(lists(&sql.access_key, &sql.secret_key).await.unwrap_err().is_access_denied());
    let new = service_key(&rotated, "sql");
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &new, bucket: "warehouse", forbidden: "raw" };
    roundtrip(&t).await.unwrap();
    lists(&lake.key("spark").access_key, &lake.key("spark").secret_key).await.unwrap();
}

/// NiFi's lake flow on the keys it uses: the streaming key writes objects under
/// `streaming/<topic>/` of raw (as PutS3Object does) and cannot read them back; the cleaner's
/// key — the one the checkpoint reads with — lists every one, across ListObjectsV2 pages
/// (1,000 keys each), and reads them.
#[tokio::test]
async fn what_the_streaming_key_writes_to_raw_the_cleaner_key_lists_across_pages_and_reads() {
    use bigtop_k8s::s3::S3;
    let lake = start_minio();
    lake.setup();
    let (writer, reader) = (lake.key("streaming"), lake.key("cleaner"));
    let writes = S3::new(&lake.endpoint, "us-east-1", &writer.access_key, &writer.secret_key).unwrap();
    let reads = S3::new(&lake.endpoint, "us-east-1", &reader.access_key, &reader.secret_key).unwrap();
    let objects = 1_001;
    for n in 0..objects {
        writes.put("raw", &format!("streaming/lake-raw/0-{n}.jsonl"), format!("{{\"n\":{n}}}\n").into_bytes()).await.unwrap();
    }
    let listed = reads.list("raw", "streaming/lake-raw/").await.unwrap();
    assert_eq!(listed.len(), objects, "every page of the listing");
    assert_eq!(reads.get("raw", "streaming/lake-raw/0-1000.jsonl").await.unwrap(), b"{\"n\":1000}\n");
    let denied = writes.get("raw", "streaming/lake-raw/0-0.jsonl").await.unwrap_err();
    assert!(denied.is_access_denied(), "the streaming key reads nothing: {denied}");
}
