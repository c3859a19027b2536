//! R2: the spark phase's configuration against a real Spark. pyspark from PyPI (local mode) runs
//! the very checkpoint job our render ships, with the very spark-defaults.conf our ConfigMap
//! mounts and the hadoop-aws + AWS SDK jars the phase pins (from Maven Central, sha256-checked),
//! against a real MinIO set up by the rendered object-storage script, with the spark service's key.
//! Only what cannot be the same off-cluster differs: the master (local instead of k8s), the S3
//! endpoint's host:port, and the directory holding the jars.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bigtop_k8s::checkpoint::spark::{check, parse_evidence};
use common::servers::*;

fn spark_root() -> PathBuf {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_SPARK_ROOT").expect("BIGTOP_R2_SPARK_ROOT (set by tests/env/test.sh)"));
    assert!(root.join("venv/bin/spark-submit").exists(), "pyspark missing: run `bash tests/env/build-spark.sh`");
    root
}

/// The rendered spark-defaults.conf with the endpoint and the jar directory moved; panics if
/// either setting is gone (then this test would no longer test the shipped file).
fn local_conf(endpoint: &str, jars: &str) -> String {
    let objects = render("spark-k8s", &[]);
    let conf = find(&objects, "ConfigMap", "spark-conf")["data"]["spark-defaults.conf"].as_str().unwrap().to_string();
    let mut moved = 0;
    let text: Vec<String> = conf
        .lines()
        .map(|l| {
            let key = l.split_whitespace().next().unwrap_or_default();
            match key {
                "spark.hadoop.fs.s3a.endpoint" => {
                    moved += 1;
                    format!("{key} {endpoint}")
                }
                "spark.driver.extraClassPath" | "spark.executor.extraClassPath" => {
                    moved += 1;
                    format!("{key} {jars}/*")
                }
                _ => l.to_string(),
            }
        })
        .collect();
    assert_eq!(moved, 3, "spark-defaults.conf no longer sets the endpoint and both class paths:\n{conf}");
    text.join("\n") + "\n"
}

fn checkpoint_job() -> String {
    find(&render("spark-k8s", &[]), "ConfigMap", "spark-checkpoint")["data"]["checkpoint.py"].as_str().unwrap().to_string()
}

/// spark-submit in local mode with the shipped configuration; (exit code, stdout, stderr).
fn submit(endpoint: &str, key: &bigtop_k8s::checkpoint::s3::ServiceKey, path: &str, extra: &[&str]) -> (i32, String, String) {
    let root = spark_root();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("spark-defaults.conf");
    std::fs::write(&conf, local_conf(endpoint, &root.join("jars").display().to_string())).unwrap();
    let job = dir.path().join("checkpoint.py");
    std::fs::write(&job, checkpoint_job()).unwrap();
    let mut cmd = Command::new(root.join("venv/bin/spark-submit"));
    cmd.args(["--master", "local[2]", "--deploy-mode", "client", "--properties-file"]).arg(&conf);
    cmd.args(["--conf", "spark.ui.enabled=false"]).args(extra).arg(&job).arg(path);
    cmd.env("AWS_ACCESS_KEY_ID", &key.access_key).env("AWS_SECRET_ACCESS_KEY", &key.secret_key);
    cmd.env("SPARK_LOCAL_IP", "127.0.0.1").env("PYSPARK_PYTHON", root.join("venv/bin/python")).env_remove("SPARK_HOME");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn the_checkpoint_job_writes_and_reads_parquet_in_the_lake_with_the_shipped_configuration() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) = submit(&lake.endpoint, &lake.key("spark"), "s3a://warehouse/bigtop-checkpoint/r2", &[]);
    assert_eq!(code, 0, "spark-submit failed\n--- stdout\n{out}\n--- stderr\n{err}");
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let evidence = parse_evidence(&lines).unwrap_or_else(|| panic!("no evidence line:\n{out}"));
    check(&evidence).unwrap();
    assert_eq!(evidence["path"], "s3a://warehouse/bigtop-checkpoint/r2");
    // The data really is in the bucket: a second run reads what the first wrote, then overwrites.
    let (code, out, _) = submit(&lake.endpoint, &lake.key("spark"), "s3a://warehouse/bigtop-checkpoint/r2", &[]);
    assert_eq!(code, 0);
    assert!(out.contains("\"rows\": 1000"), "{out}");
}

#[test]
fn the_spark_key_cannot_write_outside_the_warehouse() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) =
        submit(&lake.endpoint, &lake.key("spark"), "s3a://raw/bigtop-checkpoint/r2", &["--conf", "spark.hadoop.fs.s3a.attempts.maximum=1"]);
    assert_ne!(code, 0, "the spark key wrote into raw:\n{out}");
    let all = format!("{out}{err}");
    assert!(all.contains("AccessDenied") || all.contains("403"), "{all}");
}

#[test]
fn a_wrong_endpoint_fails_and_names_it() {
    let port = free_port();
    let key = bigtop_k8s::checkpoint::s3::ServiceKey { access_key: "a".into(), secret_key: "b".into(), secret_ref: "x".into() };
    let bounded = [
        "--conf",
        "spark.hadoop.fs.s3a.attempts.maximum=1",
        "--conf",
        "spark.hadoop.fs.s3a.retry.limit=1",
        "--conf",
        "spark.hadoop.fs.s3a.connection.establish.timeout=2s",
    ];
    let (code, out, err) = submit(&format!("http://127.0.0.1:{port}"), &key, "s3a://warehouse/x", &bounded);
    assert_ne!(code, 0);
    let all = format!("{out}{err}");
    assert!(all.contains(&format!("127.0.0.1:{port}")), "the error names the endpoint:\n{all}");
}
