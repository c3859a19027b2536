//! R2: the spark phase's configuration against a real Spark. pyspark from PyPI (local mode) runs
//! the very checkpoint job our render ships, with the very spark-defaults.conf our ConfigMap
//! mounts and the hadoop-aws + AWS SDK jars the phase pins (from Maven Central, sha256-checked),
//! against a real MinIO set up by the rendered object-storage script, with the spark service's key.
//! Only what cannot be the same off-cluster differs: the master (local instead of k8s), the S3
//! endpoint's host:port, and the directory holding the jars.

mod common;

use bigtop_k8s::checkpoint::spark::{check, parse_evidence};
use common::servers::*;
use common::spark::submit;

#[test]
fn the_checkpoint_job_writes_and_reads_parquet_in_the_lake_with_the_shipped_configuration() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) = submit(&[], &lake.endpoint, &lake.key("spark"), "s3a://warehouse/bigtop-checkpoint/r2", &[]);
    assert_eq!(code, 0, "spark-submit failed\n--- stdout\n{out}\n--- stderr\n{err}");
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let evidence = parse_evidence(&lines).unwrap_or_else(|| panic!("no evidence line:\n{out}"));
    check(&evidence).unwrap();
    assert_eq!(evidence["path"], "s3a://warehouse/bigtop-checkpoint/r2");
    // The data really is in the bucket: a second run reads what the first wrote, then overwrites.
    let (code, out, _) = submit(&[], &lake.endpoint, &lake.key("spark"), "s3a://warehouse/bigtop-checkpoint/r2", &[]);
    assert_eq!(code, 0);
    assert!(out.contains("\"rows\": 1000"), "{out}");
}

#[test]
fn the_spark_key_cannot_write_outside_the_warehouse() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) = submit(
        &[],
        &lake.endpoint,
        &lake.key("spark"),
        "s3a://raw/bigtop-checkpoint/r2",
        &["--conf", "spark.hadoop.fs.s3a.attempts.maximum=1"],
    );
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
    let (code, out, err) = submit(&[], &format!("http://127.0.0.1:{port}"), &key, "s3a://warehouse/x", &bounded);
    assert_ne!(code, 0);
    let all = format!("{out}{err}");
    assert!(all.contains(&format!("127.0.0.1:{port}")), "the error names the endpoint:\n{all}");
}
