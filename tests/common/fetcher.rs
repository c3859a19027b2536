//! The pods' jar-fetch init step (a `fetch-jars.sh` our templates render) run the way the fetcher
//! image runs it — BusyBox alone on PATH — against a loopback Maven repository that serves jars
//! from the R2 caches.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::servers::{Server, serve_directory};

/// One `fetch <dir> <name> <path> <sha256>` line of a rendered script.
pub struct Pin {
    pub dir: String,
    pub name: String,
    pub path: String,
}

pub struct Fetcher {
    work: tempfile::TempDir,
    bin: PathBuf,
    server: Server,
    /// The repository URL, for the phase's maven-repository parameter.
    pub maven: String,
}

impl Fetcher {
    pub fn start() -> Fetcher {
        let work = tempfile::tempdir().unwrap();
        let repo = work.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let (server, port) = serve_directory(&repo, "127.0.0.1", &work.path().join("http.log"));
        // The fetcher image holds BusyBox alone: its applets, and nothing else, on PATH.
        let busybox = which("busybox");
        let bin = work.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for applet in ["sh", "wget", "sha256sum", "mkdir", "mv", "rm", "chmod", "ls", "echo", "cat", "tar", "gzip"] {
            std::os::unix::fs::symlink(&busybox, bin.join(applet)).unwrap();
        }
        Fetcher { work, bin, server, maven: format!("http://127.0.0.1:{port}") }
    }

    /// The pins of a rendered script.
    pub fn pins(script: &str) -> Vec<Pin> {
        script
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("fetch /"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Pin { dir: f[1].into(), name: f[2].into(), path: f[3].into() }
            })
            .collect()
    }

    /// Serve `file` at the pin's repository path.
    pub fn serve(&self, pin: &Pin, file: &Path) {
        assert!(file.exists(), "{} is not in the cache", file.display());
        let served = self.work.path().join("repo").join(&pin.path);
        std::fs::create_dir_all(served.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(file, served).unwrap();
    }

    /// Serve other bytes than the pinned ones at the pin's path.
    pub fn tamper(&self, pin: &Pin) {
        let served = self.work.path().join("repo").join(&pin.path);
        std::fs::remove_file(&served).unwrap();
        std::fs::write(&served, b"not the pinned jar").unwrap();
    }

    /// Downloads so far.
    pub fn gets(&self) -> usize {
        std::fs::read_to_string(&self.server.log).unwrap().matches("\"GET ").count()
    }

    /// Run `script` with its pod directory `pod_dir` moved to `node_dir`.
    pub fn run(&self, script: &str, pod_dir: &str, node_dir: &Path, args: &[&str]) -> Output {
        self.run_with(script, pod_dir, node_dir, args, &[])
    }

    /// [`Fetcher::run`] with environment variables (as a pod template sets them).
    pub fn run_with(&self, script: &str, pod_dir: &str, node_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let file = self.work.path().join("fetch-jars.sh");
        std::fs::write(&file, script.replace(pod_dir, &node_dir.display().to_string())).unwrap();
        let mut cmd = Command::new(self.bin.join("sh"));
        cmd.arg(&file).args(args).env_clear().env("PATH", &self.bin).envs(env.iter().copied());
        cmd.output().unwrap()
    }

    /// Serve `dir` over HTTP on loopback (as the jar cache serves its volume); the URL.
    pub fn serve_dir(&self, dir: &Path) -> (Server, String) {
        let log = self.work.path().join(format!("cache{}.log", dir.display().to_string().replace('/', "_")));
        let (server, port) = serve_directory(dir, "127.0.0.1", &log);
        (server, format!("http://127.0.0.1:{port}"))
    }

    /// A fresh directory standing for a node's (or a pod's) jar directory.
    pub fn node(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }
}

fn which(program: &str) -> PathBuf {
    let out = Command::new("sh").args(["-c", &format!("command -v {program}")]).output().unwrap();
    assert!(out.status.success(), "{program} is not installed (.ci/run installs it from Debian)");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}
