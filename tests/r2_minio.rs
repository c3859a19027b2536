//! R2: the object-storage phase's MinIO configuration against a real MinIO server and `mc`,
//! built from their Go modules. The server runs with the args and credentials our render
//! produces; the setup is the rendered setup script; the checkpoint is the CLI's own code.

mod common;

use bigtop_k8s::checkpoint::CheckpointError;
use bigtop_k8s::checkpoint::s3::{ServiceKey, Target, roundtrip};
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
