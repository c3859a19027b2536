//! End to end (rung R4), opt-in: the notebooks phase with Zeppelin on a real Kind cluster with
//! internet access. `up` installs the default stack; `add-phase spark notebooks` moves Spark to
//! 3.5.7 (Zeppelin's image runs Java 11) and installs Zeppelin 0.12.1, whose checkpoint logs in
//! as the generated user, creates a note, runs a `%spark.pyspark` paragraph reading the spark
//! checkpoint's parquet through an executor pod, deletes the note and restarts the interpreter;
//! then `verify notebooks`, `endpoints`, `remove-phase notebooks`, and the cluster is deleted.
//!
//! Run: `BIGTOP_E2E=1 cargo test --test e2e_zeppelin -- --ignored --nocapture` (about 15-25
//! min: the Zeppelin image is ~2.7 GB). It cannot run on the project's build machines (no
//! container registry, and no registry serves Zeppelin 0.12); the CI workflow in
//! .github/workflows/e2e.yml runs it.

#[path = "support.rs"]
mod support;

use support::{bigtop, steps_or_delete};

#[test]
#[ignore = "needs Docker and internet: BIGTOP_E2E=1 cargo test --test e2e_zeppelin -- --ignored"]
fn zeppelin_runs_the_notebook_checkpoint_on_spark_3_on_a_real_kind_cluster() {
    assert!(std::env::var_os("BIGTOP_E2E").is_some(), "set BIGTOP_E2E=1 on a machine with Docker and internet");
    let name = "bigtop-e2e-zeppelin";
    steps_or_delete(
        name,
        &[
            &["up", "--name", name, "--workers", "1", "--timeout", "600"],
            &["add-phase", "spark", "notebooks", "--set", "spark.version=3.5.7", "--set", "notebooks.engine=zeppelin", "--timeout", "1200"],
        ],
    );
    let (code, out, _) = bigtop(&["verify", "notebooks", "-o", "json"]);
    let verified: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let evidence = &verified[0]["checkpoint"]["evidence"];
    let (_, endpoints, _) = bigtop(&["endpoints"]);
    let (removed, _, _) = bigtop(&["remove-phase", "notebooks"]);
    let (deleted, _, _) = bigtop(&["delete-cluster", "--name", name]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(verified[0]["checkpoint"]["passed"], true, "{verified}");
    assert_eq!((evidence["rows"].as_u64(), evidence["sum"].as_u64()), (Some(1000), Some(332_833_500)), "{evidence}");
    assert_eq!(evidence["zeppelinServer"], "0.12.1", "{evidence}");
    assert!(evidence["master"].as_str().is_some_and(|m| m.starts_with("k8s://")), "{evidence}");
    assert!(endpoints.contains("zeppelin/ui"), "{endpoints}");
    assert_eq!((removed, deleted), (0, 0));
}
