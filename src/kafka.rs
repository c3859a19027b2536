//! A Kafka client pod of the streaming phase: the kafka addon's image and console tools in a
//! pod of its namespace labelled as a Kafka client (run-time template `client.yaml`), reached
//! through exec — records go in on a tool's stdin and come back on its stdout. `kafka produce`
//! and `kafka consume` use it, and so does NiFi's checkpoint to feed the lake flow. The pod is
//! deleted afterwards, and ends by itself if that fails.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams};
use kube::runtime::wait::await_condition;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::catalog::Addon;
use crate::error::Error;

/// The image key of the addon's tools.
const IMAGE: &str = "server";
/// How long the client pod may live if nobody deletes it.
const LIFETIME_SECONDS: u64 = 900;
const START_BUDGET: Duration = Duration::from_secs(180);

/// A running client pod.
pub struct ClientPod {
    pods: Api<Pod>,
    name: String,
    bootstrap: String,
}

impl ClientPod {
    /// Create the client pod of `addon` (the kafka addon) and wait until it runs.
    ///
    /// # Errors
    /// The pod cannot be rendered or created, or does not start in time.
    pub async fn start(client: &kube::Client, addon: &Addon) -> Result<ClientPod, Error> {
        let name = crate::checkpoint::unique_name("kafka-client");
        let vars = json!({"name": name, "image": IMAGE, "lifetime": LIFETIME_SECONDS});
        let objects = crate::render::render_runtime(addon, "client.yaml", &vars)
            .map_err(|e| Error::failure("cannot render the client pod").with_source(e))?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &addon.namespace);
        let pod: Pod =
            serde_json::from_value(objects[0].clone()).map_err(|e| Error::failure("the client template is not a Pod").with_source(e))?;
        pods.create(&Default::default(), &pod).await.map_err(|e| Error::failure("cannot create the Kafka client pod").with_source(e))?;
        let client = ClientPod { pods, name, bootstrap: format!("kafka.{}.svc:9092", addon.namespace) };
        let running =
            |p: Option<&Pod>| p.and_then(|p| p.status.as_ref()).and_then(|s| s.phase.as_deref()).is_some_and(|ph| ph != "Pending");
        let started = tokio::time::timeout(START_BUDGET, await_condition(client.pods.clone(), &client.name, running)).await;
        if !matches!(started, Ok(Ok(Some(_)))) {
            let ns = addon.namespace.clone();
            let name = client.name.clone();
            client.stop().await;
            return Err(Error::failure(format!("the Kafka client pod {ns}/{name} did not start within {}s", START_BUDGET.as_secs()))
                .with_hint(format!("kubectl -n {ns} get events --sort-by=.lastTimestamp")));
        }
        Ok(client)
    }

    /// Send every line of `records` to `topic` (acks from all in-sync replicas).
    ///
    /// # Errors
    /// The tool failed or reported errors.
    pub async fn produce(&self, topic: &str, records: Vec<u8>) -> Result<(), Error> {
        let command = self.tool("kafka-console-producer.sh", &["--topic", topic, "--producer-property", "acks=all"]);
        let (_, stderr) = self.exec(command, Some(records)).await?;
        if stderr.contains("ERROR") {
            return Err(Error::failure(format!("the producer reported errors for topic {topic}:\n{}", stderr.trim()))
                .with_hint("`bigtop-k8s verify streaming` checks the brokers"));
        }
        Ok(())
    }

    /// `tool` of the image with the bootstrap server and `flags`.
    pub fn tool(&self, tool: &str, flags: &[&str]) -> Vec<String> {
        let mut command = vec![format!("/opt/kafka/bin/{tool}"), "--bootstrap-server".into(), self.bootstrap.clone()];
        command.extend(flags.iter().map(|f| f.to_string()));
        command
    }

    /// Run `command` in the pod, feeding `stdin`; its stdout and stderr, or an error with both
    /// when it exits non-zero.
    ///
    /// # Errors
    /// The exec failed, broke, or the tool exited non-zero.
    pub async fn exec(&self, command: Vec<String>, stdin: Option<Vec<u8>>) -> Result<(String, String), Error> {
        let params = AttachParams::default().stdin(stdin.is_some()).stdout(true).stderr(true);
        let mut process = self
            .pods
            .exec(&self.name, command, &params)
            .await
            .map_err(|e| Error::failure("cannot run the Kafka tool in the client pod").with_source(e))?;
        let writer = stdin.map(|bytes| {
            let mut input = process.stdin().expect("stdin was requested");
            tokio::spawn(async move {
                let _ = input.write_all(&bytes).await;
                let _ = input.shutdown().await;
            })
        });
        let (mut out, mut err) = (process.stdout().expect("stdout was requested"), process.stderr().expect("stderr was requested"));
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (read_out, read_err) = tokio::join!(out.read_to_end(&mut stdout), err.read_to_end(&mut stderr));
        read_out.and(read_err).map_err(|e| Error::failure("the connection to the client pod broke").with_source(e))?;
        if let Some(w) = writer {
            let _ = w.await;
        }
        let status = process.take_status().expect("status is taken once").await;
        let (stdout, stderr) = (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned());
        match status.and_then(|s| s.status) {
            Some(s) if s == "Success" => Ok((stdout, stderr)),
            other => {
                Err(Error::failure(format!("the Kafka tool failed ({}):\n{}", other.unwrap_or_else(|| "no status".into()), stderr.trim()))
                    .with_hint("`bigtop-k8s verify streaming` checks the brokers"))
            }
        }
    }

    /// Delete the pod (it also ends by itself after its lifetime).
    pub async fn stop(self) {
        let _ = self.pods.delete(&self.name, &DeleteParams::default()).await;
    }
}
