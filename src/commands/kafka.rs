//! `kafka produce` and `kafka consume`: the streaming phase's topics from the command line, along
//! the checkpoint's path — the phase's image and console tools, in a pod of its namespace
//! labelled as a Kafka client (run-time template `client.yaml`), reached through exec: records
//! go in on the tool's stdin and come back on its stdout. The pod is deleted afterwards.

use serde::Serialize;

use super::{Globals, SpecArgs};
use crate::catalog::Addon;
use crate::error::Error;
use crate::kafka::ClientPod;
use crate::pipeline::Loaded;

/// The addon the commands talk to.
const ADDON: &str = "kafka";

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
    let client = start(g).await?;
    let out = client.produce(topic, bytes).await;
    client.stop().await;
    out?;
    Ok(Produced { topic: topic.to_string(), records })
}

/// Run `kafka consume <topic>`.
pub async fn consume(g: &Globals, args: &ConsumeArgs) -> Result<Consumed, Error> {
    check_topic(&args.topic)?;
    if args.max == Some(0) || args.idle_seconds == 0 {
        return Err(Error::usage("--max and --idle-seconds must be at least 1")
            .with_hint(format!("bigtop-k8s kafka consume {} --from-beginning --max 10", args.topic)));
    }
    let client = start(g).await?;
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

/// A client pod of the installed streaming phase.
async fn start(g: &Globals) -> Result<ClientPod, Error> {
    let ctx = Loaded::read(g, &SpecArgs::default())?.connect(g).await?;
    let addon: &Addon = ctx.catalog.addons.get(ADDON).ok_or_else(|| Error::usage("the catalog has no kafka addon"))?;
    if !ctx.state.contains_key(&addon.phase) {
        return Err(Error::prerequisite(format!("the {} phase is not installed", addon.phase))
            .with_hint(format!("bigtop-k8s add-phase {}", addon.phase)));
    }
    ClientPod::start(&ctx.cluster.client, addon).await
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
