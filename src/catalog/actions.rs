//! Setup and checkpoint kinds as typed values: `addon.yaml` names a kind and its settings
//! (`kind: s3-roundtrip`, `with: {…}`), parsed with the catalog, so an unknown kind or a bad
//! setting fails when the catalog loads, before anything is applied.

use serde::{Deserialize, Serialize};

use crate::sql::Engine;

/// The checkpoint proving an addon works: one variant per kind in `src/checkpoint/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", content = "with", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Checkpoint {
    /// GET a path of a service and expect a status.
    Http(HttpCheck),
    /// Write, read back and delete objects with a service key; a bucket it must not write.
    S3Roundtrip(S3Check),
    /// Nodes ready, default storage usable, NetworkPolicy enforced (the base phase).
    StorageAndPolicy(StorageCheck),
    /// Run a PySpark job shipped in a ConfigMap and check its result.
    SparkJob(SparkJobCheck),
    /// Create, fill, read and drop a table through the SQL engine.
    SqlRoundtrip(SqlCheck),
    /// Run the addon's checkpoint Job (a run-time template) and check the evidence it prints.
    ScriptJob(ScriptJobCheck),
    /// Run a cell in a new kernel of a Jupyter server and check the evidence it prints.
    NotebookCell(NotebookCheck),
    /// Run a paragraph in a new note of a Zeppelin server and check the evidence it prints.
    NotebookParagraph(ParagraphCheck),
    /// Log in to NiFi, check its version and that its node is connected to the cluster.
    NifiCluster(NifiCheck),
}

/// Settings of the `http` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpCheck {
    /// Service in the addon namespace.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// Path to GET.
    #[serde(default = "root_path")]
    pub path: String,
    /// Expected HTTP status.
    #[serde(default = "ok_status")]
    pub status: u16,
}

fn root_path() -> String {
    "/".into()
}

fn ok_status() -> u16 {
    200
}

/// Settings of the `s3-roundtrip` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct S3Check {
    /// Service in the addon namespace.
    pub service: String,
    /// Its S3 port.
    pub port: u16,
    /// Region the client signs for.
    pub region: String,
    /// Secret holding the service key used.
    pub secret: String,
    /// Parameter naming the bucket the key may write.
    pub bucket_param: String,
    /// Parameter naming a bucket the key must not write.
    pub forbidden_bucket_param: String,
    /// Also probe MinIO's admin API with every key: each must be refused.
    #[serde(default)]
    pub minio_admin_probe: bool,
}

/// Settings of the `storage-and-policy` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageCheck {
    /// Key into the addon's `images` of the image its pods run.
    pub image: String,
}

/// Settings of the `spark-job` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SparkJobCheck {
    /// ConfigMap in the addon namespace holding the job.
    pub configmap: String,
    /// Its key: the job's file name.
    pub file: String,
}

/// Settings of the `sql-roundtrip` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SqlCheck {
    /// Service in the addon namespace.
    pub service: String,
    /// Its HTTP port.
    pub port: u16,
    /// Which REST dialect it speaks.
    pub engine: Engine,
}

/// Settings of the `script-job` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScriptJobCheck {
    /// The addon's run-time template rendering the Job (given `vars.name` and `vars.image`).
    pub template: String,
    /// Key into the addon's `images` of the image the Job runs.
    pub image: String,
    /// Two fields of the evidence line that must hold the same value (what was sent and what
    /// came back).
    pub equal: [String; 2],
    /// How long the Job may take, from its creation.
    pub timeout_seconds: u64,
}

/// Settings of the `notebook-cell` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotebookCheck {
    /// Service of the Jupyter server in the addon namespace.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// Where its login token is.
    pub token: super::SecretKeyRef,
    /// ConfigMap in the addon namespace holding the cell.
    pub configmap: String,
    /// Its key there.
    pub file: String,
    /// How long the kernel and the cell may take together.
    pub timeout_seconds: u64,
}

/// Settings of the `notebook-paragraph` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ParagraphCheck {
    /// Service of the Zeppelin server in the addon namespace.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// Where the login's user name is.
    pub user: super::SecretKeyRef,
    /// Where its password is.
    pub password: super::SecretKeyRef,
    /// ConfigMap in the addon namespace holding the paragraph's code.
    pub configmap: String,
    /// Its key there.
    pub file: String,
    /// How long the interpreter's start and the paragraph may take together.
    pub timeout_seconds: u64,
}

/// Settings of the `nifi-cluster` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NifiCheck {
    /// Service of NiFi's HTTPS API in the addon namespace.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// Where the single user's name is.
    pub user: super::SecretKeyRef,
    /// Where its password is.
    pub password: super::SecretKeyRef,
    /// How long NiFi may take to accept the login and join its cluster.
    pub timeout_seconds: u64,
    /// The flow into the lake, proven once the node is connected.
    #[serde(default)]
    pub flow: Option<LakeFlowCheck>,
}

/// Settings of the lake flow's part of the `nifi-cluster` checkpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LakeFlowCheck {
    /// ConfigMap (addon namespace) holding the flow definition.
    pub configmap: String,
    /// Its key.
    pub key: String,
    /// Parameter naming the topic the flow reads.
    pub topic_param: String,
    /// Key prefix in the raw bucket, before `<topic>/`.
    pub prefix: String,
    /// Addon whose client pod produces the records (its run-time template `client.yaml`).
    pub producer: String,
    /// Lake service whose key reads the raw bucket.
    pub reader: String,
    /// Records sent.
    pub records: usize,
}

impl Checkpoint {
    /// Every kind, as written in `addon.yaml` (docs and lint tests list them).
    pub const KINDS: [&'static str; 9] = [
        "http",
        "s3-roundtrip",
        "storage-and-policy",
        "spark-job",
        "sql-roundtrip",
        "script-job",
        "notebook-cell",
        "notebook-paragraph",
        "nifi-cluster",
    ];

    /// The kind as written in `addon.yaml`.
    pub fn kind(&self) -> &'static str {
        match self {
            Checkpoint::Http(_) => "http",
            Checkpoint::S3Roundtrip(_) => "s3-roundtrip",
            Checkpoint::StorageAndPolicy(_) => "storage-and-policy",
            Checkpoint::SparkJob(_) => "spark-job",
            Checkpoint::SqlRoundtrip(_) => "sql-roundtrip",
            Checkpoint::ScriptJob(_) => "script-job",
            Checkpoint::NotebookCell(_) => "notebook-cell",
            Checkpoint::NotebookParagraph(_) => "notebook-paragraph",
            Checkpoint::NifiCluster(_) => "nifi-cluster",
        }
    }
}

/// Work after an addon is ready and before its checkpoint: one variant per kind in `src/setup/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", content = "with", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Setup {
    /// Garage's layout, keys and buckets through its admin API.
    GarageAdmin(GarageAdmin),
    /// Make the addon's StorageClass the only default.
    DefaultStorageClass(DefaultStorageClass),
    /// Spark's node pool and the user's namespace (settings come from parameters).
    Spark,
    /// The lake's raw bucket notifies the addon's receiver of every object created (the
    /// `lake-events` and `bucket-notifications` contracts).
    BucketNotifications,
}

/// Settings of the `garage-admin` setup.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GarageAdmin {
    /// Service in the addon namespace.
    pub service: String,
    /// Its admin API port.
    pub port: u16,
    /// Secret holding the admin token.
    pub secret: String,
}

/// Settings of the `default-storage-class` setup.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DefaultStorageClass {
    /// The StorageClass that stays default.
    pub storage_class: String,
}

impl Setup {
    /// Every kind, as written in `addon.yaml`.
    pub const KINDS: [&'static str; 4] = ["garage-admin", "default-storage-class", "spark", "bucket-notifications"];

    /// The kind as written in `addon.yaml`.
    pub fn kind(&self) -> &'static str {
        match self {
            Setup::GarageAdmin(_) => "garage-admin",
            Setup::DefaultStorageClass(_) => "default-storage-class",
            Setup::BucketNotifications => "bucket-notifications",
            Setup::Spark => "spark",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(yaml: &str) -> Result<T, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn kinds_and_settings_are_checked_when_parsed() {
        let ok: Checkpoint = parse("kind: http\nwith: {service: web, port: 80}").unwrap();
        assert!(matches!(&ok, Checkpoint::Http(h) if h.path == "/" && h.status == 200));
        assert_eq!(ok.kind(), "http");
        let unit: Setup = parse("kind: spark").unwrap();
        assert_eq!(unit.kind(), "spark");
        for bad in [
            "kind: htp\nwith: {service: web, port: 80}",
            "kind: http\nwith: {service: web, port: 99999}",
            "kind: http\nwith: {service: web}",
            "kind: http\nwith: {service: web, port: 80, colour: red}",
            "kind: sql-roundtrip\nwith: {service: q, port: 8080, engine: hive}",
        ] {
            assert!(parse::<Checkpoint>(bad).is_err(), "{bad}");
        }
    }
}
