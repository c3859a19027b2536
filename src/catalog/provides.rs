//! What a phase or an addon offers the phases after it, declared in `phases.yaml` and
//! `addon.yaml` (`provides:`), and what a phase takes from them (`uses:`). Resolving these into
//! values (`crate::contracts`) is the only way one phase learns another's Service, port, buckets
//! or keys: no other phase's name, Service, port or bucket is written in code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sql::Engine;

/// What a phase or addon provides. Each contract is declared once across a phase and its
/// selected addons.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Provides {
    /// The lake: S3 endpoint, bucket names by role, a Secret per service key.
    #[serde(default)]
    pub lake: Option<LakeDecl>,
    /// A Hive Metastore (its release is the providing addon's version).
    #[serde(default)]
    pub metastore: Option<ServiceDecl>,
    /// A SQL engine speaking the Trino/Presto REST protocol.
    #[serde(default)]
    pub sql_engine: Option<SqlEngineDecl>,
    /// Spark's configuration for clients that submit or run Spark (the ConfigMap holding
    /// spark-defaults.conf and the pod templates).
    #[serde(default)]
    pub spark: Option<SparkDecl>,
    /// A receiver of the lake's bucket notifications (objects created in the raw bucket).
    #[serde(default)]
    pub lake_events: Option<LakeEventsDecl>,
    /// The lake's server sends bucket notifications; configuring them takes this Secret's key.
    #[serde(default)]
    pub bucket_notifications: Option<BucketNotificationsDecl>,
}

/// How a lake backend's bucket notifications are configured.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BucketNotificationsDecl {
    /// Secret (the addon's namespace) with the key that may set a bucket's notifications, as
    /// `user` and `password`.
    pub admin_secret: String,
}

/// A receiver of the lake's bucket notifications as declared by its addon.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LakeEventsDecl {
    /// The notification target's name at the S3 server (letters and digits).
    pub target: String,
    /// The Service receiving the notifications, in the addon's namespace.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// The Secret (in the lake's namespace, copied to the receiver's) holding the bearer token
    /// the server sends, under key `token`.
    pub token_secret: String,
}

/// Spark's configuration as declared by its addon.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SparkDecl {
    /// ConfigMap with spark-defaults.conf and the driver/executor pod templates.
    pub configmap: String,
    /// Parameter of the phase holding the Spark release.
    pub version_parameter: String,
}

/// A Service in the provider's namespace.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceDecl {
    /// Service name.
    pub service: String,
    /// Its port.
    pub port: u16,
}

/// The lake as declared by the object-storage phase.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LakeDecl {
    /// The S3 Service both backends expose.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// The region clients sign for.
    pub region: String,
    /// Bucket role → the phase parameter naming that bucket.
    pub buckets: BTreeMap<String, String>,
    /// Secret of service `x`'s key: this prefix + `x`.
    pub key_secret_prefix: String,
}

/// A SQL engine as declared by its addon.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SqlEngineDecl {
    /// Service name.
    pub service: String,
    /// Its HTTP port.
    pub port: u16,
    /// Which REST dialect.
    pub engine: Engine,
    /// The engine's catalog over the lake's tables.
    pub catalog: String,
}

/// What a phase takes from the phases it depends on or runs after.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Uses {
    /// Follow the lake's metastore when one is installed or planned.
    #[serde(default)]
    pub metastore: Option<FollowMetastore>,
    /// Run on dedicated nodes when some carry a label.
    #[serde(default)]
    pub labelled_nodes: Option<LabelledNodes>,
    /// Addon → the Spark releases it is built for (its image carries Spark, or its Java runs
    /// only some); while that addon is planned, any other release of the spark phase is refused
    /// before anything is applied.
    #[serde(default)]
    pub spark_releases: Option<BTreeMap<String, Vec<String>>>,
}

/// A parameter of the using phase set when nodes carry `<label>=true`, unless the user set it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelledNodes {
    /// The node label.
    pub label: String,
    /// Parameter (of the using phase) to set.
    pub parameter: String,
    /// Its value when labelled nodes exist.
    pub value: String,
    /// The value that overrides it, for the note.
    pub otherwise: String,
}

/// Parameters of the using phase that follow an installed metastore unless the user set them.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FollowMetastore {
    /// Parameter (of the using phase) that switches the metastore on.
    pub parameter: String,
    /// Its value meaning "use the installed metastore".
    pub value: String,
    /// Parameter (of the using phase) set to the metastore's release.
    pub release_parameter: String,
}
