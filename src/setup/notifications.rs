//! The `bucket-notifications` setup: the lake's raw bucket notifies the receiver the addon
//! provides (`lake-events`) of every object created — set through a port-forward to the lake with
//! the key its backend names (`bucket-notifications`: MinIO's root key; a service key may not).
//! A backend without notifications (Garage) is said, not failed: the receiver's sweep cleans
//! on its schedule instead. Setting the same rule again changes nothing.

use super::{Context, SetupError};
use crate::s3::S3;

pub(super) async fn run(ctx: &Context<'_>) -> Result<Vec<String>, SetupError> {
    let missing = |what: &str| SetupError::Missing(format!("the {what} contract"));
    let lake = ctx.contracts.lake.as_ref().ok_or_else(|| missing("lake"))?;
    let events = ctx.contracts.lake_events.as_ref().ok_or_else(|| missing("lake-events"))?;
    let raw = lake.bucket("raw").map_err(|e| SetupError::Missing(e.to_string()))?;
    let Some(admin) = &ctx.contracts.bucket_notifications else {
        return Ok(vec![format!(
            "the lake's backend sends no bucket notifications: the {} sweep cleans {raw} on its schedule",
            events.target.to_ascii_lowercase()
        )]);
    };
    let user = super::secret_value(ctx.client, &admin.namespace, &admin.admin_secret, "user").await?;
    let password = super::secret_value(ctx.client, &admin.namespace, &admin.admin_secret, "password").await?;
    let fwd = crate::forward::forward(ctx.client, &lake.namespace, &lake.service, lake.port, 0).await?;
    let s3 = S3::new(&format!("http://{}", fwd.local), &lake.region, &user, &password).map_err(|e| SetupError::Failed(e.to_string()))?;
    let id = events.target.to_ascii_lowercase();
    s3.notify_created(raw, &id, &events.arn)
        .await
        .map_err(|e| SetupError::Failed(format!("cannot make bucket {raw} notify {} ({}): {e}", events.endpoint, events.arn)))?;
    Ok(vec![format!("bucket {raw} notifies {} of every object created", events.endpoint)])
}
