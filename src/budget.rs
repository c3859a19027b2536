//! Budget: the CPU and memory requests of rendered objects, per pod template times replicas,
//! so `phases` prints what a phase really asks the scheduler for.

use serde_json::Value;

use crate::validation::quantity_bytes;

/// Requests summed over objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// CPU in millicores.
    pub cpu_milli: u64,
}

impl std::ops::Add for Requests {
    type Output = Requests;
    fn add(self, o: Requests) -> Requests {
        Requests { memory_bytes: self.memory_bytes + o.memory_bytes, cpu_milli: self.cpu_milli + o.cpu_milli }
    }
}

impl Requests {
    /// A declared memory and CPU amount.
    pub fn of(b: &crate::catalog::Budget) -> Requests {
        Requests { memory_bytes: quantity_bytes(&b.memory).unwrap_or(0), cpu_milli: cpu_milli(&b.cpu) }
    }

    /// `1.5 GiB / 750m CPU`.
    pub fn human(&self) -> String {
        let mib = self.memory_bytes >> 20;
        let memory = if mib < 1024 { format!("{mib} MiB") } else { format!("{:.2} GiB", mib as f64 / 1024.0) };
        format!("{memory} / {}m CPU", self.cpu_milli)
    }
}

/// Requests of workloads (Deployments, StatefulSets, Jobs: pod template × replicas;
/// DaemonSets: per node; a CronJob's Job and a Knative Service's pod: one while it runs). Init
/// containers run before the others, so only the largest counts.
pub fn requests(objects: &[Value]) -> Requests {
    objects.iter().map(object_requests).fold(Requests::default(), |a, b| a + b)
}

fn object_requests(obj: &Value) -> Requests {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let knative = obj.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("serving.knative.dev/"));
    let (replicas, template) = match kind {
        "Deployment" | "StatefulSet" => (obj.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(1), "/spec/template/spec"),
        "DaemonSet" | "Job" => (1, "/spec/template/spec"),
        "CronJob" => (1, "/spec/jobTemplate/spec/template/spec"),
        "Service" if knative => (1, "/spec/template/spec"),
        _ => return Requests::default(),
    };
    let Some(pod) = obj.pointer(template) else { return Requests::default() };
    let sum = |key: &str| -> Vec<Requests> {
        pod.get(key).and_then(Value::as_array).map(|cs| cs.iter().map(container_requests).collect()).unwrap_or_default()
    };
    let main = sum("containers").into_iter().fold(Requests::default(), |a, b| a + b);
    let init = sum("initContainers").into_iter().fold(Requests::default(), |a, b| Requests {
        memory_bytes: a.memory_bytes.max(b.memory_bytes),
        cpu_milli: a.cpu_milli.max(b.cpu_milli),
    });
    let per_pod = Requests { memory_bytes: main.memory_bytes.max(init.memory_bytes), cpu_milli: main.cpu_milli.max(init.cpu_milli) };
    Requests { memory_bytes: per_pod.memory_bytes * replicas, cpu_milli: per_pod.cpu_milli * replicas }
}

fn container_requests(c: &Value) -> Requests {
    let get = |k: &str| c.pointer(&format!("/resources/requests/{k}")).and_then(Value::as_str).unwrap_or("0").to_string();
    Requests { memory_bytes: quantity_bytes(&get("memory")).unwrap_or(0), cpu_milli: cpu_milli(&get("cpu")) }
}

/// CPU quantity in millicores (`500m`, `1`, `0.5`).
pub fn cpu_milli(q: &str) -> u64 {
    match q.strip_suffix('m') {
        Some(m) => m.parse().unwrap_or(0),
        None => q.parse::<f64>().map(|c| (c * 1000.0) as u64).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sums_replicas_and_takes_largest_init() {
        let c = |m: &str, cpu: &str| json!({"resources": {"requests": {"memory": m, "cpu": cpu}}});
        let deploy = json!({"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {
            "containers": [c("256Mi", "100m"), c("256Mi", "100m")], "initContainers": [c("1Gi", "50m")]}}}});
        let cm = json!({"kind": "ConfigMap"});
        assert_eq!(requests(&[deploy, cm]), Requests { memory_bytes: 2 << 30, cpu_milli: 400 });
        let pod = json!({"containers": [c("128Mi", "25m")]});
        let ksvc = json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "spec": {"template": {"spec": pod}}});
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}});
        let plain = json!({"apiVersion": "v1", "kind": "Service", "spec": {"template": {"spec": pod}}});
        assert_eq!(requests(&[ksvc, cron, plain]), Requests { memory_bytes: 256 << 20, cpu_milli: 50 });
        assert_eq!(cpu_milli("1.5"), 1500);
    }
}
