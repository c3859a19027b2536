//! R2: the object-storage phase's MinIO configuration against a real MinIO server and `mc`,
//! built from their Go modules. The server runs with the args and credentials our render
//! produces; the setup is the rendered setup script; the checkpoint is the CLI's own code.

mod common;

use std::process::Command;

use bigtop_k8s::checkpoint::CheckpointError;
use bigtop_k8s::checkpoint::s3::{ServiceKey, Target, roundtrip};
use common::servers::*;

struct Lake {
    _server: Server,
    endpoint: String,
    objects: Vec<serde_json::Value>,
    _dir: tempfile::TempDir,
}

fn start_minio() -> Lake {
    let bin = server_bin("BIGTOP_R2_MINIO_BIN", "minio");
    let objects = render("minio", &[]);
    let sts = find(&objects, "StatefulSet", "minio");
    let env = container_env(&objects, sts);
    let dir = tempfile::tempdir().unwrap();
    let (s3_port, console_port) = (free_port(), free_port());
    let args: Vec<String> = container_args(sts)
        .into_iter()
        .map(|a| match a.as_str() {
            ":9000" => format!("127.0.0.1:{s3_port}"),
            ":9001" => format!("127.0.0.1:{console_port}"),
            "/data" => dir.path().join("data").display().to_string(),
            _ => a,
        })
        .collect();
    let mut cmd = Command::new(bin);
    cmd.args(&args).envs(&env).env("GOMEMLIMIT", "1GiB").env("MINIO_BROWSER", "off");
    let server = Server::start(cmd, &dir.path().join("minio.log"));
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    server.await_http(&format!("{endpoint}/minio/health/ready"));
    Lake { _server: server, endpoint, objects, _dir: dir }
}

/// Run the rendered setup script the way the Job runs it: its env, endpoint on loopback.
fn run_setup(lake: &Lake) -> String {
    let script = find(&lake.objects, "ConfigMap", "minio-setup")["data"]["setup.sh"].as_str().unwrap().to_string();
    let job = find(&lake.objects, "Job", "minio-setup-");
    let mut env = container_env(&lake.objects, job);
    env.insert("S3_ENDPOINT".into(), lake.endpoint.clone());
    env.insert("MC".into(), server_bin("BIGTOP_R2_MINIO_BIN", "mc").display().to_string());
    env.insert("MC_CONFIG_DIR".into(), lake._dir.path().join("mc").display().to_string());
    let out = Command::new("sh").arg("-c").arg(&script).envs(&env).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "setup failed:\n{text}");
    text
}

fn key(lake: &Lake, service: &str) -> ServiceKey {
    let secret = format!("s3-{service}");
    ServiceKey {
        access_key: secret_value(&lake.objects, &secret, "access-key"),
        secret_key: secret_value(&lake.objects, &secret, "secret-key"),
        secret_ref: format!("object-storage/{secret}"),
    }
}

#[tokio::test]
async fn setup_is_idempotent_and_the_checkpoint_passes_with_narrowed_keys() {
    let lake = start_minio();
    let first = run_setup(&lake);
    assert!(first.contains("service sql: read warehouse, write warehouse"), "{first}");
    run_setup(&lake); // a second run (a re-applied Job) must succeed and change nothing

    let sql = key(&lake, "sql");
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let evidence = roundtrip(&t).await.unwrap();
    assert_eq!(evidence["multipartParts"], 3);
    assert_eq!(evidence["refusedOutside"], "raw");
    assert_eq!(evidence["bytes"], (1 << 20) + (11 << 20));

    // The cleaner reads raw and writes clean, and nothing else.
    let cleaner = key(&lake, "cleaner");
    let s3 = bigtop_k8s::s3::S3::new(&lake.endpoint, "us-east-1", &cleaner.access_key, &cleaner.secret_key).unwrap();
    s3.put("clean", "x/ok.txt", b"ok".to_vec()).await.unwrap();
    assert!(s3.list("raw", "").await.is_ok());
    assert!(s3.put("raw", "x/no.txt", b"no".to_vec()).await.unwrap_err().is_access_denied());
    assert!(s3.put("warehouse", "x/no.txt", b"no".to_vec()).await.unwrap_err().is_access_denied());
}

#[tokio::test]
async fn wrong_credentials_say_access_denied_and_name_the_secret() {
    let lake = start_minio();
    run_setup(&lake);
    let mut sql = key(&lake, "sql");
    sql.secret_key = "not-the-secret-key-000000".into();
    let t = Target { endpoint: &lake.endpoint, region: "us-east-1", key: &sql, bucket: "warehouse", forbidden: "raw" };
    let err = roundtrip(&t).await.unwrap_err();
    assert!(matches!(err, CheckpointError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().starts_with("access denied: check Secret object-storage/s3-sql"), "{err}");
}

#[tokio::test]
async fn a_key_with_too_wide_permissions_fails_the_checkpoint() {
    let lake = start_minio();
    run_setup(&lake);
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
