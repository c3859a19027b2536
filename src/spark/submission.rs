//! A submission as objects: the application shipped in a ConfigMap, the submitter pod running
//! `spark-submit` in cluster mode with the phase's configuration, and the driver's pod template.
//! Pure, except for reading the phase's configuration.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use serde_json::{Value, json};

use super::{CONF_CONFIGMAP, DRIVER_CONTAINER, MAX_SHIPPED_BYTES, NAMESPACE, SUBMISSION_LABEL, SparkError, api};
use crate::catalog::Addon;
use crate::validation::{JVM_MIN_MIB, jvm_memory_mib};

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

    pub(super) fn object_name(&self) -> String {
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
    /// The phase's addon: its namespace and the run-time template of a submission.
    pub addon: Addon,
}

/// Read the phase's ConfigMap; `addon` is the phase's addon in the catalog.
pub async fn read_conf(client: &Client, addon: &Addon) -> Result<PhaseConf, SparkError> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .get_opt(CONF_CONFIGMAP)
        .await
        .map_err(api(format!("read ConfigMap {NAMESPACE}/{CONF_CONFIGMAP}")))?
        .ok_or(SparkError::NotInstalled)?;
    let data = cm.data.unwrap_or_default();
    parse_conf(&data, addon).ok_or(SparkError::NotInstalled)
}

/// The image and driver template out of the ConfigMap's data.
pub fn parse_conf(data: &BTreeMap<String, String>, addon: &Addon) -> Option<PhaseConf> {
    let defaults = data.get("spark-defaults.conf")?;
    let setting = |key: &str| {
        defaults.lines().find_map(|l| l.split_once(char::is_whitespace).filter(|(k, _)| *k == key).map(|(_, v)| v.trim().to_string()))
    };
    let image = setting("spark.kubernetes.container.image")?;
    let driver_template = serde_saphyr::from_str(data.get("driver-template.yaml")?).ok()?;
    let metastore = setting("spark.sql.catalogImplementation").is_some_and(|v| v == "hive");
    Some(PhaseConf { image, driver_template, metastore, addon: addon.clone() })
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

/// The objects a submission creates, from the addon's `runtime/submission.yaml`: the
/// ConfigMap (application + driver template) and the submitter pod.
pub fn objects(sub: &Submission, conf: &PhaseConf) -> Result<Vec<Value>, SparkError> {
    let spec = &conf.driver_template["spec"];
    let (mut app_text, mut app_base64, mut app_file) = (Value::Null, Value::Null, Value::Null);
    if let App::File { name: file, bytes } = &sub.app {
        app_file = file.clone().into();
        match sub.app.is_jar() {
            true => {
                use base64::Engine;
                app_base64 = base64::engine::general_purpose::STANDARD.encode(bytes).into();
            }
            false => app_text = String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }
    let vars = json!({
        "name": sub.object_name(),
        "id": sub.id,
        "label": SUBMISSION_LABEL,
        "image": conf.image,
        "command": submit_command(sub),
        "driver_template": serde_saphyr::to_string(&driver_template(sub, conf)).expect("templates serialize"),
        "conf_configmap": CONF_CONFIGMAP,
        "app_file": app_file,
        "app_text": app_text,
        "app_base64": app_base64,
        "node_selector": spec["nodeSelector"],
        "tolerations": spec["tolerations"],
    });
    crate::render::render_runtime(&conf.addon, "submission.yaml", &vars)
        .map_err(|e| SparkError::Template(format!("{e}: {}", crate::error::root_cause(&e))))
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
