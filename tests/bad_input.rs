//! R0: bad input that needs no cluster, table-driven: each case's exit code, the message that
//! names the problem, and a `hint:` with the next step. (Cases that need a cluster are in
//! `r1_bad_input.rs`.)

use std::process::Command;

struct Case {
    args: &'static [&'static str],
    exit: i32,
    says: &'static str,
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", home.path())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn bad_values_are_refused_with_their_reason_and_a_hint() {
    let empty = tempfile::tempdir().unwrap();
    let empty_dir = empty.path().to_str().unwrap().to_string();
    let cases = [
        Case {
            args: &["render", "object-storage", "--set", "object-storage.raw-bucket=warehouse"],
            exit: 2,
            says: "both name bucket warehouse",
        },
        Case { args: &["render", "object-storage", "--set", "minio.cpu=512Mi"], exit: 2, says: "not in the right unit" },
        Case { args: &["render", "object-storage", "--set", "minio.memory=500m"], exit: 2, says: "not in the right unit" },
        Case { args: &["render", "object-storage", "--set", "minio.memory=0"], exit: 2, says: "greater than zero" },
        Case { args: &["render", "object-storage", "--set", "minio.storage=0Gi"], exit: 2, says: "greater than zero" },
        Case { args: &["render", "spark", "--set", "spark.cores=1Gi"], exit: 2, says: "not in the right unit" },
        Case { args: &["add-phase", "base", "--catalog-dir", "EMPTY"], exit: 2, says: "no phases.yaml and no <addon>/addon.yaml" },
        Case { args: &["add-phaze", "sql"], exit: 2, says: "unrecognized subcommand 'add-phaze'" },
        Case { args: &["add-phase", "sql", "--with-dep"], exit: 2, says: "unexpected argument '--with-dep'" },
        Case { args: &["status", "--timeout", "soon"], exit: 2, says: "invalid value 'soon'" },
        Case { args: &["up", "--phases", "sql,lakehouse"], exit: 2, says: "unknown phase lakehouse" },
        Case { args: &["spark", "submit", "/nonexistent/job.py"], exit: 2, says: "cannot read /nonexistent/job.py" },
        Case { args: &["spark", "submit", "Cargo.toml"], exit: 2, says: "unsupported file type" },
        Case { args: &["render", "sql", "--set", "sql.engine=mysql"], exit: 2, says: "expected one of: presto, trino" },
        Case { args: &["render", "sql", "--set", "trino.heap-mib=512"], exit: 2, says: "must be between 1024 and 262144" },
        Case { args: &["render", "sql", "--set", "trino.catalog-properties=hive.s3.endpoint=x"], exit: 2, says: "Trino 458 removed" },
        Case { args: &["render", "spark", "--set", "spark.driver-memory=100m"], exit: 2, says: "below the 450 MiB" },
        Case { args: &["render", "spark", "--set", "spark.maven-repository=http://mirror/"], exit: 2, says: "spark.maven-repository" },
        Case { args: &["render", "object-storage", "--set", "object-storage.warehouse-bucket=Bad_Name"], exit: 2, says: "not a valid S3" },
        Case { args: &["render", "base", "--set", "base.cni=weave"], exit: 2, says: "expected one of: canal, none" },
        Case { args: &["render", "sql", "--set", "unknown.param=1"], exit: 2, says: "unknown parameter unknown.param" },
        Case { args: &["render", "sql", "-f", "/nonexistent/bigtop.yaml"], exit: 2, says: "cannot read /nonexistent/bigtop.yaml" },
        Case { args: &["completions", "tcsh"], exit: 2, says: "invalid value 'tcsh'" },
        Case { args: &["sql", ""], exit: 2, says: "no statement given" },
        // Every command, each class of mistake (the files are written below).
        Case { args: &["create-cluster", "--provider", "gke"], exit: 2, says: "invalid value 'gke' for '--provider" },
        Case { args: &["create-cluster", "--workers", "many"], exit: 2, says: "invalid value 'many' for '--workers" },
        Case { args: &["create-cluster", "--workers", "-1"], exit: 2, says: "unexpected argument '-1'" },
        Case { args: &["create-cluster", "--port", "80"], exit: 2, says: "expected HOST:CONTAINER" },
        Case { args: &["create-cluster", "--port", "a:b"], exit: 2, says: "\"a\" is not a port number" },
        Case { args: &["create-cluster", "--kubernetes-version", "1.2"], exit: 2, says: "no kind node image for Kubernetes 1.2" },
        Case { args: &["create-cluster", "--spark-nodes", "9", "--workers", "1"], exit: 2, says: "Spark nodes are workers" },
        Case { args: &["create-cluster", "--provider", "capi", "--infrastructure", "gcp"], exit: 2, says: "invalid value 'gcp'" },
        Case { args: &["create-cluster", "--provider", "capi", "--var", "NOEQUALS"], exit: 2, says: "is not NAME=VALUE" },
        Case { args: &["delete-cluster", "--provider", "gke"], exit: 2, says: "invalid value 'gke'" },
        Case { args: &["phases", "--profile", "huge"], exit: 2, says: "invalid value 'huge' for '--profile" },
        Case { args: &["images", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["images", "sql", "--set", "sql.engine=mysql"], exit: 2, says: "expected one of: presto, trino" },
        Case { args: &["render", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["render"], exit: 2, says: "no phase named" },
        Case { args: &["add-phase"], exit: 2, says: "no phase named" },
        Case { args: &["add-phase", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["add-phase", "sql", "--set", "trino.heap-mib=lots"], exit: 2, says: "expected an integer" },
        Case { args: &["remove-phase"], exit: 2, says: "no phase named" },
        Case { args: &["remove-phase", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["verify", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["rotate-keys", "hdfs"], exit: 2, says: "the lake has no service hdfs" },
        Case { args: &["spark", "submit"], exit: 2, says: "required arguments were not provided" },
        Case {
            args: &["spark", "submit", "tests/fixtures/spark/wordcount.py", "--executors", "0"],
            exit: 2,
            says: "at least one executor",
        },
        Case { args: &["spark", "submit", "tests/fixtures/spark/wordcount.py", "--driver-memory", "lots"], exit: 2, says: "512m or 2g" },
        Case { args: &["spark", "submit", "tests/fixtures/spark/wordcount.py", "--executor-memory", "1x"], exit: 2, says: "512m or 2g" },
        Case { args: &["spark", "launch"], exit: 2, says: "unrecognized subcommand 'launch'" },
        Case { args: &["sql"], exit: 2, says: "required arguments were not provided" },
        Case { args: &["endpoints", "--forwrd"], exit: 2, says: "a similar argument exists: '--forward'" },
        Case { args: &["status", "extra"], exit: 2, says: "unexpected argument 'extra'" },
        Case { args: &["doctor", "--profile", "huge"], exit: 2, says: "invalid value 'huge'" },
        Case { args: &["man", "extra"], exit: 2, says: "unexpected argument 'extra'" },
        Case { args: &["--output", "xml", "status"], exit: 2, says: "invalid value 'xml' for '--output" },
        Case { args: &["status", "--context"], exit: 2, says: "a value is required for '--context" },
        Case { args: &["render", "sql", "-f", "MALFORMED"], exit: 2, says: "unclosed bracket" },
        Case { args: &["render", "sql", "-f", "UNKNOWN_KEY"], exit: 2, says: "unknown field `phasez`" },
        Case { args: &["render", "sql", "-f", "BAD_PROFILE"], exit: 2, says: "unknown variant `huge`" },
        Case { args: &["render", "sql", "-f", "BAD_PARAMETER"], exit: 2, says: "invalid value 12 for trino.heap-mib" },
        Case { args: &["render", "sql", "--set", "=x"], exit: 2, says: "--set expects key=value" },
        Case { args: &["render", "sql", "--set", "sql.maven-repository=ftp://x"], exit: 2, says: "expected an http:// or https:// URL" },
        Case { args: &["render", "object-storage", "--set", "minio.cpu=-1"], exit: 2, says: "expected CPU such as 250m" },
        Case { args: &["render", "object-storage", "--set", "minio.memory=-1Gi"], exit: 2, says: "expected memory such as 256Mi" },
        Case { args: &["render", "spark", "--set", "spark.version=2.4.8"], exit: 2, says: "expected one of: 4.0.1, 3.5.7" },
        Case { args: &["render", "spark", "--set", "spark.executors=0"], exit: 2, says: "must be between 1 and 100" },
        Case { args: &["render", "spark", "--set", "spark.node-pool=gpu"], exit: 2, says: "expected one of: shared, dedicated" },
        Case { args: &["render", "sql", "--set", "postgres.storage=lots"], exit: 2, says: "expected a quantity" },
        Case { args: &["render", "streaming", "--set", "kafka.nodes=0"], exit: 2, says: "must be between 1 and 9" },
        Case { args: &["kafka", "produce", "no spaces", "-"], exit: 2, says: "is not a Kafka topic name" },
        Case { args: &["kafka", "produce", "events", "/nonexistent/records"], exit: 2, says: "cannot read /nonexistent/records" },
        Case { args: &["kafka", "consume", "events", "--max", "0"], exit: 2, says: "--max and --idle-seconds must be at least 1" },
        Case { args: &["up", "--profile", "huge"], exit: 2, says: "invalid value 'huge'" },
        Case { args: &["up", "--phases", "warp-drive"], exit: 2, says: "unknown phase warp-drive" },
        Case { args: &["--catalog-dir", "/nonexistent", "render", "sql"], exit: 2, says: "cannot read catalog file /nonexistent" },
        Case { args: &["verify"], exit: 3, says: "no kubeconfig" },
        Case { args: &["rotate-keys"], exit: 3, says: "no kubeconfig" },
        Case { args: &["endpoints"], exit: 3, says: "no kubeconfig" },
        Case { args: &["status", "--kubeconfig", "/nonexistent/kc"], exit: 3, says: "/nonexistent/kc does not exist" },
    ];
    let files = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let placeholders = [
        ("EMPTY", empty_dir.clone()),
        ("MALFORMED", file("malformed.yaml", "profile: laptop\nphases: [sql\n")),
        ("UNKNOWN_KEY", file("unknown.yaml", "profile: laptop\nphasez: [sql]\n")),
        ("BAD_PROFILE", file("profile.yaml", "profile: huge\n")),
        ("BAD_PARAMETER", file("parameter.yaml", "parameters:\n  trino.heap-mib: 12\n")),
    ];
    assert!(cases.len() >= 60, "at least 60 bad inputs, across every command");
    for case in cases {
        let args: Vec<&str> =
            case.args.iter().map(|a| placeholders.iter().find(|(p, _)| p == a).map(|(_, v)| v.as_str()).unwrap_or(a)).collect();
        let (code, out) = run(&args, &[]);
        assert_eq!(code, Some(case.exit), "{}: {out}", args.join(" "));
        assert!(out.contains(case.says) && out.contains("hint: "), "{}: {out}", args.join(" "));
    }
}

#[test]
fn an_empty_kubeconfig_variable_means_unset_as_for_kubectl() {
    let (code, out) = run(&["status"], &[("KUBECONFIG", "")]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("no kubeconfig") && out.contains("hint: "), "{out}");
}

#[test]
fn doctor_fails_when_nothing_can_be_installed() {
    // No Docker and no kubeconfig: each alone is a warning, both mean nothing can be installed.
    let (code, out) = run(&["doctor"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("nothing can be installed") && out.contains("bigtop-k8s up"), "{out}");
}

#[test]
fn a_kubeconfig_list_is_merged_as_kubectl_does() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("empty");
    let second = dir.path().join("loopback");
    std::fs::write(&first, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n").unwrap();
    let config = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n\
                  users: [{name: u, user: {token: x}}]\ncontexts: [{name: k, context: {cluster: c, user: u}}]\ncurrent-context: k\n";
    std::fs::write(&second, config).unwrap();
    let missing = dir.path().join("missing");
    let list = std::env::join_paths([&first, &missing, &second]).unwrap();
    // The merged config's context is the second file's: its (closed) loopback server is dialled.
    let (code, out) = run(&["status"], &[("KUBECONFIG", list.to_str().unwrap())]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("cannot reach the Kubernetes API at https://127.0.0.1:1") && out.contains("hint: "), "{out}");
    let none = std::env::join_paths([&missing, &dir.path().join("also-missing")]).unwrap();
    let (code, out) = run(&["status"], &[("KUBECONFIG", none.to_str().unwrap())]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("none of the files in") && out.contains("hint: "), "{out}");
}

#[test]
fn the_timeout_bounds_the_first_connection() {
    // A loopback server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let server = format!("https://{}", silent.local_addr().unwrap());
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{server}\"}}}}]\n\
         users: [{{name: u, user: {{token: x}}}}]\ncontexts: [{{name: k, context: {{cluster: c, user: u}}}}]\ncurrent-context: k\n"
    );
    std::fs::write(&kubeconfig, config).unwrap();
    let (code, out) = run(&["status", "--timeout", "2", "--kubeconfig", kubeconfig.to_str().unwrap()], &[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("no answer within 2s") && out.contains("hint: "), "{out}");
    drop(silent);
}

/// The line in which `up` says what it installs.
fn plan_line(out: &str) -> &str {
    out.lines().find(|l| l.contains("installing ")).unwrap_or_else(|| panic!("no plan shown:\n{out}"))
}

#[test]
fn up_says_what_it_installs_and_requests_before_it_needs_docker() {
    let docker_down = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    // The lakehouse by default, at the laptop profile.
    let (code, out) = run(&["up", "--profile", "laptop"], &docker_down);
    assert_eq!(code, Some(3), "{out}");
    let line = plan_line(&out);
    for phase in ["object-storage", "base", "spark", "sql"] {
        assert!(line.contains(phase), "{line}");
    }
    assert!(line.contains("at profile laptop: requests ") && line.contains("budget: 6Gi memory"), "{line}");
    assert!(out.contains("Docker is needed") && out.contains("hint: "), "{out}");
    // --phases chooses; dependencies come along.
    let (_, out) = run(&["up", "--phases", "sql"], &docker_down);
    let line = plan_line(&out);
    assert!(line.contains("sql") && line.contains("object-storage") && !line.contains("spark"), "{line}");
    // -f: the file's phases and profile; a malformed file is bad input before Docker is asked.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bigtop.yaml");
    std::fs::write(&file, "profile: ci\nphases: [spark]\n").unwrap();
    let (_, out) = run(&["up", "-f", file.to_str().unwrap()], &docker_down);
    let line = plan_line(&out);
    assert!(line.contains("spark") && line.contains("object-storage") && !line.contains("sql") && line.contains("profile ci"), "{line}");
    std::fs::write(&file, "phases: [spark\n").unwrap();
    let (code, out) = run(&["up", "-f", file.to_str().unwrap()], &docker_down);
    assert_eq!(code, Some(2), "{out}");
    assert!(!out.contains("Docker"), "{out}");
}
