//! Spark applications on the cluster: ship the application file in a ConfigMap, run
//! `spark-submit` in cluster mode from a pod inside the cluster (with the phase's
//! spark-defaults.conf and pod templates), follow the driver's log and return its exit code.
//! Used by `bigtop-k8s spark submit` and by the spark checkpoint.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

use crate::validation::{JVM_MIN_MIB, jvm_memory_mib};

/// Namespace of the spark phase.
pub const NAMESPACE: &str = "spark";
/// ConfigMap holding spark-defaults.conf and the pod templates.
pub const CONF_CONFIGMAP: &str = "spark-conf";
/// Label carrying the submission id on every object of a submission (and on the driver).
pub const SUBMISSION_LABEL: &str = "bigtop.apache.org/submission";
/// The largest application a ConfigMap carries (the API server's limit is 1 MiB in total).
pub const MAX_SHIPPED_BYTES: usize = 900 * 1024;
const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";
const POLL: Duration = Duration::from_secs(2);

/// Why a submission failed.
#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    /// The application argument is unusable.
    #[error("{0}")]
    App(String),
    /// A resource flag is invalid.
    #[error("{0}")]
    Resource(String),
    /// The spark phase is not installed (its ConfigMap is missing).
    #[error("the spark phase is not installed (no ConfigMap {NAMESPACE}/{CONF_CONFIGMAP})")]
    NotInstalled,
    /// An API call failed.
    #[error("cannot {action}: {detail}")]
    Api {
        /// What was attempted.
        action: String,
        /// The server's answer.
        detail: String,
    },
    /// spark-submit itself failed before a driver started.
    #[error("spark-submit failed before starting a driver (pod {pod}):\n{log}")]
    Submit {
        /// The submitter pod.
        pod: String,
        /// Its last log lines.
        log: String,
    },
    /// The time budget ran out.
    #[error("{0}")]
    Timeout(String),
}

fn api(action: impl Into<String>) -> impl FnOnce(kube::Error) -> SparkError {
    let action = action.into();
    move |e| SparkError::Api { action, detail: crate::error::error_text(&e) }
}

/// The application to run.
#[derive(Debug, Clone, PartialEq)]
pub enum App {
    /// A local file shipped in a ConfigMap: `name` is its file name.
    File {
        /// File name (`job.py`).
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Already reachable by the driver (`s3a://…`, `local://…`).
    Remote(String),
}

impl App {
    /// Read and check an application argument: a `.py` or `.jar` file of at most
    /// [`MAX_SHIPPED_BYTES`], or an `s3a://`/`local://` URL of one.
    pub fn from_arg(arg: &str) -> Result<App, SparkError> {
        let kind_ok = |p: &str| p.ends_with(".py") || p.ends_with(".jar");
        if arg.starts_with("s3a://") || arg.starts_with("local://") {
            return match kind_ok(arg) {
                true => Ok(App::Remote(arg.into())),
                false => Err(SparkError::App(format!("{arg}: Spark runs .py and .jar applications"))),
            };
        }
        let path = Path::new(arg);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !kind_ok(&name) {
            return Err(SparkError::App(format!("{arg}: unsupported file type; Spark runs .py and .jar applications")));
        }
        let bytes = std::fs::read(path).map_err(|e| SparkError::App(format!("cannot read {arg}: {e}")))?;
        if bytes.len() > MAX_SHIPPED_BYTES {
            return Err(SparkError::App(format!(
                "{arg} is {} KiB; bigtop ships applications up to {} KiB in a ConfigMap: put it in the object store and pass its s3a:// URL",
                bytes.len() / 1024,
                MAX_SHIPPED_BYTES / 1024
            )));
        }
        Ok(App::File { name, bytes })
    }

    fn is_jar(&self) -> bool {
        match self {
            App::File { name, .. } => name.ends_with(".jar"),
            App::Remote(url) => url.ends_with(".jar"),
        }
    }
}

/// Resource overrides for one submission (the phase's spark-defaults.conf has the defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `spark.driver.memory`.
    pub driver_memory: Option<String>,
    /// `spark.executor.memory`.
    pub executor_memory: Option<String>,
    /// `spark.executor.instances`.
    pub executors: Option<u32>,
}

impl Resources {
    /// Check the memory sizes the way Spark will.
    pub fn validate(&self) -> Result<(), SparkError> {
        for (flag, value) in [("--driver-memory", &self.driver_memory), ("--executor-memory", &self.executor_memory)] {
            let Some(v) = value else { continue };
            match jvm_memory_mib(v) {
                None => return Err(SparkError::Resource(format!("{flag} {v}: expected a size such as 512m or 2g"))),
                Some(mib) if mib < JVM_MIN_MIB => {
                    return Err(SparkError::Resource(format!("{flag} {v}: Spark needs at least {JVM_MIN_MIB} MiB")));
                }
                Some(_) => {}
            }
        }
        if self.executors == Some(0) {
            return Err(SparkError::Resource("--executors 0: at least one executor runs the tasks".into()));
        }
        Ok(())
    }

    fn confs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(m) = &self.driver_memory {
            out.push(("spark.driver.memory".into(), m.clone()));
        }
        if let Some(m) = &self.executor_memory {
            out.push(("spark.executor.memory".into(), m.clone()));
        }
        if let Some(n) = self.executors {
            out.push(("spark.executor.instances".into(), n.to_string()));
        }
        out
    }
}

/// One run of an application.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Short unique id (names its objects).
    pub id: String,
    /// Application name.
    pub name: String,
    /// What to run.
    pub app: App,
    /// Main class (jars).
    pub class: Option<String>,
    /// Application arguments.
    pub args: Vec<String>,
    /// Resource overrides.
    pub resources: Resources,
}

impl Submission {
    /// A submission with a fresh id.
    pub fn new(name: &str, app: App, class: Option<String>, args: Vec<String>, resources: Resources) -> Submission {
        let id = crate::secrets::random(8, crate::catalog::Alphabet::Hex);
        Submission { id, name: name.into(), app, class, args, resources }
    }

    fn object_name(&self) -> String {
        format!("spark-{}", self.id)
    }
}

/// What the spark phase installed, read from the cluster.
#[derive(Debug, Clone)]
pub struct PhaseConf {
    /// The image spark-submit and the pods run.
    pub image: String,
    /// The driver pod template (parsed).
    pub driver_template: Value,
    /// Whether Spark SQL's catalog is a Hive Metastore (`spark.metastore=sql`).
    pub metastore: bool,
}

/// Read the phase's ConfigMap.
pub async fn read_conf(client: &Client) -> Result<PhaseConf, SparkError> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .get_opt(CONF_CONFIGMAP)
        .await
        .map_err(api(format!("read ConfigMap {NAMESPACE}/{CONF_CONFIGMAP}")))?
        .ok_or(SparkError::NotInstalled)?;
    let data = cm.data.unwrap_or_default();
    parse_conf(&data).ok_or(SparkError::NotInstalled)
}

/// The image and driver template out of the ConfigMap's data.
pub fn parse_conf(data: &BTreeMap<String, String>) -> Option<PhaseConf> {
    let defaults = data.get("spark-defaults.conf")?;
    let setting = |key: &str| {
        defaults.lines().find_map(|l| l.split_once(char::is_whitespace).filter(|(k, _)| *k == key).map(|(_, v)| v.trim().to_string()))
    };
    let image = setting("spark.kubernetes.container.image")?;
    let driver_template = serde_saphyr::from_str(data.get("driver-template.yaml")?).ok()?;
    let metastore = setting("spark.sql.catalogImplementation").is_some_and(|v| v == "hive");
    Some(PhaseConf { image, driver_template, metastore })
}

/// The per-submission driver template: the phase's, plus the application volume.
pub fn driver_template(sub: &Submission, conf: &PhaseConf) -> Value {
    let mut t = conf.driver_template.clone();
    let mut volumes = t["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    volumes.push(json!({"name": "bigtop-app", "configMap": {"name": sub.object_name()}}));
    t["spec"]["volumes"] = Value::Array(volumes);
    if let Some(containers) = t["spec"]["containers"].as_array_mut()
        && let Some(driver) = containers.iter_mut().find(|c| c["name"] == DRIVER_CONTAINER)
    {
        let mut mounts = driver["volumeMounts"].as_array().cloned().unwrap_or_default();
        mounts.push(json!({"name": "bigtop-app", "mountPath": "/opt/bigtop/app", "readOnly": true}));
        driver["volumeMounts"] = Value::Array(mounts);
    }
    t
}

fn labels(sub: &Submission) -> Value {
    json!({"app.kubernetes.io/managed-by": "bigtop-k8s", SUBMISSION_LABEL: sub.id})
}

/// The spark-submit command line run by the submitter pod.
pub fn submit_command(sub: &Submission) -> Vec<String> {
    let mut cmd: Vec<String> =
        ["/opt/spark/bin/spark-submit", "--properties-file", "/opt/spark/conf/spark-defaults.conf"].map(String::from).into();
    let mut confs = vec![
        ("spark.kubernetes.driver.podTemplateFile".to_string(), "/opt/bigtop/submit/driver-template.yaml".to_string()),
        (format!("spark.kubernetes.driver.label.{SUBMISSION_LABEL}"), sub.id.clone()),
        // We follow the driver ourselves (its log and exit code), so spark-submit may return.
        ("spark.kubernetes.submission.waitAppCompletion".into(), "false".into()),
    ];
    confs.extend(sub.resources.confs());
    for (k, v) in confs {
        cmd.push("--conf".into());
        cmd.push(format!("{k}={v}"));
    }
    cmd.extend(["--name".to_string(), sub.name.clone()]);
    if let Some(class) = &sub.class {
        cmd.extend(["--class".to_string(), class.clone()]);
    }
    cmd.push(match &sub.app {
        App::File { name, .. } => format!("local:///opt/bigtop/app/{name}"),
        App::Remote(url) => url.clone(),
    });
    cmd.extend(sub.args.iter().cloned());
    cmd
}

/// The objects a submission creates: the ConfigMap (application + driver template) and the
/// submitter pod.
pub fn objects(sub: &Submission, conf: &PhaseConf) -> Vec<Value> {
    let name = sub.object_name();
    let template = serde_saphyr::to_string(&driver_template(sub, conf)).expect("templates serialize");
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(sub)},
        "data": {"driver-template.yaml": template}});
    if let App::File { name: file, bytes } = &sub.app {
        match sub.app.is_jar() {
            true => {
                use base64::Engine;
                cm["binaryData"] = json!({ file: base64::engine::general_purpose::STANDARD.encode(bytes) });
            }
            false => cm["data"][file] = String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }
    let spec = &conf.driver_template["spec"];
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": format!("{name}-submit"), "namespace": NAMESPACE, "labels": labels(sub)},
    "spec": {
        "serviceAccountName": "spark",
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": true, "runAsUser": 185, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "spark-submit",
            "image": conf.image,
            "command": submit_command(sub),
            "env": [{"name": "SPARK_USER", "value": "spark"}],
            "resources": {"requests": {"memory": "384Mi", "cpu": "100m"}, "limits": {"memory": "768Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [
                {"name": "spark-conf", "mountPath": "/opt/spark/conf", "readOnly": true},
                {"name": "submission", "mountPath": "/opt/bigtop/submit", "readOnly": true}
            ]
        }],
        "volumes": [
            {"name": "spark-conf", "configMap": {"name": CONF_CONFIGMAP}},
            {"name": "submission", "configMap": {"name": name}}
        ]
    }});
    // The submitter lands where the driver may: same node pool.
    for key in ["nodeSelector", "tolerations"] {
        if !spec[key].is_null() {
            pod["spec"][key] = spec[key].clone();
        }
    }
    vec![cm, pod]
}

/// The driver pod spark-submit makes from our template (its container filled the way Spark
/// does: image, `driver` argument, resources), for a server-side dry run.
pub fn driver_preview(sub: &Submission, conf: &PhaseConf) -> Value {
    let mut pod = driver_template(sub, conf);
    pod["apiVersion"] = "v1".into();
    pod["kind"] = "Pod".into();
    pod["metadata"]["name"] = format!("{}-driver", sub.object_name()).into();
    pod["metadata"]["namespace"] = NAMESPACE.into();
    pod["metadata"]["labels"][SUBMISSION_LABEL] = sub.id.clone().into();
    pod["metadata"]["labels"]["spark-role"] = "driver".into();
    pod["spec"]["serviceAccountName"] = "spark".into();
    pod["spec"]["restartPolicy"] = "Never".into();
    if let Some(driver) = pod["spec"]["containers"].as_array_mut().and_then(|c| c.iter_mut().find(|c| c["name"] == DRIVER_CONTAINER)) {
        driver["image"] = conf.image.clone().into();
        driver["args"] = json!(["driver", "--properties-file", "/opt/spark/conf/spark.properties"]);
        driver["resources"] = json!({"requests": {"memory": "896Mi", "cpu": "250m"}, "limits": {"memory": "896Mi"}});
    }
    pod
}

/// What running a submission gave.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Submission id.
    pub submission: String,
    /// The driver pod.
    pub driver_pod: String,
    /// The driver container's exit code.
    pub exit_code: i32,
    /// Seconds from submission to the driver's end.
    pub seconds: f64,
    /// Lines the application printed that start with `BIGTOP_` (checkpoint evidence).
    #[serde(skip)]
    pub marked_lines: Vec<String>,
}

/// Server-side apply of one of a submission's objects (a ConfigMap or a Pod in the spark
/// namespace); what the server stored.
async fn apply(client: &Client, obj: &Value, params: &PatchParams) -> Result<Value, SparkError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let action = || format!("{}apply {kind} {NAMESPACE}/{name}", if params.dry_run { "dry-run " } else { "" });
    let stored = match kind {
        "ConfigMap" => serde_json::to_value(
            Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE).patch(name, params, &Patch::Apply(obj)).await.map_err(api(action()))?,
        ),
        _ => serde_json::to_value(
            Api::<Pod>::namespaced(client.clone(), NAMESPACE).patch(name, params, &Patch::Apply(obj)).await.map_err(api(action()))?,
        ),
    };
    Ok(stored.expect("objects serialize"))
}

/// Server-side dry run, with strict field validation, of every object a submission would
/// create (and of the driver pod spark-submit would make).
pub async fn dry_run(client: &Client, sub: &Submission, conf: &PhaseConf) -> Result<Vec<Value>, SparkError> {
    let mut all = objects(sub, conf);
    all.push(driver_preview(sub, conf));
    let params = PatchParams {
        dry_run: true,
        field_validation: Some(kube::api::ValidationDirective::Strict),
        ..PatchParams::apply(crate::apply::FIELD_MANAGER)
    };
    let mut accepted = Vec::new();
    for obj in &all {
        accepted.push(apply(client, obj, &params).await?);
    }
    Ok(accepted)
}

/// Create the submission, follow the driver's log (each line to `on_line`) until it ends, and
/// return its exit code. `budget` bounds the wait for the driver to start (and, when
/// `run_budget` is given, the whole run). Objects are deleted after a success and kept after a
/// failure, for `kubectl logs`.
pub async fn run(
    client: &Client,
    sub: &Submission,
    conf: &PhaseConf,
    budget: Duration,
    run_budget: Option<Duration>,
    mut on_line: impl FnMut(&str),
) -> Result<Outcome, SparkError> {
    let started = Instant::now();
    let pp = PatchParams::apply(crate::apply::FIELD_MANAGER).force();
    for obj in objects(sub, conf) {
        apply(client, &obj, &pp).await?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let driver = wait_for_driver(&pods, sub, budget).await?;
    let running_deadline = Instant::now() + budget;
    loop {
        let pod = pods.get(&driver).await.map_err(api(format!("read pod {driver}")))?;
        if driver_started(&pod) {
            break;
        }
        if Instant::now() > running_deadline {
            return Err(SparkError::Timeout(format!(
                "driver pod {NAMESPACE}/{driver} did not start within {}s: {}",
                budget.as_secs(),
                pod_summary(&pod)
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    let mut marked_lines = Vec::new();
    let follow = async {
        let lp = LogParams { follow: true, container: Some(DRIVER_CONTAINER.into()), ..Default::default() };
        let stream = pods.log_stream(&driver, &lp).await.map_err(api(format!("follow the log of {driver}")))?;
        let mut lines = stream.lines();
        while let Some(line) =
            lines.try_next().await.map_err(|e| SparkError::Api { action: format!("read the log of {driver}"), detail: e.to_string() })?
        {
            if line.starts_with("BIGTOP_") {
                marked_lines.push(line.clone());
            }
            on_line(&line);
        }
        Ok::<(), SparkError>(())
    };
    match run_budget {
        Some(b) => tokio::time::timeout(b.saturating_sub(started.elapsed()), follow)
            .await
            .map_err(|_| SparkError::Timeout(format!("the application did not finish within {}s", b.as_secs())))??,
        None => follow.await?,
    }
    let exit_code = wait_exit_code(&pods, &driver).await?;
    if exit_code == 0 {
        cleanup(client, sub).await;
    }
    Ok(Outcome { submission: sub.id.clone(), driver_pod: driver, exit_code, seconds: started.elapsed().as_secs_f64(), marked_lines })
}

async fn wait_for_driver(pods: &Api<Pod>, sub: &Submission, budget: Duration) -> Result<String, SparkError> {
    let deadline = Instant::now() + budget;
    let submitter = format!("{}-submit", sub.object_name());
    let lp = ListParams::default().labels(&format!("{SUBMISSION_LABEL}={},spark-role=driver", sub.id));
    loop {
        if let Some(d) = pods.list(&lp).await.map_err(api("list driver pods"))?.items.first() {
            return Ok(d.name_any());
        }
        let s = pods.get(&submitter).await.map_err(api(format!("read pod {submitter}")))?;
        if s.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed") {
            let log = pods.logs(&submitter, &LogParams { tail_lines: Some(30), ..Default::default() }).await.unwrap_or_default();
            return Err(SparkError::Submit { pod: submitter, log });
        }
        if Instant::now() > deadline {
            return Err(SparkError::Timeout(format!(
                "no driver pod within {}s; submitter {NAMESPACE}/{submitter}: {}",
                budget.as_secs(),
                pod_summary(&s)
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn driver_started(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
    matches!(phase, "Running" | "Succeeded" | "Failed")
}

fn pod_summary(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".into());
    let waiting: Vec<String> = status
        .into_iter()
        .flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()))
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref().map(|w| format!("{} {}", c.name, w.reason.clone().unwrap_or_default())))
        .collect();
    if waiting.is_empty() { phase } else { format!("{phase} ({})", waiting.join(", ")) }
}

async fn wait_exit_code(pods: &Api<Pod>, driver: &str) -> Result<i32, SparkError> {
    loop {
        let pod = pods.get(driver).await.map_err(api(format!("read pod {driver}")))?;
        let terminated = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == DRIVER_CONTAINER))
            .and_then(|c| c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code));
        if let Some(code) = terminated {
            return Ok(code);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Delete a submission's objects (the driver, the submitter, the ConfigMap).
pub async fn cleanup(client: &Client, sub: &Submission) {
    let lp = ListParams::default().labels(&format!("{SUBMISSION_LABEL}={}", sub.id));
    let dp = DeleteParams::background();
    let _ = Api::<Pod>::namespaced(client.clone(), NAMESPACE).delete_collection(&dp, &lp).await;
    let _ = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE).delete_collection(&dp, &lp).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> PhaseConf {
        PhaseConf {
            image: "apache/spark:4.0.1".into(),
            driver_template: json!({"spec": {"nodeSelector": {"pool": "spark"}, "containers": [{"name": DRIVER_CONTAINER, "volumeMounts": [{"name": "jars", "mountPath": "/j"}]}],
                "volumes": [{"name": "jars", "emptyDir": {}}]}}),
            metastore: false,
        }
    }

    #[test]
    fn application_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let py = dir.path().join("job.py");
        std::fs::write(&py, "print(1)").unwrap();
        assert_eq!(App::from_arg(py.to_str().unwrap()).unwrap(), App::File { name: "job.py".into(), bytes: b"print(1)".to_vec() });
        assert!(App::from_arg(dir.path().join("absent.py").to_str().unwrap()).unwrap_err().to_string().contains("cannot read"));
        let r = dir.path().join("job.R");
        std::fs::write(&r, "1").unwrap();
        assert!(App::from_arg(r.to_str().unwrap()).unwrap_err().to_string().contains("unsupported file type"));
        let big = dir.path().join("big.jar");
        std::fs::write(&big, vec![0u8; MAX_SHIPPED_BYTES + 1]).unwrap();
        assert!(App::from_arg(big.to_str().unwrap()).unwrap_err().to_string().contains("s3a:// URL"));
        assert_eq!(App::from_arg("s3a://warehouse/app.jar").unwrap(), App::Remote("s3a://warehouse/app.jar".into()));
    }

    #[test]
    fn resources_are_checked_like_spark_does() {
        assert!(Resources { driver_memory: Some("1g".into()), ..Default::default() }.validate().is_ok());
        assert!(
            Resources { driver_memory: Some("256m".into()), ..Default::default() }.validate().unwrap_err().to_string().contains("450 MiB")
        );
        assert!(Resources { executor_memory: Some("lots".into()), ..Default::default() }.validate().is_err());
        assert!(Resources { executors: Some(0), ..Default::default() }.validate().is_err());
    }

    #[test]
    fn submission_ships_the_file_and_mounts_it_in_the_driver() {
        let sub = Submission::new(
            "job",
            App::File { name: "job.py".into(), bytes: b"print(1)".to_vec() },
            None,
            vec!["a".into()],
            Resources::default(),
        );
        let objs = objects(&sub, &conf());
        assert_eq!(objs[0]["data"]["job.py"], "print(1)");
        let template: Value = serde_saphyr::from_str(objs[0]["data"]["driver-template.yaml"].as_str().unwrap()).unwrap();
        assert_eq!(template["spec"]["volumes"][1]["configMap"]["name"], format!("spark-{}", sub.id));
        assert_eq!(template["spec"]["containers"][0]["volumeMounts"][1]["mountPath"], "/opt/bigtop/app");
        let cmd = objs[1]["spec"]["containers"][0]["command"].as_array().unwrap();
        assert_eq!(cmd[cmd.len() - 2], "local:///opt/bigtop/app/job.py");
        assert_eq!(cmd[cmd.len() - 1], "a");
        assert_eq!(objs[1]["spec"]["nodeSelector"]["pool"], "spark", "the submitter follows the driver's node pool");
        let jar = Submission::new(
            "j",
            App::File { name: "a.jar".into(), bytes: vec![0, 1] },
            Some("x.Main".into()),
            vec![],
            Resources::default(),
        );
        assert_eq!(objects(&jar, &conf())[0]["binaryData"]["a.jar"], "AAE=");
    }

    #[test]
    fn image_and_template_come_from_the_phase_configmap() {
        let data: BTreeMap<String, String> = [
            (
                "spark-defaults.conf".to_string(),
                "spark.master  k8s://x\nspark.kubernetes.container.image   apache/spark:4.0.1\n".to_string(),
            ),
            ("driver-template.yaml".to_string(), "spec: {containers: [{name: spark-kubernetes-driver}]}".to_string()),
        ]
        .into();
        let conf = parse_conf(&data).unwrap();
        assert_eq!(conf.image, "apache/spark:4.0.1");
        assert!(!conf.metastore);
        let mut with_hive = data.clone();
        with_hive.get_mut("spark-defaults.conf").unwrap().push_str("spark.sql.catalogImplementation   hive\n");
        assert!(parse_conf(&with_hive).unwrap().metastore);
        assert!(parse_conf(&BTreeMap::new()).is_none());
    }
}
