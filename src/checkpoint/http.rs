//! The `http` checkpoint: GET a path of a service through a port-forward and expect a status.
//! Settings: `service`, `port`, `path` (default `/`), `status` (default 200).

use std::time::Instant;

use serde_json::json;

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::HttpCheck;
use crate::fetch::sha256;
use crate::forward;

pub(super) async fn run(ctx: &Context<'_>, s: &HttpCheck) -> Result<Evidence, CheckpointError> {
    let HttpCheck { service, port, path, status: expect } = s;
    let (port, expect) = (*port, *expect);
    let fwd = forward::forward(ctx.client, &ctx.addon.namespace, &service, port, 0).await?;
    let url = format!("http://{}{path}", fwd.local);
    let http = crate::local_http_client(std::time::Duration::from_secs(30)).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let started = Instant::now();
    let response =
        http.get(&url).send().await.map_err(|e| CheckpointError::Failed(format!("GET {path} on {service}:{port} failed: {e}")))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| CheckpointError::Failed(format!("reading the answer failed: {e}")))?;
    let millis = started.elapsed().as_millis() as u64;
    if status != expect {
        return Err(CheckpointError::Failed(format!("GET {path} on {service}:{port} answered {status}, expected {expect}")));
    }
    Ok(Evidence::from([
        ("request".into(), json!(format!("GET {path}"))),
        ("pod".into(), json!(fwd.pod)),
        ("status".into(), json!(status)),
        ("bytes".into(), json!(body.len())),
        ("sha256".into(), json!(sha256(&body))),
        ("latencyMs".into(), json!(millis)),
    ]))
}
