//! R1: drifted credentials on the real control plane. A key Secret that went missing or was
//! changed, or a copy that differs from its source, is refused by `add-phase` and `verify`
//! with exit 3 and `rotate-keys` as the way out, and nothing is regenerated behind the
//! server's back; `rotate-keys` issues new keys, refreshes every copy, runs the setup again
//! (a new Job: setup is keyed by the credentials) and records when. Pods are simulated here:
//! the server side of a rotation is R2's (`r2_minio`, `r2_garage`) and R3's (`r3_lakehouse`).

mod common;

use common::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

async fn data(client: &kube::Client, ns: &str, name: &str) -> Option<std::collections::BTreeMap<String, ByteString>> {
    Api::<Secret>::namespaced(client.clone(), ns).get_opt(name).await.unwrap().and_then(|s| s.data)
}

async fn setup_jobs(client: &kube::Client) -> Vec<String> {
    let jobs = Api::<Job>::namespaced(client.clone(), "object-storage").list(&Default::default()).await.unwrap();
    jobs.items.into_iter().filter_map(|j| j.metadata.name).filter(|n| n.starts_with("minio-setup-")).collect()
}

async fn set_value(client: &kube::Client, ns: &str, name: &str, key: &str, value: &str) {
    let patch = json!({"stringData": {key: value}});
    Api::<Secret>::namespaced(client.clone(), ns).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

#[tokio::test]
async fn drifted_keys_are_refused_and_rotate_keys_replaces_them_and_every_copy() {
    let _guard = lock();
    let client = client().await;
    remove(&["spark", "object-storage"]);
    run(&["add-phase", "spark", "--with-deps", "--no-verify"]).expect(0);

    // A copy that differs from its source: verify and every add-phase refuse, naming both.
    set_value(&client, "spark", "s3-spark", "secret-key", "stale").await;
    for args in [&["verify"][..], &["add-phase", "object-storage", "--no-verify"]] {
        let out = run(args).expect(3);
        assert!(
            out.stderr.contains("Secret spark/s3-spark (phase spark) differs from object-storage/s3-spark")
                && out.stderr.contains("bigtop-k8s rotate-keys spark"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Adding the phase that holds the copy copies it again.
    run(&["add-phase", "spark", "--no-verify"]).expect(0);
    assert_eq!(data(&client, "spark", "s3-spark").await, data(&client, "object-storage", "s3-spark").await);

    // A key changed by hand no longer matches what the server was given.
    set_value(&client, "object-storage", "s3-cleaner", "secret-key", "typed-by-hand").await;
    let out = run(&["add-phase", "object-storage", "--no-verify"]).expect(3);
    assert!(out.stderr.contains("Secret object-storage/s3-cleaner (phase object-storage) was changed"), "{}", out.stderr);
    assert!(out.stderr.contains("rotate-keys cleaner"), "{}", out.stderr);

    // A key Secret deleted: refused, and nothing is regenerated behind the server's back.
    let secrets = Api::<Secret>::namespaced(client.clone(), "object-storage");
    secrets.delete("s3-spark", &DeleteParams::default()).await.unwrap();
    let out = run(&["add-phase", "object-storage", "--no-verify"]).expect(3);
    assert!(out.stderr.contains("Secret object-storage/s3-spark (phase object-storage) is missing"), "{}", out.stderr);
    assert!(out.stderr.contains("rotate-keys cleaner spark"), "{}", out.stderr);
    assert!(data(&client, "object-storage", "s3-spark").await.is_none(), "add-phase regenerated the deleted key");

    // Rotation: new keys in the sources and the copy, setup run again as a new Job, recorded.
    let (jobs_before, sql_before) = (setup_jobs(&client).await, data(&client, "object-storage", "s3-sql").await);
    let out = run(&["rotate-keys", "spark", "cleaner", "--no-verify"]).expect(0);
    assert!(out.stdout.contains("spark: new key") && out.stdout.contains("(copies spark/s3-spark)"), "{}", out.stdout);
    assert!(out.stdout.contains("cleaner: new key") && out.stdout.contains("(no copies)"), "{}", out.stdout);
    let spark = data(&client, "object-storage", "s3-spark").await.expect("a new spark key");
    assert_eq!(Some(spark.clone()), data(&client, "spark", "s3-spark").await);
    assert_eq!(spark["access-key"].0.len(), 20);
    assert_eq!(data(&client, "object-storage", "s3-sql").await, sql_before, "an unnamed service keeps its key");
    let jobs_after = setup_jobs(&client).await;
    assert!(jobs_after.len() == 1 && jobs_after != jobs_before, "{jobs_before:?} → {jobs_after:?}");
    let status: serde_json::Value = serde_json::from_str(&run(&["status", "-o", "json"]).expect(0).stdout).unwrap();
    let rotated = &status["object-storage"]["rotated"];
    assert!(rotated["s3-spark"].is_string() && rotated["s3-cleaner"].is_string() && rotated["s3-sql"].is_null(), "{rotated}");

    // Nothing has drifted any more: re-applying changes nothing and is not refused.
    run(&["add-phase", "object-storage", "spark", "--no-verify"]).expect(0);
    assert_eq!(setup_jobs(&client).await, jobs_after);

    let out = run(&["rotate-keys", "hdfs"]).expect(2);
    assert!(out.stderr.contains("the lake has no service hdfs") && out.stderr.contains("sql, spark, cleaner, streaming"), "{}", out.stderr);
    remove(&["spark", "object-storage"]);
    let out = run(&["rotate-keys"]).expect(3);
    assert!(
        out.stderr.contains("no installed phase provides the lake") && out.stderr.contains("add-phase object-storage"),
        "{}",
        out.stderr
    );
}
