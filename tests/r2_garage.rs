//! R2: the object-storage phase's Garage configuration against a real Garage (crates.io): the
//! rendered garage.toml and secrets, the CLI's own admin-API setup and S3 checkpoint.

mod common;

use bigtop_k8s::checkpoint::CheckpointError;
use bigtop_k8s::checkpoint::s3::{ServiceKey, Target, roundtrip};
use bigtop_k8s::s3::S3;
use bigtop_k8s::setup::garage::apply;
use common::servers::*;

fn start() -> Garage {
    Garage::start(render("garage", &[("object-storage.backend", "garage")]))
}

#[tokio::test]
async fn setup_is_idempotent_and_the_checkpoint_passes_with_narrowed_keys() {
    let g = start();
    let want = g.desired();
    let first = apply(&g.admin(), &want).await.unwrap();
    assert!(first.iter().any(|l| l.starts_with("applied layout version 1")), "{first:?}");
    assert!(first.iter().any(|l| l == "created bucket warehouse"), "{first:?}");
    assert!(first.iter().any(|l| l == "imported key bigtop-sql"), "{first:?}");
    let second = apply(&g.admin(), &want).await.unwrap();
    assert!(second.is_empty(), "a second setup changed: {second:?}");

    let sql = g.key("sql");
    let t = Target { endpoint: &g.s3_endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let evidence = roundtrip(&t).await.unwrap();
    assert_eq!(evidence["multipartParts"], 3);
    assert_eq!(evidence["refusedOutside"], "raw");

    assert_cleaner_is_narrowed(&g.s3_endpoint, &g.key("cleaner")).await;
}

#[tokio::test]
async fn wrong_credentials_say_access_denied_and_a_wrong_admin_token_is_named() {
    let g = start();
    apply(&g.admin(), &g.desired()).await.unwrap();
    let mut sql = g.key("sql");
    sql.secret_key = "0".repeat(64);
    let t = Target { endpoint: &g.s3_endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let err = roundtrip(&t).await.unwrap_err();
    assert!(matches!(err, CheckpointError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().starts_with("access denied: check Secret object-storage/s3-sql"), "{err}");

    let bad = bigtop_k8s::setup::garage::Admin::new(&g.admin_endpoint, "not-the-token").unwrap();
    let err = apply(&bad, &g.desired()).await.unwrap_err().to_string();
    assert!(err.contains("admin token was refused") && err.contains("garage-admin"), "{err}");
}

/// No service key gets owner or key-management rights: it cannot create or delete buckets, and
/// key management (Garage's admin API) refuses it.
#[tokio::test]
async fn a_service_key_has_no_owner_or_key_management_rights() {
    let g = start();
    apply(&g.admin(), &g.desired()).await.unwrap();
    let sql = g.key("sql");
    let config = tempfile::tempdir().unwrap();
    let mc = |args: &[&str]| mc(config.path(), args);
    let (ok, out) = mc(&["alias", "set", "svc", &g.s3_endpoint, &sql.access_key, &sql.secret_key, "--api", "s3v4", "--path", "on"]);
    assert!(ok, "{out}");
    for attempt in [["mb", "svc/intruder"], ["rb", "svc/warehouse"]] {
        let (ok, out) = mc(&attempt);
        let refused = ["denied", "forbidden", "not allowed"].iter().any(|w| out.to_lowercase().contains(w));
        assert!(!ok && refused, "{}: {out}", attempt.join(" "));
    }
    let http = reqwest::Client::new();
    let answer = http.get(format!("{}/v2/ListKeys", g.admin_endpoint)).bearer_auth(&sql.secret_key).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403, "the admin API must refuse a service key");
}

/// A rotation: setup with a service's new key deletes the earlier one (same name, another id),
/// so the old key stops working and the new one works.
#[tokio::test]
async fn a_new_key_replaces_the_earlier_one_which_stops_working() {
    let g = start();
    let mut want = g.desired();
    apply(&g.admin(), &want).await.unwrap();
    let old = g.key("sql");
    let sql = want.keys.iter_mut().find(|k| k.name == "bigtop-sql").unwrap();
    sql.access_key = format!("GK{}", "ab".repeat(12));
    sql.secret_key = "cd".repeat(32);
    let done = apply(&g.admin(), &want).await.unwrap();
    assert!(
        done.contains(&"imported key bigtop-sql".to_string()) && done.contains(&"deleted an earlier key of bigtop-sql".to_string()),
        "{done:?}"
    );
    assert!(apply(&g.admin(), &want).await.unwrap().is_empty(), "a second setup deletes nothing more");

    let refused = S3::new(&g.s3_endpoint, "us-east-1", &old.access_key, &old.secret_key).unwrap().list("warehouse", "").await.unwrap_err();
    assert!(refused.is_access_denied(), "{refused}");
    let new = ServiceKey {
        access_key: format!("GK{}", "ab".repeat(12)),
        secret_key: "cd".repeat(32),
        secret_ref: "object-storage/s3-sql".into(),
    };
    let t = Target { endpoint: &g.s3_endpoint, region: "us-east-1", key: &new, bucket: "warehouse", forbidden: "raw" };
    roundtrip(&t).await.unwrap();
}
