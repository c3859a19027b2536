//! Contracts between phases, resolved once per command: the lake (S3 endpoint, buckets by role,
//! key Secrets), the metastore (URI and release) and the SQL engine (endpoint and dialect). The
//! catalog declares them (`provides:`); this module turns the declarations into values for the
//! phases' addons as planned, installed, or — without a cluster — as the parameters select.
//! Templates, setup, checkpoints, commands and inference read these values and nothing else.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, PhaseDef, Provides};
use crate::params::Resolved;
use crate::plan::selected_addons;
use crate::sql::Engine;

/// The resolved contracts of a catalog.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Contracts {
    /// The lake, when a phase provides one.
    pub lake: Option<Lake>,
    /// The metastore, when a phase provides one.
    pub metastore: Option<Metastore>,
    /// The SQL engine, when a phase provides one.
    pub sql_engine: Option<SqlEngine>,
    /// Spark's configuration, when a phase provides it.
    pub spark: Option<SparkConf>,
    /// The receiver of the lake's bucket notifications, when a phase provides one.
    pub lake_events: Option<LakeEvents>,
    /// How to configure the lake's bucket notifications, when its backend sends them.
    pub bucket_notifications: Option<BucketNotifications>,
}

/// The lake backend's bucket notifications.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BucketNotifications {
    /// Namespace of the Secret.
    pub namespace: String,
    /// Secret whose `user`/`password` key may configure them.
    pub admin_secret: String,
}

/// The receiver of the lake's bucket notifications: MinIO posts every object created in the
/// raw bucket to it (Garage has no notifications).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LakeEvents {
    /// The phase providing it.
    pub phase: String,
    /// The notification target's name; MinIO's environment names it in capitals
    /// (`MINIO_NOTIFY_WEBHOOK_*_<TARGET>`).
    pub target: String,
    /// The ARN a bucket's notification configuration names it by.
    pub arn: String,
    /// The URL MinIO posts to.
    pub endpoint: String,
    /// Secret (lake namespace, and copied to the receiver's) with the bearer token.
    pub token_secret: String,
}

/// Spark's configuration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SparkConf {
    /// The phase providing it.
    pub phase: String,
    /// The addon providing it (its run-time templates submit applications).
    pub addon: String,
    /// Namespace of the ConfigMap (and of submissions).
    pub namespace: String,
    /// ConfigMap with spark-defaults.conf and the pod templates.
    pub configmap: String,
    /// The Spark release, e.g. `4.0.1`.
    pub release: String,
    /// The spark phase's image of that release (a notebook engine without Spark of its own
    /// copies the distribution from it).
    pub image: String,
}

/// The lake.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Lake {
    /// The phase providing it.
    pub phase: String,
    /// Namespace of its Service and key Secrets.
    pub namespace: String,
    /// The S3 Service.
    pub service: String,
    /// Its port.
    pub port: u16,
    /// Region clients sign for.
    pub region: String,
    /// The endpoint inside the cluster, e.g. `http://s3.object-storage.svc.cluster.local:9000`.
    pub endpoint: String,
    /// Bucket role → bucket name.
    pub buckets: BTreeMap<String, String>,
    /// Secret of service `x`'s key: this prefix + `x`.
    pub key_secret_prefix: String,
}

impl Lake {
    /// The bucket of `role` (`warehouse`, `raw`, `clean`).
    pub fn bucket(&self, role: &str) -> Result<&str, ContractError> {
        self.buckets.get(role).map(String::as_str).ok_or_else(|| ContractError::Missing(format!("lake bucket role {role}")))
    }
}

/// The metastore.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metastore {
    /// The phase providing it.
    pub phase: String,
    /// The addon providing it (its version is the release).
    pub addon: String,
    /// Its release, e.g. `4.0.1`.
    pub release: String,
    /// Thrift URI inside the cluster.
    pub uri: String,
}

/// The SQL engine.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SqlEngine {
    /// The phase providing it.
    pub phase: String,
    /// Namespace of its Service.
    pub namespace: String,
    /// Its Service.
    pub service: String,
    /// Its HTTP port.
    pub port: u16,
    /// Its REST dialect.
    pub engine: Engine,
    /// Its catalog over the lake's tables.
    pub catalog: String,
}

/// Why contracts cannot be resolved.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ContractError {
    /// Something a phase needs is not provided.
    #[error("no phase provides the {0}")]
    Missing(String),
    /// Two bucket roles name the same bucket (a key granted one role would reach the other's).
    #[error(
        "phase {phase}: {first} and {second} both name bucket {bucket}; each role needs its own bucket, or a key granted one reaches the other"
    )]
    SharedBucket {
        /// The providing phase.
        phase: String,
        /// One parameter.
        first: String,
        /// The other.
        second: String,
        /// The bucket both name.
        bucket: String,
    },
    /// A declared bucket parameter has no value.
    #[error("phase {phase}: bucket parameter {parameter} has no value")]
    Bucket {
        /// The providing phase.
        phase: String,
        /// The parameter.
        parameter: String,
    },
}

/// What a phase has: its addons and its parameters (full keys).
#[derive(Debug, Clone)]
pub struct PhaseFacts {
    /// Addons in install order.
    pub addons: Vec<String>,
    /// Parameters by full key.
    pub params: BTreeMap<String, Value>,
}

/// Resolve every phase's contracts. `known`: phases whose addons and parameters are fixed
/// (planned in this run, or installed); the others as `resolved` selects.
pub fn resolve(catalog: &Catalog, resolved: &Resolved, known: &BTreeMap<String, PhaseFacts>) -> Result<Contracts, ContractError> {
    let mut out = Contracts::default();
    for phase in &catalog.phases {
        let facts = known
            .get(&phase.name)
            .cloned()
            .unwrap_or_else(|| PhaseFacts { addons: selected_addons(phase, resolved), params: resolved.clone() });
        let declared = std::iter::once((None, &phase.provides))
            .chain(facts.addons.iter().filter_map(|a| catalog.addons.get(a)).map(|a| (Some(a), &a.provides)));
        for (addon, provides) in declared {
            let namespace = addon.map(|a| a.namespace.clone()).or_else(|| namespace_of(catalog, phase, &facts)).unwrap_or_default();
            add(&mut out, phase, addon, &namespace, provides, &facts)?;
        }
    }
    Ok(out)
}

/// Contracts of the catalog as `resolved` selects, with no cluster (render, lint, tests).
pub fn of_catalog(catalog: &Catalog, resolved: &Resolved) -> Result<Contracts, ContractError> {
    resolve(catalog, resolved, &BTreeMap::new())
}

fn add(
    out: &mut Contracts,
    phase: &PhaseDef,
    addon: Option<&crate::catalog::Addon>,
    namespace: &str,
    provides: &Provides,
    facts: &PhaseFacts,
) -> Result<(), ContractError> {
    if let Some(lake) = &provides.lake {
        out.lake = Some(lake_contract(phase, namespace, lake, facts)?);
    }
    if let (Some(m), Some(addon)) = (&provides.metastore, addon) {
        out.metastore = Some(Metastore {
            phase: phase.name.clone(),
            addon: addon.name.clone(),
            release: addon.version.clone(),
            uri: format!("thrift://{}", host(&m.service, namespace, m.port)),
        });
    }
    if let (Some(conf), Some(addon)) = (&provides.spark, addon) {
        let version = facts.params.get(&format!("{}.{}", phase.name, conf.version_parameter)).and_then(Value::as_str);
        out.spark = Some(SparkConf {
            phase: phase.name.clone(),
            addon: addon.name.clone(),
            namespace: namespace.into(),
            configmap: conf.configmap.clone(),
            release: version.unwrap_or_default().to_string(),
            image: version.and_then(|v| addon.images.get(&format!("spark-{v}"))).cloned().unwrap_or_default(),
        });
    }
    if let Some(e) = &provides.lake_events {
        let target = e.target.to_ascii_uppercase();
        out.lake_events = Some(LakeEvents {
            phase: phase.name.clone(),
            arn: format!("arn:minio:sqs::{target}:webhook"),
            target,
            endpoint: format!("http://{}/", host(&e.service, namespace, e.port)),
            token_secret: e.token_secret.clone(),
        });
    }
    if let Some(n) = &provides.bucket_notifications {
        out.bucket_notifications = Some(BucketNotifications { namespace: namespace.into(), admin_secret: n.admin_secret.clone() });
    }
    if let Some(e) = &provides.sql_engine {
        out.sql_engine = Some(SqlEngine {
            phase: phase.name.clone(),
            namespace: namespace.into(),
            service: e.service.clone(),
            port: e.port,
            engine: e.engine,
            catalog: e.catalog.clone(),
        });
    }
    Ok(())
}

/// The lake as `phase` declares it, its buckets named by the phase's parameters.
fn lake_contract(phase: &PhaseDef, namespace: &str, lake: &crate::catalog::LakeDecl, facts: &PhaseFacts) -> Result<Lake, ContractError> {
    let mut buckets = BTreeMap::new();
    for (role, param) in &lake.buckets {
        let key = format!("{}.{param}", phase.name);
        let name = facts.params.get(&key).and_then(Value::as_str);
        let name = name.ok_or_else(|| ContractError::Bucket { phase: phase.name.clone(), parameter: key.clone() })?;
        if let Some((other, _)) = buckets.iter().find(|(_, b): &(&String, &String)| *b == name) {
            let first = format!("{}.{}", phase.name, lake.buckets[other]);
            return Err(ContractError::SharedBucket { phase: phase.name.clone(), first, second: key, bucket: name.into() });
        }
        buckets.insert(role.clone(), name.to_string());
    }
    Ok(Lake {
        phase: phase.name.clone(),
        namespace: namespace.into(),
        service: lake.service.clone(),
        port: lake.port,
        region: lake.region.clone(),
        endpoint: format!("http://{}", host(&lake.service, namespace, lake.port)),
        buckets,
        key_secret_prefix: lake.key_secret_prefix.clone(),
    })
}

/// A Service's address inside the cluster.
fn host(service: &str, namespace: &str, port: u16) -> String {
    format!("{service}.{namespace}.svc.cluster.local:{port}")
}

/// The namespace of a phase's contracts declared at phase level: that of its first addon.
fn namespace_of(catalog: &Catalog, phase: &PhaseDef, facts: &PhaseFacts) -> Option<String> {
    let first = facts.addons.first().or_else(|| phase.addons.first())?;
    catalog.addons.get(first).map(|a| a.namespace.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Overrides, resolve as resolve_params};
    use crate::profile::Profile;

    #[test]
    fn the_embedded_catalog_resolves_the_lake_metastore_and_engine() {
        let catalog = Catalog::embedded().unwrap();
        let mut o = Overrides::default();
        o.parse_set("object-storage.warehouse-bucket=tables").unwrap();
        let resolved = resolve_params(&catalog, Profile::Laptop, &o).unwrap();
        let c = of_catalog(&catalog, &resolved).unwrap();
        let lake = c.lake.unwrap();
        assert_eq!(lake.endpoint, "http://s3.object-storage.svc.cluster.local:9000");
        assert_eq!(lake.bucket("warehouse").unwrap(), "tables");
        assert_eq!(c.metastore.unwrap().uri, "thrift://hive-metastore.sql.svc.cluster.local:9083");
        assert_eq!(c.sql_engine.as_ref().unwrap().engine, Engine::Trino);
        let spark = c.spark.unwrap();
        assert_eq!((spark.namespace.as_str(), spark.configmap.as_str(), spark.release.as_str()), ("spark", "spark-conf", "4.0.1"));

        let mut shared = o.clone();
        shared.parse_set("object-storage.raw-bucket=tables").unwrap();
        let err = of_catalog(&catalog, &resolve_params(&catalog, Profile::Laptop, &shared).unwrap()).unwrap_err();
        assert!(matches!(&err, ContractError::SharedBucket { bucket, .. } if bucket == "tables"), "{err}");

        o.parse_set("sql.engine=presto").unwrap();
        let resolved = resolve_params(&catalog, Profile::Laptop, &o).unwrap();
        let installed = BTreeMap::from([(
            "sql".to_string(),
            PhaseFacts { addons: vec!["postgres".into(), "hive-metastore".into(), "trino".into()], params: resolved.clone() },
        )]);
        let c = resolve(&catalog, &resolved, &installed).unwrap();
        assert_eq!(
            (c.metastore.unwrap().release.as_str(), c.sql_engine.unwrap().engine),
            ("4.0.1", Engine::Trino),
            "what is installed wins over the parameters"
        );
    }
}
