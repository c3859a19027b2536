//! R2: the serverless phase's cleaning path with real servers — MinIO started with the
//! notification target our render gives it (the endpoint moved to loopback), the function's own
//! file (the ConfigMap's `cleaner.py`) under python3 with the Knative Service's environment, the
//! raw bucket's notification rule set by the CLI's S3 client: a dirty object put into raw comes
//! out cleaned in clean, byte for byte; what cannot be cleaned lands in the quarantine with its
//! reason; a wrong token is refused. Garage refuses notifications (501), and the sweep cleans
//! instead. Knative itself is not here: its webhook and controller are R1's, its routing R4's.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use bigtop_k8s::s3::S3;
use common::servers::*;
use serde_json::Value;

/// The function: the rendered `cleaner.py` under python3 with the Knative Service's variables,
/// its keys and token resolved from the lake's rendered Secrets, its S3 endpoint `s3`, on
/// `port`: the server, its URL and its token.
fn start_function(lake_objects: &[Value], s3: &str, dir: &std::path::Path, port: u16) -> (Server, String, String) {
    start_function_with(lake_objects, s3, dir, port, &[])
}

/// [`start_function`] with some variables replaced.
fn start_function_with(
    lake_objects: &[Value],
    s3: &str,
    dir: &std::path::Path,
    port: u16,
    replaced: &[(&str, &str)],
) -> (Server, String, String) {
    let cleaner = render("cleaner", &[]);
    let script = find(&cleaner, "ConfigMap", "cleaner-function")["data"]["cleaner.py"].as_str().unwrap().to_string();
    let file = dir.join("cleaner.py");
    std::fs::write(&file, script).unwrap();
    let ksvc = find(&cleaner, "Service", "cleaner");
    assert_eq!(ksvc["apiVersion"], "serving.knative.dev/v1");
    let mut all = lake_objects.to_vec();
    all.extend(cleaner.iter().cloned());
    let mut env = container_env(&all, ksvc);
    env.insert("S3_ENDPOINT".into(), s3.into());
    for (name, value) in replaced {
        assert!(env.insert(name.to_string(), value.to_string()).is_some(), "{name} is not rendered");
    }
    let mut cmd = Command::new("python3");
    cmd.arg(&file).envs(&env).env("PORT", port.to_string());
    let server = Server::start(cmd, &dir.join("function.log"));
    await_tcp(&server, port);
    (server, format!("http://127.0.0.1:{port}"), env["CLEANER_TOKEN"].clone())
}

/// Wait for `key` in `bucket`.
async fn appears(s3: &S3, bucket: &str, key: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match s3.get(bucket, key).await {
            Ok(bytes) => return bytes,
            Err(e) if Instant::now() < deadline && e.to_string().contains("404") => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("{bucket}/{key} did not appear: {e}"),
        }
    }
}

const DIRTY_CSV: &str =
    " Order ID ,Customer Name,  Amount(EUR) \n1, Ada ,10.50\n2,Grace,  7\n\n1, Ada ,10.50\n3,too,many,fields\n4,Linus,3\n";
const CLEAN_CSV: &str = "order_id,customer_name,amount_eur\n1,Ada,10.50\n2,Grace,7\n4,Linus,3\n";
const DIRTY_JSONL: &str =
    "{\"User Name\": \" ada \", \"n\": 1}\nnot json\n[1, 2]\n{\"user name\": \"ada\", \"n\": 1}\n{\"n\": 2, \"User-Name\": \"grace\"}\n";
const CLEAN_JSONL: &str = "{\"n\":1,\"user_name\":\"ada\"}\n{\"n\":2,\"user_name\":\"grace\"}\n";

#[tokio::test]
async fn minio_notifies_the_function_which_cleans_raw_into_clean_and_quarantines_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let lake_objects = render("minio", &[]);
    // MinIO is configured before the function exists (as when the serverless phase comes later).
    let function_port = free_port();
    let endpoint = format!("http://127.0.0.1:{function_port}/");
    let lake = Minio::start_with_env(lake_objects.clone(), &[("MINIO_NOTIFY_WEBHOOK_ENDPOINT_CLEANER", endpoint)]);
    lake.setup();
    let root = S3::new(
        &lake.endpoint,
        "us-east-1",
        &secret_value(&lake_objects, "minio-root", "user"),
        &secret_value(&lake_objects, "minio-root", "password"),
    )
    .unwrap();
    let catalog = bigtop_k8s::catalog::Catalog::embedded().unwrap();
    let resolved = bigtop_k8s::params::resolve(&catalog, bigtop_k8s::profile::Profile::Ci, &Default::default()).unwrap();
    let events = bigtop_k8s::contracts::of_catalog(&catalog, &resolved).unwrap().lake_events.unwrap();
    root.notify_created("raw", "cleaner", &events.arn).await.unwrap();

    let (_function, url, token) = start_function(&lake_objects, &lake.endpoint, dir.path(), function_port);
    let streaming = lake.key("streaming");
    let writer = S3::new(&lake.endpoint, "us-east-1", &streaming.access_key, &streaming.secret_key).unwrap();
    let started = Instant::now();
    writer.put("raw", "orders/2026-12-03.csv", DIRTY_CSV.as_bytes().to_vec()).await.unwrap();
    assert_eq!(String::from_utf8(appears(&root, "clean", "orders/2026-12-03.csv").await).unwrap(), CLEAN_CSV);
    println!("PUT into raw → cleaned object in clean: {:?}", started.elapsed());
    let counts = root.metadata("clean", "orders/2026-12-03.csv").await.unwrap();
    let count = |name: &str| counts.get(name).cloned().unwrap_or_default();
    assert_eq!([count("rows-in"), count("rows-out"), count("malformed"), count("duplicates")], ["5", "3", "1", "1"], "{counts:?}");
    writer.put("raw", "events/a b.jsonl", DIRTY_JSONL.as_bytes().to_vec()).await.unwrap();
    assert_eq!(String::from_utf8(appears(&root, "clean", "events/a b.jsonl").await).unwrap(), CLEAN_JSONL, "an escaped key");

    // What cannot be cleaned: copied to the quarantine, the reason beside it.
    writer.put("raw", "notes/readme.txt", b"hello".to_vec()).await.unwrap();
    assert_eq!(appears(&root, "clean", "quarantine/notes/readme.txt").await, b"hello");
    let reason = appears(&root, "clean", "quarantine/notes/readme.txt.reason").await;
    assert!(String::from_utf8_lossy(&reason).contains("not CSV or JSON lines"), "{}", String::from_utf8_lossy(&reason));
    writer.put("raw", "bad/latin1.csv", b"name\ncaf\xe9\n".to_vec()).await.unwrap();
    let reason = appears(&root, "clean", "quarantine/bad/latin1.csv.reason").await;
    assert!(String::from_utf8_lossy(&reason).starts_with("not UTF-8"), "{}", String::from_utf8_lossy(&reason));

    // A wrong token is refused and nothing is written; the right one sweeps (nothing left).
    let http = bigtop_k8s::local_http_client(Duration::from_secs(60)).unwrap();
    let refused = http.post(format!("{url}/sweep")).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let answer = http.post(format!("{url}/sweep")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    let swept: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(swept["results"], serde_json::json!([]), "every raw object was cleaned on notification");
}

/// Garage sends no bucket notifications: the rule is refused (to our keys, none of which owns a
/// bucket, with 403 before Garage's documented 501), and the sweep — what the CronJob calls — cleans every raw object not yet cleaned, and
/// quarantines an object over the size limit without copying it; a second sweep does nothing.
#[tokio::test]
async fn garage_refuses_notifications_and_the_sweep_cleans_instead() {
    use bigtop_k8s::setup::garage::apply;
    let dir = tempfile::tempdir().unwrap();
    let lake_objects = render("garage", &[]);
    let g = Garage::start(lake_objects.clone());
    apply(&g.admin(), &g.desired()).await.unwrap();
    let cleaner = g.key("cleaner");
    let reads = S3::new(&g.s3_endpoint, "us-east-1", &cleaner.access_key, &cleaner.secret_key).unwrap();
    let refused = reads.notify_created("raw", "cleaner", "arn:minio:sqs::CLEANER:webhook").await.unwrap_err();
    assert!(refused.to_string().contains("403") || refused.to_string().contains("501"), "{refused}");

    let streaming = g.key("streaming");
    let writer = S3::new(&g.s3_endpoint, "us-east-1", &streaming.access_key, &streaming.secret_key).unwrap();
    writer.put("raw", "orders/2026-12-03.csv", DIRTY_CSV.as_bytes().to_vec()).await.unwrap();
    writer.put("raw", "big/huge.csv", vec![b'a'; 2 << 20]).await.unwrap();
    let (_function, url, token) = start_function_with(&lake_objects, &g.s3_endpoint, dir.path(), free_port(), &[("MAX_BYTES", "1048576")]);
    let http = bigtop_k8s::local_http_client(Duration::from_secs(60)).unwrap();
    let sweep = || async {
        let answer = http.post(format!("{url}/sweep")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        serde_json::from_str::<Value>(&answer).unwrap()["results"].clone()
    };
    let first = sweep().await;
    assert_eq!(first.as_array().unwrap().len(), 2, "{first}");
    assert_eq!(String::from_utf8(reads.get("clean", "orders/2026-12-03.csv").await.unwrap()).unwrap(), CLEAN_CSV);
    let cleaned = first.as_array().unwrap().iter().find(|r| r["key"] == "orders/2026-12-03.csv").unwrap();
    assert_eq!((cleaned["rows-in"].as_u64(), cleaned["rows-out"].as_u64()), (Some(5), Some(3)), "{cleaned}");
    assert_eq!((cleaned["malformed"].as_u64(), cleaned["duplicates"].as_u64()), (Some(1), Some(1)), "{cleaned}");
    let reason = String::from_utf8(reads.get("clean", "quarantine/big/huge.csv.reason").await.unwrap()).unwrap();
    assert!(reason.starts_with("larger than MAX_BYTES"), "{reason}");
    assert!(reads.get("clean", "quarantine/big/huge.csv").await.is_err(), "an object over the limit is not copied");
    assert_eq!(sweep().await, serde_json::json!([]), "a second sweep finds nothing to do");
}
