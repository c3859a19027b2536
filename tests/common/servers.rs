//! Start real servers (R2) from the objects our render produces: container args and env are
//! read from the rendered workload, Secret references resolved from the rendered Secrets, and
//! only listen addresses are rewritten to loopback.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::params::{self, Overrides};
use bigtop_k8s::profile::Profile;
use bigtop_k8s::render::{RenderInput, render_addon};

/// A cached server binary, or a failure naming the command that builds it.
pub fn server_bin(env: &str, name: &str) -> PathBuf {
    let dir = std::env::var_os(env)
        .unwrap_or_else(|| panic!("{env} is not set: run the suite with `bash tests/env/test.sh` (it builds the servers)"));
    let bin = PathBuf::from(dir).join(name);
    assert!(bin.exists(), "{} missing: run `bash tests/env/build-servers.sh`", bin.display());
    bin
}

/// Render one addon of the embedded catalog with fresh generated values.
pub fn render(addon: &str, sets: &[(&str, &str)]) -> Vec<Value> {
    let catalog = Catalog::embedded().unwrap();
    let mut overrides = Overrides::default();
    for (k, v) in sets {
        overrides.parse_set(&format!("{k}={v}")).unwrap();
    }
    let resolved = params::resolve(&catalog, Profile::Ci, &overrides).unwrap();
    let input = RenderInput::new(&catalog, addon, &resolved, Profile::Ci)
        .with_stand_ins(|g, _| format!("{}{}", g.prefix, bigtop_k8s::secrets::random(g.length, g.alphabet)));
    render_addon(&input).unwrap()
}

/// The rendered object of `kind` named `name` (prefix match, for hashed Job names).
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// A value of a rendered Secret.
pub fn secret_value(objects: &[Value], secret: &str, key: &str) -> String {
    let b64 = find(objects, "Secret", secret)["data"][key].as_str().unwrap().to_string();
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
}

/// A per-service S3 key from the rendered Secret `s3-<service>`.
pub fn service_key(objects: &[Value], service: &str) -> bigtop_k8s::checkpoint::s3::ServiceKey {
    let secret = format!("s3-{service}");
    bigtop_k8s::checkpoint::s3::ServiceKey {
        access_key: secret_value(objects, &secret, "access-key"),
        secret_key: secret_value(objects, &secret, "secret-key"),
        secret_ref: format!("object-storage/{secret}"),
    }
}

/// The cleaner's key reads `raw`, writes `clean`, and is refused everywhere else — whatever the
/// backend.
pub async fn assert_cleaner_is_narrowed(endpoint: &str, cleaner: &bigtop_k8s::checkpoint::s3::ServiceKey) {
    let s3 = bigtop_k8s::s3::S3::new(endpoint, "us-east-1", &cleaner.access_key, &cleaner.secret_key).unwrap();
    s3.put("clean", "x/ok.txt", b"ok".to_vec()).await.unwrap();
    assert!(s3.list("raw", "").await.is_ok() && s3.list("clean", "").await.is_ok());
    assert!(s3.put("raw", "x/no.txt", b"no".to_vec()).await.unwrap_err().is_access_denied());
    assert!(s3.put("warehouse", "x/no.txt", b"no".to_vec()).await.unwrap_err().is_access_denied());
}

/// The env of a pod template's first container, with secretKeyRefs resolved.
pub fn container_env(objects: &[Value], workload: &Value) -> BTreeMap<String, String> {
    let container = &workload["spec"]["template"]["spec"]["containers"][0];
    let mut env = BTreeMap::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap().to_string();
        let value = match (&e["value"], &e["valueFrom"]["secretKeyRef"]) {
            (Value::String(v), _) => v.clone(),
            (_, Value::Object(r)) => secret_value(objects, r["name"].as_str().unwrap(), r["key"].as_str().unwrap()),
            _ => panic!("unsupported env entry {e}"),
        };
        env.insert(name, value);
    }
    env
}

/// The args of a pod template's first container.
pub fn container_args(workload: &Value) -> Vec<String> {
    let c = &workload["spec"]["template"]["spec"]["containers"][0];
    c["args"].as_array().into_iter().flatten().map(|a| a.as_str().unwrap().to_string()).collect()
}

/// A free loopback port.
/// Run the built `mc` with its own config directory: (succeeded, stdout + stderr).
pub fn mc(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(server_bin("BIGTOP_R2_MINIO_BIN", "mc")).arg("--config-dir").arg(config).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed on drop, with its log kept for failure messages.
pub struct Server {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(mut cmd: Command, log: &Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd.stdout(Stdio::from(file.try_clone().unwrap())).stderr(Stdio::from(file)).spawn().unwrap();
        Server { child, log: log.to_path_buf() }
    }

    /// Wait until `url` answers 200, or panic with the log tail.
    pub fn await_http(&self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(out) = Command::new("curl").args(["-fsS", "-o", "/dev/null", url]).output() {
                if out.status.success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{url} did not answer; log:\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }
}

/// A real MinIO started from rendered objects, plus what is needed to reach and set it up.
pub struct Minio {
    pub server: Server,
    pub endpoint: String,
    pub port: u16,
    pub objects: Vec<Value>,
    pub dir: tempfile::TempDir,
}

impl Minio {
    /// Start MinIO with the StatefulSet's args and env (listen addresses and data dir moved to
    /// loopback and a temp dir) and wait until it is ready.
    pub fn start(objects: Vec<Value>) -> Minio {
        Minio::start_with_env(objects, &[])
    }

    /// [`Minio::start`] with some of the rendered variables replaced (addresses moved to
    /// loopback).
    pub fn start_with_env(objects: Vec<Value>, replaced: &[(&str, String)]) -> Minio {
        let bin = server_bin("BIGTOP_R2_MINIO_BIN", "minio");
        let sts = find(&objects, "StatefulSet", "minio");
        let mut env = container_env(&objects, sts);
        for (name, value) in replaced {
            assert!(env.insert(name.to_string(), value.clone()).is_some(), "{name} is not rendered");
        }
        let dir = tempfile::tempdir().unwrap();
        let (port, console_port) = (free_port(), free_port());
        let args: Vec<String> = container_args(sts)
            .into_iter()
            .map(|a| match a.as_str() {
                ":9000" => format!("127.0.0.1:{port}"),
                ":9001" => format!("127.0.0.1:{console_port}"),
                "/data" => dir.path().join("data").display().to_string(),
                _ => a,
            })
            .collect();
        let mut cmd = Command::new(bin);
        cmd.args(&args).envs(&env).env("GOMEMLIMIT", "1GiB");
        let server = Server::start(cmd, &dir.path().join("minio.log"));
        let endpoint = format!("http://127.0.0.1:{port}");
        server.await_http(&format!("{endpoint}/minio/health/ready"));
        Minio { server, endpoint, port, objects, dir }
    }

    /// Run the rendered setup script the way the Job runs it: its env, the endpoint on loopback.
    pub fn setup(&self) -> String {
        self.setup_with(&self.objects)
    }

    /// Run the setup script of `objects` (e.g. with a service's key rotated) against this server.
    pub fn setup_with(&self, objects: &[Value]) -> String {
        let script = find(objects, "ConfigMap", "minio-setup")["data"]["setup.sh"].as_str().unwrap().to_string();
        let job = find(objects, "Job", "minio-setup-");
        let mut env = container_env(objects, job);
        env.insert("S3_ENDPOINT".into(), self.endpoint.clone());
        env.insert("MC".into(), server_bin("BIGTOP_R2_MINIO_BIN", "mc").display().to_string());
        env.insert("MC_CONFIG_DIR".into(), self.dir.path().join("mc").display().to_string());
        let out = Command::new("sh").arg("-c").arg(&script).envs(&env).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "setup failed:\n{text}");
        text
    }

    /// A per-service key from the rendered Secrets.
    pub fn key(&self, service: &str) -> bigtop_k8s::checkpoint::s3::ServiceKey {
        service_key(&self.objects, service)
    }
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`.
pub fn await_tcp(server: &Server, port: u16) {
    await_tcp_on(server, "127.0.0.1", port);
}

/// Wait until something accepts TCP connections on `address`:`port`.
pub fn await_tcp_on(server: &Server, address: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect((address, port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("nothing listens on {port}; log:\n{}", std::fs::read_to_string(&server.log).unwrap_or_default());
}

/// A real Garage started from rendered objects: the rendered garage.toml with listen addresses
/// and directories moved to loopback and a temp dir, secrets from the rendered env.
pub struct Garage {
    pub server: Server,
    pub s3_endpoint: String,
    pub admin_endpoint: String,
    pub s3_port: u16,
    pub admin_port: u16,
    pub objects: Vec<Value>,
    pub dir: tempfile::TempDir,
}

impl Garage {
    pub fn start(objects: Vec<Value>) -> Garage {
        let bin = server_bin("BIGTOP_R2_GARAGE_BIN", "garage");
        let dir = tempfile::tempdir().unwrap();
        let (s3_port, rpc_port, admin_port) = (free_port(), free_port(), free_port());
        let toml = find(&objects, "ConfigMap", "garage-config")["data"]["garage.toml"]
            .as_str()
            .unwrap()
            .replace("[::]:3900", &format!("127.0.0.1:{s3_port}"))
            .replace("[::]:3901", &format!("127.0.0.1:{rpc_port}"))
            .replace("127.0.0.1:3901", &format!("127.0.0.1:{rpc_port}"))
            .replace("[::]:3903", &format!("127.0.0.1:{admin_port}"))
            .replace("/var/lib/garage", &dir.path().display().to_string());
        let config = dir.path().join("garage.toml");
        std::fs::write(&config, toml).unwrap();
        let sts = find(&objects, "StatefulSet", "garage");
        let env = container_env(&objects, sts);
        let mut cmd = Command::new(bin);
        cmd.arg("-c").arg(&config).arg("server").envs(&env).env("RUST_LOG", "garage=warn");
        // Our Garage is a glibc build; upstream's image is static musl, whose malloc maps large
        // blocks directly. Without this, Argon2's 19 MiB blocks stay resident (the R3 look-alike
        // image sets the same), and memory figures here would not predict the image's.
        cmd.env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072");
        let server = Server::start(cmd, &dir.path().join("garage.log"));
        await_tcp(&server, admin_port);
        await_tcp(&server, s3_port);
        Garage {
            server,
            s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
            admin_endpoint: format!("http://127.0.0.1:{admin_port}"),
            s3_port,
            admin_port,
            objects,
            dir,
        }
    }

    /// The desired state built exactly as the CLI builds it, from the rendered Secrets.
    pub fn desired(&self) -> bigtop_k8s::setup::garage::Desired {
        let catalog = Catalog::embedded().unwrap();
        let phase = catalog.phase("object-storage").unwrap();
        let resolved = params::resolve(&catalog, Profile::Ci, &Overrides::default()).unwrap();
        let mut keys = BTreeMap::new();
        for svc in ["sql", "spark", "cleaner", "streaming"] {
            let s = format!("s3-{svc}");
            keys.insert(svc.to_string(), (secret_value(&self.objects, &s, "access-key"), secret_value(&self.objects, &s, "secret-key")));
        }
        let capacity = bigtop_k8s::validation::quantity_bytes(resolved["garage.storage"].as_str().unwrap()).unwrap();
        bigtop_k8s::setup::garage::desired(&phase.data, &resolved, "object-storage", capacity, &keys).unwrap()
    }

    pub fn admin(&self) -> bigtop_k8s::setup::garage::Admin {
        bigtop_k8s::setup::garage::Admin::new(&self.admin_endpoint, &secret_value(&self.objects, "garage-admin", "admin-token")).unwrap()
    }

    pub fn key(&self, service: &str) -> bigtop_k8s::checkpoint::s3::ServiceKey {
        service_key(&self.objects, service)
    }
}

/// Serve `dir` over HTTP on `address` (a free port), logging one line per request to `log`;
/// returns the server (stopped on drop) and its port once it accepts connections.
pub fn serve_directory(dir: &Path, address: &str, log: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind((address, 0)).unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "http.server", "--bind", address, &port.to_string(), "--directory"]).arg(dir);
    let server = Server::start(cmd, log);
    await_tcp_on(&server, address, port);
    (server, port)
}
