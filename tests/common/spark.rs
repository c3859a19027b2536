//! Spark in local mode (R2): pyspark from the test cache runs the spark phase's own checkpoint
//! job with the rendered spark-defaults.conf (master, S3 endpoint and jar directory moved).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::servers::{find, render};

pub fn spark_root() -> PathBuf {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_SPARK_ROOT").expect("BIGTOP_R2_SPARK_ROOT (set by tests/env/test.sh)"));
    assert!(root.join("venv/bin/spark-submit").exists(), "pyspark missing: run `bash tests/env/build-spark.sh`");
    root
}

/// Where the local Spark finds what the cluster's Spark finds at in-cluster addresses.
pub struct Local<'a> {
    /// The S3 endpoint.
    pub endpoint: &'a str,
    /// The Hive Metastore's thrift:// URI, when the rendered configuration has one.
    pub metastore: Option<&'a str>,
}

/// The rendered spark-defaults.conf with the endpoints and the jar directories moved; panics if
/// a setting to move is gone (then this test would no longer test the shipped file).
pub fn local_conf(sets: &[(&str, &str)], local: &Local, jars: &str) -> String {
    let objects = render("spark-k8s", sets);
    let conf = find(&objects, "ConfigMap", "spark-conf")["data"]["spark-defaults.conf"].as_str().unwrap().to_string();
    let mut moved = 0;
    let text: Vec<String> = conf
        .lines()
        .map(|l| {
            let (key, value) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let local_value = match key {
                "spark.hadoop.fs.s3a.endpoint" => local.endpoint.to_string(),
                "spark.driver.extraClassPath" | "spark.executor.extraClassPath" => {
                    value.trim().replace("/opt/bigtop/jars", jars).replace("/opt/spark/jars", &pyspark_jars().display().to_string())
                }
                "spark.hadoop.hive.metastore.uris" => local.metastore.expect("a metastore to point at").to_string(),
                // The pods' jar directory and the image's Spark jars → the cache and pyspark's.
                "spark.sql.hive.metastore.jars.path" => {
                    let local =
                        value.trim().replace("/opt/bigtop/jars", jars).replace("/opt/spark/jars", &pyspark_jars().display().to_string());
                    for file in local.split(',').filter_map(|u| u.strip_prefix("file://")).filter(|p| !p.contains('*')) {
                        assert!(
                            std::path::Path::new(file).exists(),
                            "{file} (named in spark.sql.hive.metastore.jars.path) is not in this Spark"
                        );
                    }
                    local
                }
                _ => return l.to_string(),
            };
            moved += 1;
            format!("{key} {local_value}")
        })
        .collect();
    // The endpoint and two class paths; the metastore URI; the Hive client's jars, when fetched.
    let fetched_client = conf.lines().any(|l| l.starts_with("spark.sql.hive.metastore.jars ") && l.trim_end().ends_with(" path"));
    let expected = 3 + usize::from(local.metastore.is_some()) + usize::from(fetched_client);
    assert_eq!(moved, expected, "spark-defaults.conf no longer sets what the test moves:\n{conf}");
    text.join("\n") + "\n"
}

/// The jars of pyspark's Spark: the same files as the image's /opt/spark/jars.
pub fn pyspark_jars() -> PathBuf {
    let site = spark_root().join("venv/lib");
    let python = std::fs::read_dir(&site).unwrap().next().expect("a python3.x directory").unwrap().path();
    let jars = python.join("site-packages/pyspark/jars");
    assert!(jars.is_dir(), "{} is missing", jars.display());
    jars
}

pub fn checkpoint_job() -> String {
    find(&render("spark-k8s", &[]), "ConfigMap", "spark-checkpoint")["data"]["checkpoint.py"].as_str().unwrap().to_string()
}

/// spark-submit in local mode with the shipped configuration; (exit code, stdout, stderr).
pub fn submit(
    sets: &[(&str, &str)],
    local: &Local,
    key: &bigtop_k8s::checkpoint::s3::ServiceKey,
    job_args: &[&str],
    extra: &[&str],
) -> (i32, String, String) {
    let root = spark_root();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("spark-defaults.conf");
    std::fs::write(&conf, local_conf(sets, local, &root.join("jars").display().to_string())).unwrap();
    let job = dir.path().join("checkpoint.py");
    std::fs::write(&job, checkpoint_job()).unwrap();
    let mut cmd = Command::new(root.join("venv/bin/spark-submit"));
    cmd.args(["--master", "local[2]", "--deploy-mode", "client", "--properties-file"]).arg(&conf);
    cmd.args(["--conf", "spark.ui.enabled=false"]).args(extra).arg(&job).args(job_args);
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

/// The sql checkpoint has written its table through `engine` on `stack`: Spark with the rendered
/// spark-defaults.conf (the Hive client chosen for that engine's metastore) reads it through the
/// metastore, rows compared; a table the metastore lacks is reported with the next step.
pub fn reads_the_sql_checkpoint_table(stack: &super::sql_servers::SqlStack, engine: bigtop_k8s::sql::Engine) {
    use bigtop_k8s::checkpoint::spark::{check, parse_evidence, sql_table};
    let hive_metastore = if engine == bigtop_k8s::sql::Engine::Presto { "3.1.3" } else { "4.0.1" };
    let (lake, metastore_uri) = (&stack.lake, format!("thrift://127.0.0.1:{}", stack.metastore.port));
    let local = Local { endpoint: &lake.endpoint, metastore: Some(&metastore_uri) };
    let table = sql_table();
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        submit(&[("spark.metastore", "sql"), ("spark.hive-metastore", hive_metastore)], &local, &lake.key("spark"), &args, &[])
    };
    let (code, out, err) = run(vec!["s3a://warehouse/bigtop-checkpoint/r2-metastore".into(), table.clone()]);
    assert_eq!(code, 0, "spark-submit failed\n--- stdout\n{out}\n--- stderr\n{err}");
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let evidence = parse_evidence(&lines).unwrap_or_else(|| panic!("no evidence line:\n{out}"));
    check(&evidence).unwrap_or_else(|e| panic!("{e}: {evidence:?}"));
    assert_eq!(evidence["table"], table.as_str());

    let (code, out, err) = run(vec!["s3a://warehouse/bigtop-checkpoint/r2-metastore".into(), "bigtop_checkpoint.absent".into()]);
    assert_eq!(code, 0, "{err}");
    let evidence = parse_evidence(&out.lines().map(str::to_string).collect::<Vec<_>>()).unwrap();
    assert!(check(&evidence).unwrap_err().to_string().contains("bigtop-k8s verify sql"), "{evidence:?}");
}
