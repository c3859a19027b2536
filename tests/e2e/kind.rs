//! End to end (rung R4), opt-in: a real Kind cluster on Docker with internet access. `up`
//! creates it, installs base (Canal + OpenEBS) and object-storage, and runs their checkpoints
//! (PVC write/read, NetworkPolicy enforcement, S3 round trip through a port-forward); then
//! `verify`, `status`, `endpoints`, and `delete-cluster`.
//!
//! Run: `BIGTOP_E2E=1 cargo test --test e2e_kind -- --ignored --nocapture` (about 5-10 min).
//! It cannot run on the project's build machines (no container registry); the CI workflow in
//! .github/workflows/e2e.yml runs it.

#[path = "support.rs"]
#[allow(dead_code)] // this test checks what `up` printed, so it runs its steps itself
mod support;

use support::bigtop;

#[test]
#[ignore = "needs Docker and internet: BIGTOP_E2E=1 cargo test --test e2e_kind -- --ignored"]
fn up_verifies_every_default_phase_on_a_real_kind_cluster_then_deletes_it() {
    assert!(std::env::var_os("BIGTOP_E2E").is_some(), "set BIGTOP_E2E=1 on a machine with Docker and internet");
    let name = "bigtop-e2e";
    let (code, out, _) = bigtop(&["up", "--name", name, "--workers", "1", "--timeout", "600"]);
    let cleanup = || bigtop(&["delete-cluster", "--name", name]);
    if code != 0 {
        cleanup();
        panic!("up failed with exit code {code}");
    }
    assert!(out.contains("base: canal, openebs") && out.contains("object-storage: minio"), "{out}");
    assert!(out.contains("sql: postgres, hive-metastore, trino") && out.contains("spark: spark-k8s"), "{out}");
    let (code, out, _) = bigtop(&["verify", "-o", "json"]);
    assert_eq!(code, 0, "{out}");
    let verified: serde_json::Value = serde_json::from_str(&out).unwrap();
    for phase in verified.as_array().unwrap() {
        assert_eq!(phase["checkpoint"]["passed"], true, "{phase}");
    }
    let (_, endpoints, _) = bigtop(&["endpoints"]);
    assert!(endpoints.contains("minio/s3"), "{endpoints}");
    let (code, out, _) = cleanup();
    assert_eq!(code, 0);
    assert!(out.contains(&format!("deleted kind cluster {name}")), "{out}");
    let (_, again, _) = cleanup();
    assert!(again.contains(&format!("no kind cluster {name} to delete")), "{again}");
}
