//! `kafka produce` and `kafka consume`: the streaming phase's topics from the command line, along
//! the checkpoint's path — the phase's image and console tools, in a pod of its namespace
//! labelled as a Kafka client (run-time template `client.yaml`), reached through exec: records
//! go in on the tool's stdin and come back on its stdout. The pod is deleted afterwards.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams};
use kube::runtime::wait::await_condition;
use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Globals, SpecArgs};
use crate::catalog::Addon;
use crate::error::Error;
use crate::pipeline::Loaded;

/// The addon the commands talk to, and the image key of its tools.
const ADDON: &str = "kafka";
const IMAGE: &str = "server";
/// How long the client pod may live if the command cannot delete it.
const LIFETIME_SECONDS: u64 = 900;
const START_BUDGET: Duration = Duration::from_secs(180);

/// What `kafka produce` did.
#[derive(Debug, Serialize)]
pub struct Produced {
    /// The topic.
    pub topic: String,
    /// Records sent: one per line of the input.
    pub records: usize,
}

/// What `kafka consume` read.
#[derive(Debug, Serialize)]
pub struct Consumed {
    /// The topic.
    pub topic: String,
    /// The records, in the order read.
    pub records: Vec<String>,
}

/// Arguments of `kafka consume`.
#[derive(Debug, Clone)]
pub struct ConsumeArgs {
    /// The topic.
    pub topic: String,
    /// Read from the oldest record kept rather than only new ones.
    pub from_beginning: bool,
    /// Stop after this many records.
    pub max: Option<u64>,
    /// Stop when no record arrived for this long.
    pub idle_seconds: u64,
}

/// Run `kafka produce <topic> [file|-]`: every line of the input is one record.
pub async fn produce(g: &Globals, topic: &str, input: &str) -> Result<Produced, Error> {
    check_topic(topic)?;
    let bytes = read_input(input)?;
    // The console producer sends every line, an empty one too; a last line needs no newline.
    let records = bytes.split(|b| *b == b'\n').count() - usize::from(bytes.ends_with(b"\n"));
    if bytes.is_empty() {
        return Err(Error::usage(format!("{} holds no record (one per line)", describe(input)))
            .with_hint(format!("printf 'a\\nb\\n' | bigtop-k8s kafka produce {topic}")));
    }
    let client = Client::start(g).await?;
    let command = client.tool("kafka-console-producer.sh", &["--topic", topic, "--producer-property", "acks=all"]);
    let out = client.exec(command, Some(bytes)).await;
    client.stop().await;
    let (_, stderr) = out?;
    if stderr.contains("ERROR") {
        return Err(Error::failure(format!("the producer reported errors for topic {topic}:\n{}", stderr.trim()))
            .with_hint("`bigtop-k8s verify streaming` checks the brokers"));
    }
    Ok(Produced { topic: topic.to_string(), records })
}

/// Run `kafka consume <topic>`.
pub async fn consume(g: &Globals, args: &ConsumeArgs) -> Result<Consumed, Error> {
    check_topic(&args.topic)?;
    if args.max == Some(0) || args.idle_seconds == 0 {
        return Err(Error::usage("--max and --idle-seconds must be at least 1")
            .with_hint(format!("bigtop-k8s kafka consume {} --from-beginning --max 10", args.topic)));
    }
    let client = Client::start(g).await?;
    let timeout = (args.idle_seconds * 1000).to_string();
    let mut flags = vec!["--topic", args.topic.as_str(), "--timeout-ms", timeout.as_str()];
    if args.from_beginning {
        flags.push("--from-beginning");
    }
    let max = args.max.map(|m| m.to_string());
    if let Some(m) = &max {
        flags.extend(["--max-messages", m.as_str()]);
    }
    let command = client.tool("kafka-console-consumer.sh", &flags);
    let out = client.exec(command, None).await;
    client.stop().await;
    let (stdout, _) = out?;
    Ok(Consumed { topic: args.topic.clone(), records: stdout.lines().map(str::to_string).collect() })
}

/// `kafka produce`'s line.
pub fn produced_text(p: &Produced) -> String {
    format!("produced {} records to topic {}", p.records, p.topic)
}

/// The records, one per line, then their count.
pub fn consumed_text(c: &Consumed) -> String {
    let mut text = c.records.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text + &format!("({} records from topic {})", c.records.len(), c.topic)
}

/// Kafka's rule for topic names: 1–249 of letters, digits, `.`, `_` and `-`, not `.` or `..`.
fn check_topic(topic: &str) -> Result<(), Error> {
    let legal = topic.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if topic.is_empty() || topic.len() > 249 || !legal || topic == "." || topic == ".." {
        return Err(Error::usage(format!("{topic:?} is not a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"))
            .with_hint("bigtop-k8s kafka produce events events.jsonl"));
    }
    Ok(())
}

/// The bytes of `input`: a file, or stdin for `-`.
fn read_input(input: &str) -> Result<Vec<u8>, Error> {
    if input == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| Error::usage("cannot read stdin").with_source(e))?;
        return Ok(bytes);
    }
    std::fs::read(input).map_err(|e| {
        Error::usage(format!("cannot read {input}")).with_source(e).with_hint("give a file of records, one per line, or - for stdin")
    })
}

fn describe(input: &str) -> String {
    if input == "-" { "stdin".into() } else { input.to_string() }
}

/// A client pod of the streaming phase.
struct Client {
    pods: Api<Pod>,
    name: String,
    bootstrap: String,
}

impl Client {
    /// Create the client pod and wait until it runs.
    async fn start(g: &Globals) -> Result<Client, Error> {
        let ctx = Loaded::read(g, &SpecArgs::default())?.connect(g).await?;
        let addon: &Addon = ctx.catalog.addons.get(ADDON).ok_or_else(|| Error::usage("the catalog has no kafka addon"))?;
        if !ctx.state.contains_key(&addon.phase) {
            return Err(Error::prerequisite(format!("the {} phase is not installed", addon.phase))
                .with_hint(format!("bigtop-k8s add-phase {}", addon.phase)));
        }
        let name = crate::checkpoint::unique_name("kafka-client");
        let vars = json!({"name": name, "image": IMAGE, "lifetime": LIFETIME_SECONDS});
        let objects = crate::render::render_runtime(addon, "client.yaml", &vars)
            .map_err(|e| Error::failure("cannot render the client pod").with_source(e))?;
        let pods: Api<Pod> = Api::namespaced(ctx.cluster.client.clone(), &addon.namespace);
        let pod: Pod =
            serde_json::from_value(objects[0].clone()).map_err(|e| Error::failure("the client template is not a Pod").with_source(e))?;
        pods.create(&Default::default(), &pod).await.map_err(|e| Error::failure("cannot create the Kafka client pod").with_source(e))?;
        let client = Client { pods, name, bootstrap: format!("kafka.{}.svc:9092", addon.namespace) };
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

    /// `tool` of the image with the bootstrap server and `flags`.
    fn tool(&self, tool: &str, flags: &[&str]) -> Vec<String> {
        let mut command = vec![format!("/opt/kafka/bin/{tool}"), "--bootstrap-server".into(), self.bootstrap.clone()];
        command.extend(flags.iter().map(|f| f.to_string()));
        command
    }

    /// Run `command` in the pod, feeding `stdin`; its stdout and stderr, or an error with both
    /// when it exits non-zero.
    async fn exec(&self, command: Vec<String>, stdin: Option<Vec<u8>>) -> Result<(String, String), Error> {
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
    async fn stop(self) {
        let _ = self.pods.delete(&self.name, &DeleteParams::default()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for good in ["events", "raw.streaming_1", "a-b", &"t".repeat(249)] {
            assert!(check_topic(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "with space", "slash/topic", "ünïcode", &"t".repeat(250)] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consumed_text_lists_the_records_then_the_count() {
        let c = Consumed { topic: "t".into(), records: vec!["a".into(), "b".into()] };
        assert_eq!(consumed_text(&c), "a\nb\n(2 records from topic t)");
        assert_eq!(consumed_text(&Consumed { topic: "t".into(), records: vec![] }), "(0 records from topic t)");
    }
}
