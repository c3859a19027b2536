//! R2: a real ZooKeeper 3.9.4 started by the streaming phase's own start.sh with its own zoo.cfg —
//! only the data directories and the servers' addresses moved to a temp dir and loopback ports —
//! then the phase's own checkpoint.sh against it (a znode written, read back, deleted, sha256
//! equal): standalone as the laptop and ci profiles render it, and the three-server ensemble of
//! the production profile, which keeps serving with one server gone. The image's bin/zkServer.sh
//! and zkCli.sh are the R3 look-alike's stand-in (tests/env/images/scripts/zookeeper-run.sh),
//! which runs the same classes from Maven Central's jars (build-zookeeper.sh): Maven has no
//! ZooKeeper distribution.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::servers::{Server, await_tcp, free_port, render};
use common::sql_servers::config_file;
use serde_json::Value;

fn classpath() -> PathBuf {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_ZOOKEEPER_ROOT").expect("BIGTOP_R2_ZOOKEEPER_ROOT (set by tests/env/test.sh)"));
    assert!(root.join("classpath.done").exists(), "ZooKeeper missing: run `bash tests/env/build-zookeeper.sh`");
    root.join("classpath")
}

/// Servers of one ensemble as a profile renders it, each with (client, peer, election) ports.
struct Ensemble {
    dir: tempfile::TempDir,
    objects: Vec<Value>,
    ports: Vec<(u16, u16, u16)>,
}

impl Ensemble {
    fn new(profile_sets: &[(&str, &str)]) -> Ensemble {
        let objects = render("zookeeper", profile_sets);
        let servers = config_file(&objects, "zookeeper-conf", "zoo.cfg").lines().filter(|l| l.starts_with("server.")).count();
        let dir = tempfile::tempdir().unwrap();
        // The image's layout: bin/ (on PATH) and lib/.
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(classpath(), dir.path().join("lib")).unwrap();
        let stand_in = common::repo().join("tests/env/images/scripts/zookeeper-run.sh");
        for script in ["zkServer.sh", "zkCli.sh"] {
            std::os::unix::fs::symlink(&stand_in, dir.path().join("bin").join(script)).unwrap();
        }
        let ports = (0..servers).map(|_| (free_port(), free_port(), free_port())).collect();
        // Written once: a server's bash still reads it while the next one starts.
        std::fs::write(dir.path().join("start.sh"), config_file(&objects, "zookeeper-conf", "start.sh")).unwrap();
        Ensemble { dir, objects, ports }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn conf(&self, key: &str) -> String {
        config_file(&self.objects, "zookeeper-conf", key)
    }

    /// zoo.cfg of server `i` with its directories and every server's address moved; panics if a
    /// moved line is gone (then this test would no longer run the shipped file).
    fn zoo_cfg(&self, i: usize) -> String {
        let mut moved = 0;
        let lines: Vec<String> = self
            .conf("zoo.cfg")
            .lines()
            .map(|l| {
                let Some((key, _)) = l.split_once('=') else { return l.to_string() };
                let value = match key {
                    "dataDir" => self.path(&format!("data-{i}")).display().to_string(),
                    "dataLogDir" => self.path(&format!("data-{i}/log")).display().to_string(),
                    _ => match key.strip_prefix("server.").and_then(|n| n.parse::<usize>().ok()) {
                        Some(n) => {
                            let (client, peer, election) = self.ports[n - 1];
                            format!("127.0.0.1:{peer}:{election};{client}")
                        }
                        None => return l.to_string(),
                    },
                };
                moved += 1;
                format!("{key}={value}")
            })
            .collect();
        assert_eq!(moved, 2 + self.ports.len(), "zoo.cfg no longer sets what the test moves");
        lines.join("\n") + "\n"
    }

    /// The phase's start.sh for server `i` (the pod's NODE_ID is its ordinal).
    fn start(&self, i: usize) -> Server {
        let (conf, data) = (self.path(&format!("conf-{i}")), self.path(&format!("data-{i}")));
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(data.join("log")).unwrap();
        std::fs::write(conf.join("zoo.cfg"), self.zoo_cfg(i)).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(self.path("start.sh"))
            .env("PATH", path_with(&self.path("bin")))
            .env("NODE_ID", i.to_string())
            .env("DATA_DIR", &data)
            .env("ZOOCFGDIR", &conf)
            .env("ZK_SERVER_HEAP", "128");
        Server::start(cmd, &self.path(&format!("server-{i}.log")))
    }

    fn client(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i].0)
    }

    /// The phase's checkpoint.sh against server `i`: its exit status and output.
    fn checkpoint(&self, i: usize) -> (bool, String) {
        std::fs::write(self.path("checkpoint.sh"), self.conf("checkpoint.sh")).unwrap();
        let out = Command::new("bash")
            .arg(self.path("checkpoint.sh"))
            .env("PATH", path_with(&self.path("bin")))
            .env("ZK_SERVER", self.client(i))
            .env("ZK_CLIENT_HEAP", "64")
            .output()
            .unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    /// zkCli.sh against server `i`.
    fn cli(&self, i: usize, args: &[&str]) -> String {
        let out = Command::new(self.path("bin/zkCli.sh"))
            .args(["-server", &self.client(i)])
            .args(args)
            .env("ZK_CLIENT_HEAP", "64")
            .output()
            .unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn passes(ensemble: &Ensemble, i: usize, logs: &[&Server]) -> Value {
    let (ok, out) = ensemble.checkpoint(i);
    let logs: String = logs.iter().map(|s| std::fs::read_to_string(&s.log).unwrap_or_default()).collect::<Vec<_>>().join("\n---\n");
    assert!(ok, "the checkpoint failed against server {i}:\n{out}\nserver logs:\n{logs}");
    let line = out.lines().rev().find_map(|l| l.strip_prefix("BIGTOP_CHECKPOINT ")).unwrap_or_else(|| panic!("no evidence line:\n{out}"));
    let ev: Value = serde_json::from_str(line).unwrap();
    assert_eq!(ev["sent"], ev["received"], "{out}");
    assert_eq!(ev["sent"].as_str().map(str::len), Some(64), "{out}");
    ev
}

#[test]
fn a_standalone_server_starts_as_rendered_passes_the_checkpoint_and_keeps_its_data_across_a_restart() {
    let zk = Ensemble::new(&[]);
    assert_eq!(zk.ports.len(), 1, "the ci profile renders one server");
    assert!(zk.conf("zoo.cfg").contains("standaloneEnabled=true\n"));
    let server = zk.start(0);
    await_tcp(&server, zk.ports[0].0);
    passes(&zk, 0, &[&server]);
    assert_eq!(std::fs::read_to_string(zk.path("data-0/myid")).unwrap().trim(), "1", "ZooKeeper's ids start at 1");

    assert!(zk.cli(0, &["create", "/kept", "across-restarts"]).contains("Created /kept"));
    drop(server);
    let server = zk.start(0);
    await_tcp(&server, zk.ports[0].0);
    assert!(zk.cli(0, &["get", "/kept"]).lines().any(|l| l == "across-restarts"), "the znode did not survive a restart");
    passes(&zk, 0, &[&server]);
}

#[test]
fn the_production_ensemble_forms_a_quorum_and_serves_with_one_server_gone() {
    let zk = Ensemble::new(&[("zookeeper.nodes", "3")]);
    assert_eq!(zk.ports.len(), 3);
    assert!(zk.conf("zoo.cfg").contains("standaloneEnabled=false\n"));
    let mut servers: Vec<Server> = (0..3).map(|i| zk.start(i)).collect();
    for (i, s) in servers.iter().enumerate() {
        await_tcp(s, zk.ports[i].0);
    }
    let all: Vec<&Server> = servers.iter().collect();
    passes(&zk, 2, &all);
    let srvr = |i: usize| {
        let out = Command::new("java")
            .args(["-cp", &format!("{}/*", classpath().display()), "org.apache.zookeeper.client.FourLetterWordMain", "127.0.0.1"])
            .arg(zk.ports[i].0.to_string())
            .arg("srvr")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let modes: Vec<String> = (0..3).map(|i| srvr(i).lines().find(|l| l.starts_with("Mode: ")).unwrap_or("").to_string()).collect();
    assert_eq!(modes.iter().filter(|m| *m == "Mode: leader").count(), 1, "{modes:?}");
    assert_eq!(modes.iter().filter(|m| *m == "Mode: follower").count(), 2, "{modes:?}");

    // Two of three are a quorum: with server 1 gone, the others still accept writes.
    drop(servers.remove(0));
    let left: Vec<&Server> = servers.iter().collect();
    passes(&zk, 1, &left);
}
