//! Spark applications on the cluster: ship the application file in a ConfigMap, run
//! `spark-submit` in cluster mode from a pod inside the cluster (with the phase's
//! spark-defaults.conf and pod templates), follow the driver's log and return its exit code.
//! Used by `bigtop-k8s spark submit` and by the spark checkpoint.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;

mod submission;

pub use submission::*;

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
    /// An init container of the driver pod failed (its jars could not be fetched), so the
    /// driver never started.
    #[error("the driver pod {pod} failed before the driver started: init container {container} exited with an error:\n{log}")]
    DriverInit {
        /// The driver pod.
        pod: String,
        /// The init container that failed.
        container: String,
        /// Its last log lines.
        log: String,
    },
    /// The time budget ran out.
    #[error("{0}")]
    Timeout(String),
    /// The submission's run-time template did not render.
    #[error("cannot render the submission: {0}")]
    Template(String),
}

fn api(action: impl Into<String>) -> impl FnOnce(kube::Error) -> SparkError {
    let action = action.into();
    move |e| SparkError::Api { action, detail: crate::error::error_text(&e) }
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
    let mut all = objects(sub, conf)?;
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
    for obj in objects(sub, conf)? {
        apply(client, &obj, &pp).await?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let driver = wait_for_driver(&pods, sub, budget).await?;
    let running_deadline = Instant::now() + budget;
    loop {
        let pod = pods.get(&driver).await.map_err(api(format!("read pod {driver}")))?;
        if let Some(container) = failed_init_container(&pod) {
            let lp = LogParams { container: Some(container.clone()), tail_lines: Some(30), ..Default::default() };
            let log = pods.logs(&driver, &lp).await.unwrap_or_default();
            return Err(SparkError::DriverInit { pod: format!("{NAMESPACE}/{driver}"), container, log });
        }
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

/// The init container that ended in failure, when the pod failed before its containers started
/// (following the driver's log would only be refused: PodInitializing).
fn failed_init_container(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() != Some("Failed") {
        return None;
    }
    status.init_container_statuses.iter().flatten().find_map(|c| {
        let failed = c.state.as_ref()?.terminated.as_ref().is_some_and(|t| t.exit_code != 0);
        failed.then(|| c.name.clone())
    })
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
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn conf() -> PhaseConf {
        PhaseConf {
            addon: crate::catalog::Catalog::embedded().unwrap().addons["spark-k8s"].clone(),
            image: "apache/spark:4.0.1".into(),
            driver_template: json!({"spec": {"nodeSelector": {"pool": "spark"}, "containers": [{"name": DRIVER_CONTAINER, "volumeMounts": [{"name": "jars", "mountPath": "/j"}]}],
                "volumes": [{"name": "jars", "emptyDir": {}}]}}),
            metastore: false,
        }
    }

    #[test]
    fn a_driver_pod_failed_in_its_init_container_names_it() {
        let pod = |phase: &str, exit_code: i32| -> Pod {
            serde_json::from_value(json!({"status": {"phase": phase, "initContainerStatuses": [
                {"name": "fetch-jars", "ready": false, "restartCount": 0, "image": "busybox", "imageID": "",
                 "state": {"terminated": {"exitCode": exit_code}}}]}}))
            .unwrap()
        };
        assert_eq!(failed_init_container(&pod("Failed", 1)).as_deref(), Some("fetch-jars"));
        assert_eq!(failed_init_container(&pod("Running", 0)), None);
        assert_eq!(failed_init_container(&pod("Failed", 0)), None);
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
        let objs = objects(&sub, &conf()).unwrap();
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
        assert_eq!(objects(&jar, &conf()).unwrap()[0]["binaryData"]["a.jar"], "AAE=");
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
        let addon = conf().addon;
        let parsed = parse_conf(&data, &addon).unwrap();
        assert_eq!(parsed.image, "apache/spark:4.0.1");
        assert!(!parsed.metastore);
        let mut with_hive = data.clone();
        with_hive.get_mut("spark-defaults.conf").unwrap().push_str("spark.sql.catalogImplementation   hive\n");
        assert!(parse_conf(&with_hive, &addon).unwrap().metastore);
        assert!(parse_conf(&BTreeMap::new(), &addon).is_none());
    }
}
