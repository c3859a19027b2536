//! R2: the sql phase's pieces that run off-cluster — the metastore pods' init step under BusyBox
//! against a loopback Maven repository, and the floor benchmark. The sql servers themselves
//! (PostgreSQL, Hive Metastore, Trino or Presto started with the rendered files) are checked by
//! `common::sql_checks`, which `r1_sql` runs on the servers it starts behind its port-forwards:
//! one start of those JVMs serves both rungs.

mod common;

use bigtop_k8s::checkpoint::sql::roundtrip;
use bigtop_k8s::sql::Engine;
use common::fetcher::Fetcher;
use common::servers::render;
use common::sql_servers::*;

/// The metastore pod's init step, run by BusyBox (the fetcher image) against a loopback Maven
/// repository serving the cached jars: it fetches the JDBC driver and S3A, checks sha256, does
/// nothing when they are there, and refuses bytes that do not match the pin.
#[test]
fn the_metastore_init_step_fetches_the_pinned_jars_and_refuses_other_bytes() {
    const POD_DIR: &str = "/opt/bigtop/jars";
    let cached = sql_cache().join("hms-4.0.1/classpath");
    let fetcher = Fetcher::start();
    let objects = render("hive-metastore", &[("sql.maven-repository", fetcher.maven.as_str())]);
    let script = config_file(&objects, "hive-metastore-conf", "fetch-jars.sh");
    let pins = Fetcher::pins(&script);
    assert_eq!(pins.len(), 3, "the JDBC driver and S3A (2):\n{script}");
    for pin in &pins {
        fetcher.serve(pin, &cached.join(&pin.name));
    }
    let pod = fetcher.node("pod");
    let out = fetcher.run(&script, POD_DIR, &pod, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(pins.iter().all(|p| pod.join(&p.name).exists()));
    assert!(fetcher.run(&script, POD_DIR, &pod, &[]).status.success());
    assert_eq!(fetcher.gets(), 3, "a restarted init container downloads nothing");
    fetcher.tamper(&pins[0]);
    let fresh = fetcher.node("fresh-pod");
    let out = fetcher.run(&script, POD_DIR, &fresh, &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains(&format!("sha256 mismatch for {}", pins[0].name)));
    assert!(std::fs::read_dir(&fresh).unwrap().next().is_none(), "nothing is kept");
}

/// The floor for `tests/bench/r3.sh` (a benchmark, not run by CI): on a lake already set up,
/// the seconds from starting PostgreSQL, the metastore and the engine by hand, with the rendered
/// configuration, to the sql checkpoint passed — what `add-phase sql` does on R3, minus
/// Kubernetes. `cargo test --test r2_sql -- --ignored --nocapture floor`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: tests/bench/r3.sh runs it"]
async fn floor_from_start_to_checkpoint() {
    for engine in [Engine::Trino, Engine::Presto] {
        let lake = common::servers::Minio::start(render("minio", &[]));
        lake.setup();
        let started = std::time::Instant::now();
        let stack = SqlStack::on_lake(lake, &SqlStack::rendered(engine), engine);
        roundtrip(&stack.target(engine)).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
        println!("BENCH floor sql ({}): {:.1} s", engine.name(), started.elapsed().as_secs_f64());
    }
}
