//! R2: the notebooks phase's configuration against a real Jupyter server. JupyterLab,
//! jupyter-server and ipykernel from PyPI (`tests/env/build-jupyter.sh`) run with the rendered
//! container's arguments and token; the kernel's PySpark (local mode) gets what the pod's
//! prepare step writes — the spark phase's rendered spark-defaults.conf followed by the rendered
//! client settings and the driver's address — against a real MinIO with the spark key. The
//! checkpoint's client (REST and the kernel protocol) runs the rendered cell and reads the parquet
//! the spark phase's own checkpoint job wrote. Only what cannot be the same off-cluster differs:
//! the master (local), the S3 endpoint, the jar directories, the address and port the server
//! binds, its notebook directory.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bigtop_k8s::checkpoint::notebook::roundtrip;
use common::servers::*;
use common::spark::{Local, local_conf, spark_root, submit};

fn jupyter_root() -> PathBuf {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_JUPYTER_ROOT").expect("BIGTOP_R2_JUPYTER_ROOT (set by tests/env/test.sh)"));
    assert!(root.join("venv/bin/jupyter-lab").exists(), "JupyterLab missing: run `bash tests/env/build-jupyter.sh`");
    root
}

/// The rendered jupyter objects, their notebook-conf data and the JupyterLab server started the
/// way the pod starts it (arguments, token from the rendered Secret), on loopback.
struct Lab {
    _server: Server,
    _dir: tempfile::TempDir,
    url: String,
    token: String,
    cell: String,
    notebook: String,
}

fn start_lab(lake: &Minio) -> Lab {
    let objects = render("jupyter", &[]);
    let data = &find(&objects, "ConfigMap", "notebook-conf")["data"];
    let dir = tempfile::tempdir().unwrap();
    // What prepare.sh writes: the spark phase's settings, then the client settings, then the address.
    let root = spark_root();
    let spark = local_conf(&[], &Local { endpoint: &lake.endpoint, metastore: None }, &root.join("jars").display().to_string());
    let client = data["client.conf"].as_str().unwrap();
    assert!(client.contains("spark.submit.deployMode                                 client"), "{client}");
    let conf = format!("{spark}{client}spark.driver.host 127.0.0.1\nspark.master local[2]\nspark.ui.enabled false\n");
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/spark-defaults.conf"), conf).unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();

    let deployment = find(&objects, "Deployment", "jupyter");
    let args = container_args(deployment);
    assert_eq!(args[..2], ["jupyter", "lab"], "{args:?}");
    let port = free_port();
    let mut cmd = Command::new(jupyter_root().join("venv/bin/jupyter-lab"));
    for arg in &args[2..] {
        let arg = match arg.split_once('=') {
            Some(("--ServerApp.ip", _)) => "--ServerApp.ip=127.0.0.1".to_string(),
            Some(("--ServerApp.port", _)) => format!("--ServerApp.port={port}"),
            Some(("--ServerApp.root_dir", _)) => format!("--ServerApp.root_dir={}", dir.path().join("work").display()),
            _ => arg.clone(),
        };
        cmd.arg(arg);
    }
    // The tests run as root, the pod as the image's user: the server refuses root unless told.
    cmd.arg("--ServerApp.allow_root=True");
    let token = secret_value(&objects, "notebook-token", "token");
    let key = lake.key("spark");
    let site = std::fs::read_dir(root.join("venv/lib")).unwrap().next().unwrap().unwrap().path().join("site-packages");
    cmd.env("JUPYTER_TOKEN", &token)
        .env("SPARK_CONF_DIR", dir.path().join("conf"))
        .env("AWS_ACCESS_KEY_ID", &key.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &key.secret_key)
        // The image's before-notebook hook puts Spark's Python on the path; here pyspark's venv.
        .env("PYTHONPATH", site)
        .env("PYSPARK_PYTHON", root.join("venv/bin/python"))
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("HOME", dir.path())
        .env_remove("SPARK_HOME");
    let server = Server::start(cmd, &dir.path().join("jupyter.log"));
    let url = format!("http://127.0.0.1:{port}");
    // The pod's readiness probe: /api answers without the token.
    server.await_http(&format!("{url}/api"));
    let cell = data["checkpoint.py"].as_str().unwrap().to_string();
    let notebook = data["lakehouse.ipynb"].as_str().unwrap().to_string();
    Lab { _server: server, _dir: dir, url, token, cell, notebook }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checkpoint_cell_reads_the_spark_checkpoints_parquet_through_a_real_jupyter_kernel() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let lab = start_lab(&lake);
    let deadline = Duration::from_secs(300);

    // Before the spark checkpoint has written anything, the cell says what to run first.
    let err = roundtrip(&lab.url, &lab.token, &lab.cell, None, deadline).await.unwrap_err().to_string();
    assert!(err.contains("bigtop-k8s verify spark"), "{err}");

    let path = "s3a://warehouse/bigtop-checkpoint/spark-2026-12-03T03-00-00Z";
    let (code, out, err) = submit(&[], &Local { endpoint: &lake.endpoint, metastore: None }, &lake.key("spark"), &[path], &[]);
    assert_eq!(code, 0, "the spark checkpoint job failed\n{out}\n{err}");
    let evidence = roundtrip(&lab.url, &lab.token, &lab.cell, None, deadline).await.unwrap();
    assert_eq!((evidence["rows"].as_u64(), evidence["sum"].as_u64()), (Some(1000), Some(332_833_500)), "{evidence:?}");
    assert_eq!(evidence["path"], path);
    assert_eq!(evidence["spark"], "4.0.1");
    assert!(evidence["jupyterServer"].as_str().is_some_and(|v| v.starts_with("2.")), "{evidence:?}");

    // The sample notebook's cells run in one kernel, in order, except the metastore's (this
    // lake has none; R3 runs it with one).
    let jupyter = bigtop_k8s::jupyter::Jupyter::new(&lab.url, &lab.token).unwrap();
    let kernel = jupyter.start_kernel("python3").await.unwrap();
    let mut printed = String::new();
    for cell in common::notebook_code_cells(&lab.notebook).iter().filter(|c| !c.contains("bigtop_checkpoint")) {
        let ran = jupyter.execute(&kernel, cell, deadline).await.unwrap();
        assert!(ran.error.is_none(), "the sample notebook's cell\n{cell}\nraised {:?}", ran.error);
        printed.push_str(&ran.stdout);
    }
    jupyter.delete_kernel(&kernel).await.unwrap();
    assert!(printed.contains("|1000|332833500|"), "the sample notebook did not show the checkpoint's rows:\n{printed}");

    // A wrong token is named as such; a cell that raises is reported with its exception.
    let err = roundtrip(&lab.url, "not-the-token", &lab.cell, None, deadline).await.unwrap_err().to_string();
    assert!(err.contains("refused the token"), "{err}");
    let broken = "def checkpoint(table):\n    raise ValueError('the lake is gone')\n";
    let err = roundtrip(&lab.url, &lab.token, broken, None, deadline).await.unwrap_err().to_string();
    assert!(err.contains("raised ValueError: the lake is gone"), "{err}");
}
