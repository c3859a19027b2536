//! Patches on an addon's upstream objects: upstream manifests are applied as published, except
//! for what `addon.yaml` changes on the parsed objects — a JSON merge patch (RFC 7386) or the
//! CPU and memory requests of named containers. String values may use the addon's parameters
//! (`{{ params.cpu }}`); the patch is ours, the upstream text never goes through the template
//! engine. A patch whose object is missing is an error: upstream changed under us.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One patch of an upstream object.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Patch {
    /// Kind of the object.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace (cluster-scoped objects have none).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Why we change it (shown by `render` readers; required so every patch says).
    pub why: String,
    /// A JSON merge patch of the object.
    #[serde(default)]
    pub merge: Option<Value>,
    /// Container name → requests merged into that container's `resources.requests`.
    #[serde(default)]
    pub requests: BTreeMap<String, Map<String, Value>>,
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PatchError {
    /// No upstream object matches.
    #[error("patch of {kind} {name}: no such object in the upstream manifests")]
    Missing {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// The object has no container of that name.
    #[error("patch of {kind} {name}: no container {container}")]
    Container {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The container.
        container: String,
    },
    /// A value's template failed.
    #[error("patch of {kind} {name}: {detail}")]
    Template {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The template error.
        detail: String,
    },
}

/// Apply `patches` to `objects`; `render` fills a string value's template.
///
/// # Errors
/// A patch whose object or container is missing, or whose value does not render.
pub fn apply(objects: &mut [Value], patches: &[Patch], render: &dyn Fn(&str) -> Result<String, String>) -> Result<(), PatchError> {
    for p in patches {
        let target = objects.iter_mut().find(|o| {
            o["kind"] == p.kind.as_str()
                && o["metadata"]["name"] == p.name.as_str()
                && o["metadata"]["namespace"].as_str() == p.namespace.as_deref()
        });
        let target = target.ok_or_else(|| PatchError::Missing { kind: p.kind.clone(), name: p.name.clone() })?;
        let template_error = |detail| PatchError::Template { kind: p.kind.clone(), name: p.name.clone(), detail };
        if let Some(merge) = &p.merge {
            merge_patch(target, &rendered(merge, render).map_err(template_error)?);
        }
        for (container, requests) in &p.requests {
            let containers = target.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut);
            let found = containers.and_then(|cs| cs.iter_mut().find(|c| c["name"] == container.as_str()));
            let c =
                found.ok_or_else(|| PatchError::Container { kind: p.kind.clone(), name: p.name.clone(), container: container.clone() })?;
            let patch =
                serde_json::json!({"resources": {"requests": rendered(&Value::Object(requests.clone()), render).map_err(template_error)?}});
            merge_patch(c, &patch);
        }
    }
    Ok(())
}

/// `value` with every string rendered.
fn rendered(value: &Value, render: &dyn Fn(&str) -> Result<String, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(render(s)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| rendered(v, render)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), rendered(v, render)?))).collect::<Result<_, String>>()?),
        other => other.clone(),
    })
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn objects() -> Vec<Value> {
        vec![
            json!({"kind": "ConfigMap", "metadata": {"name": "config-network", "namespace": "knative-serving"}, "data": {"_example": "x"}}),
            json!({"kind": "Service", "metadata": {"name": "kourier", "namespace": "kourier-system"}, "spec": {"type": "LoadBalancer", "ports": [1]}}),
            json!({"kind": "Deployment", "metadata": {"name": "activator", "namespace": "knative-serving"},
                "spec": {"template": {"spec": {"containers": [{"name": "activator", "resources": {"requests": {"cpu": "300m", "memory": "60Mi"}, "limits": {"cpu": "1"}}}]}}}}),
        ]
    }

    fn patch(kind: &str, name: &str, ns: &str) -> Patch {
        Patch {
            kind: kind.into(),
            name: name.into(),
            namespace: Some(ns.into()),
            why: "test".into(),
            merge: None,
            requests: BTreeMap::new(),
        }
    }

    #[test]
    fn merges_requests_and_templates_apply_to_the_named_objects_only() {
        let mut objs = objects();
        let render = |s: &str| Ok(s.replace("{{ params.cpu }}", "25m"));
        let mut network = patch("ConfigMap", "config-network", "knative-serving");
        network.merge = Some(json!({"data": {"ingress-class": "kourier.ingress.networking.knative.dev", "_example": null}}));
        let mut service = patch("Service", "kourier", "kourier-system");
        service.merge = Some(json!({"spec": {"type": "ClusterIP"}}));
        let mut activator = patch("Deployment", "activator", "knative-serving");
        activator.requests.insert("activator".into(), json!({"cpu": "{{ params.cpu }}"}).as_object().unwrap().clone());
        apply(&mut objs, &[network, service, activator], &render).unwrap();
        assert_eq!(objs[0]["data"], json!({"ingress-class": "kourier.ingress.networking.knative.dev"}), "null removes");
        assert_eq!(objs[1]["spec"], json!({"type": "ClusterIP", "ports": [1]}), "other fields kept");
        let resources = &objs[2]["spec"]["template"]["spec"]["containers"][0]["resources"];
        assert_eq!(resources, &json!({"requests": {"cpu": "25m", "memory": "60Mi"}, "limits": {"cpu": "1"}}));
    }

    #[test]
    fn a_missing_object_or_container_and_a_failing_template_are_errors() {
        let render = |s: &str| if s.contains("{{") { Err("undefined value".to_string()) } else { Ok(s.to_string()) };
        let mut gone = patch("ConfigMap", "config-network", "other-namespace");
        gone.merge = Some(json!({}));
        assert!(matches!(apply(&mut objects(), &[gone], &render), Err(PatchError::Missing { .. })));
        let mut sidecar = patch("Deployment", "activator", "knative-serving");
        sidecar.requests.insert("sidecar".into(), Map::new());
        assert!(matches!(apply(&mut objects(), &[sidecar], &render), Err(PatchError::Container { .. })));
        let mut bad = patch("Service", "kourier", "kourier-system");
        bad.merge = Some(json!({"spec": {"type": "{{ params.nope }}"}}));
        assert!(matches!(apply(&mut objects(), &[bad], &render), Err(PatchError::Template { .. })));
    }
}
