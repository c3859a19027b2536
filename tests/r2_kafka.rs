//! R2: a real Kafka 4.1.1 (broker and controller in one JVM, KRaft) started by the streaming
//! phase's own start.sh with its own server.properties — only the listeners, the voter's address
//! and the log directory moved to loopback and a temp dir — then the phase's own checkpoint.sh
//! against it: 1,000 records to a topic and back, sha256 equal, on the cluster's listener and on
//! the one a port-forward serves. The image's bin/*.sh scripts are
//! the R3 look-alike's stand-ins (tests/env/images/scripts/kafka-run.sh), which run the same
//! classes from Maven Central's jars (build-kafka.sh): Maven has no Kafka distribution.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::kafka::{SCRIPTS, install_tools};
use common::servers::{Server, await_tcp, free_port, render};
use common::sql_servers::config_file;
use serde_json::Value;

/// server.properties with `moved` keys replaced; panics if one is gone (then this test would no
/// longer run the shipped file).
fn moved(properties: &str, moved: &[(&str, String)]) -> String {
    let mut seen = 0;
    let lines: Vec<String> = properties
        .lines()
        .map(|l| match moved.iter().find(|(k, _)| l.split_once('=').map(|(key, _)| key) == Some(k)) {
            Some((k, v)) => {
                seen += 1;
                format!("{k}={v}")
            }
            None => l.to_string(),
        })
        .collect();
    assert_eq!(seen, moved.len(), "a moved setting is not in the rendered server.properties:\n{properties}");
    lines.join("\n") + "\n"
}

struct Kafka {
    dir: tempfile::TempDir,
    port: u16,
    controller: u16,
    /// The EXTERNAL listener's, which a port-forward serves on a user's machine.
    external: u16,
    /// The rendered objects: start.sh, server.properties and checkpoint.sh come from them.
    objects: Vec<Value>,
}

impl Kafka {
    fn new() -> Kafka {
        let dir = tempfile::tempdir().unwrap();
        install_tools(dir.path());
        for d in ["conf", "work", "data", "client"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Kafka { dir, port: free_port(), controller: free_port(), external: free_port(), objects: render("kafka", &[]) }
    }

    /// A file of the rendered kafka-conf ConfigMap.
    fn conf(&self, key: &str) -> String {
        config_file(&self.objects, "kafka-conf", key)
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// The phase's start.sh with the node's identity as the pod gives it.
    fn start(&self) -> Server {
        let properties = moved(
            &self.conf("server.properties"),
            &[
                (
                    "listeners",
                    format!(
                        "PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{},EXTERNAL://127.0.0.1:{}",
                        self.port, self.controller, self.external
                    ),
                ),
                ("controller.quorum.voters", format!("0@127.0.0.1:{}", self.controller)),
                ("log.dirs", self.path("data").display().to_string()),
            ],
        );
        std::fs::write(self.path("conf/server.properties"), properties).unwrap();
        std::fs::write(self.path("start.sh"), self.conf("start.sh")).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(self.path("start.sh"))
            .env("KAFKA_BIN", self.path("bin"))
            .env("WORK_DIR", self.path("work"))
            .env("CONFIG", self.path("conf/server.properties"))
            .env("NODE_ID", "0")
            .env("NODE_HOST", "127.0.0.1")
            .env("CLIENT_PORT", self.port.to_string())
            .env("EXTERNAL_PORT", self.external.to_string())
            .env("CLUSTER_ID", "bigtopR2kafkaCluster01")
            .env("KAFKA_HEAP_OPTS", "-Xmx512m");
        let server = Server::start(cmd, &self.path("server.log"));
        await_tcp(&server, self.port);
        server
    }

    /// The phase's checkpoint.sh against `bootstrap` with the scripts of `bin`: its exit
    /// status and output.
    fn checkpoint(&self, bootstrap: &str, bin: &Path) -> (bool, String) {
        std::fs::write(self.path("checkpoint.sh"), self.conf("checkpoint.sh")).unwrap();
        let out = Command::new("bash")
            .arg(self.path("checkpoint.sh"))
            .env("KAFKA_BIN", bin)
            .env("WORK_DIR", self.path("client"))
            .env("BOOTSTRAP", bootstrap)
            .env("KAFKA_HEAP_OPTS", "-Xmx128m")
            .output()
            .unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn evidence(output: &str) -> Value {
    let line =
        output.lines().rev().find_map(|l| l.strip_prefix("BIGTOP_CHECKPOINT ")).unwrap_or_else(|| panic!("no evidence line:\n{output}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn kafka_starts_as_rendered_and_the_checkpoint_passes_catches_a_lost_record_and_survives_a_restart_on_both_listeners() {
    let kafka = Kafka::new();
    let server = kafka.start();
    let bootstrap = format!("127.0.0.1:{}", kafka.port);
    let bin = kafka.path("bin");
    let (ok, out) = kafka.checkpoint(&bootstrap, &bin);
    assert!(ok, "the checkpoint failed:\n{out}\nserver log:\n{}", std::fs::read_to_string(&server.log).unwrap_or_default());
    let ev = evidence(&out);
    assert_eq!(ev["records"], 1000, "{out}");
    assert_eq!(ev["sent"], ev["received"], "{out}");
    assert_eq!(ev["sent"].as_str().map(str::len), Some(64), "{out}");

    // A consumer that loses one record: the script must exit non-zero, both hashes printed.
    let lossy = kafka.path("lossy");
    std::fs::create_dir_all(&lossy).unwrap();
    for script in SCRIPTS.iter().filter(|s| **s != "kafka-console-consumer.sh") {
        std::os::unix::fs::symlink(bin.join(script), lossy.join(script)).unwrap();
    }
    let consumer = format!("#!/bin/sh\n'{}' \"$@\" | sed 1d\n", bin.join("kafka-console-consumer.sh").display());
    std::fs::write(lossy.join("kafka-console-consumer.sh"), consumer).unwrap();
    std::fs::set_permissions(lossy.join("kafka-console-consumer.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (ok, out) = kafka.checkpoint(&bootstrap, &lossy);
    assert!(!ok, "the checkpoint passed with a record missing:\n{out}");
    let ev = evidence(&out);
    assert_eq!(ev["records"], 999, "{out}");
    assert_ne!(ev["sent"], ev["received"], "{out}");

    // A restart (the pod's, with its volume) formats nothing and serves the same cluster.
    drop(server);
    let server = kafka.start();
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(!log.contains("Formatting"), "the restart formatted the log directory again:\n{log}");
    let (ok, out) = kafka.checkpoint(&bootstrap, &bin);
    assert!(ok, "the checkpoint failed after a restart:\n{out}");
    assert_eq!(evidence(&out)["records"], 1000, "{out}");
}
