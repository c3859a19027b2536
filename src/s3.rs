//! A small S3 client: presigned requests (rusty-s3, SigV4) sent with reqwest. Path-style
//! addressing, as MinIO and Garage serve it on a single endpoint. Only what checkpoints need:
//! put (plain and multipart), get, head, list, delete.

use std::time::Duration;

use rusty_s3::actions::{CompleteMultipartUpload, CreateMultipartUpload, ListObjectsV2};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

const SIGN_FOR: Duration = Duration::from_secs(600);

/// Why an S3 request failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The endpoint or bucket name cannot form a URL.
    #[error("invalid S3 endpoint or bucket: {0}")]
    Url(String),
    /// No HTTP answer.
    #[error("{op} failed: no answer from the S3 endpoint")]
    Transport {
        /// Operation.
        op: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{op} answered HTTP {status} {code}: {message}")]
    Status {
        /// Operation, e.g. `PUT warehouse/x`.
        op: String,
        /// HTTP status.
        status: u16,
        /// S3 error code (`AccessDenied`, `NoSuchKey`, …).
        code: String,
        /// S3 error message.
        message: String,
    },
    /// The server's answer could not be parsed.
    #[error("{op}: unexpected answer: {detail}")]
    Parse {
        /// Operation.
        op: String,
        /// What was wrong.
        detail: String,
    },
}

impl S3Error {
    /// Whether the server refused the credentials or the permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(self, S3Error::Status { status: 403, .. })
    }
}

/// A client bound to one endpoint and one key.
#[derive(Clone)]
pub struct S3 {
    endpoint: Url,
    region: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl S3 {
    /// A client for `endpoint` (e.g. `http://127.0.0.1:9000`) in `region`.
    pub fn new(endpoint: &str, region: &str, access_key: &str, secret_key: &str) -> Result<S3, S3Error> {
        let endpoint = Url::parse(endpoint).map_err(|e| S3Error::Url(e.to_string()))?;
        let http = crate::local_http_client(Duration::from_secs(120)).map_err(|e| S3Error::Url(e.to_string()))?;
        Ok(S3 { endpoint, region: region.into(), credentials: Credentials::new(access_key, secret_key), http })
    }

    fn bucket(&self, name: &str) -> Result<Bucket, S3Error> {
        Bucket::new(self.endpoint.clone(), UrlStyle::Path, name.to_string(), self.region.clone()).map_err(|e| S3Error::Url(e.to_string()))
    }

    async fn send(&self, op: String, request: reqwest::RequestBuilder) -> Result<reqwest::Response, S3Error> {
        let response = request.send().await.map_err(|source| S3Error::Transport { op: op.clone(), source })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Err(S3Error::Status { op, status, code: xml_field(&body, "Code"), message: xml_field(&body, "Message") })
    }

    /// Upload an object in one request.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let url = b.put_object(Some(&self.credentials), key).sign(SIGN_FOR);
        self.send(format!("PUT {bucket}/{key}"), self.http.put(url).body(body)).await?;
        Ok(())
    }

    /// Upload an object in parts of `part_size` bytes (S3 requires ≥ 5 MiB except the last).
    pub async fn put_multipart(&self, bucket: &str, key: &str, body: &[u8], part_size: usize) -> Result<usize, S3Error> {
        let b = self.bucket(bucket)?;
        let op = format!("MULTIPART PUT {bucket}/{key}");
        let url = b.create_multipart_upload(Some(&self.credentials), key).sign(SIGN_FOR);
        let text = self.send(op.clone(), self.http.post(url)).await?.text().await.unwrap_or_default();
        let created = CreateMultipartUpload::parse_response(&text).map_err(|e| S3Error::Parse { op: op.clone(), detail: e.to_string() })?;
        let upload_id = created.upload_id().to_string();
        let mut etags = Vec::new();
        for (i, chunk) in body.chunks(part_size).enumerate() {
            let url = b.upload_part(Some(&self.credentials), key, (i + 1) as u16, &upload_id).sign(SIGN_FOR);
            let response = self.send(format!("{op} part {}", i + 1), self.http.put(url).body(chunk.to_vec())).await?;
            let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            etags.push(etag);
        }
        let parts = etags.len();
        let complete: CompleteMultipartUpload<'_, _> =
            b.complete_multipart_upload(Some(&self.credentials), key, &upload_id, etags.iter().map(String::as_str));
        let url = complete.sign(SIGN_FOR);
        self.send(format!("{op} complete"), self.http.post(url).body(complete.body())).await?;
        Ok(parts)
    }

    /// Download an object.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Error> {
        let b = self.bucket(bucket)?;
        let url = b.get_object(Some(&self.credentials), key).sign(SIGN_FOR);
        let op = format!("GET {bucket}/{key}");
        let response = self.send(op.clone(), self.http.get(url)).await?;
        Ok(response.bytes().await.map_err(|source| S3Error::Transport { op, source })?.to_vec())
    }

    /// The size of an object.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<u64, S3Error> {
        let (op, response) = self.head_response(bucket, key).await?;
        let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        length.ok_or_else(|| S3Error::Parse { op, detail: "no Content-Length".into() })
    }

    /// HEAD an object: the operation's name (for errors) and the answer.
    async fn head_response(&self, bucket: &str, key: &str) -> Result<(String, reqwest::Response), S3Error> {
        let b = self.bucket(bucket)?;
        let url = b.head_object(Some(&self.credentials), key).sign(SIGN_FOR);
        let op = format!("HEAD {bucket}/{key}");
        let response = self.send(op.clone(), self.http.head(url)).await?;
        Ok((op, response))
    }

    /// An object's user metadata (`x-amz-meta-<name>` headers), by name.
    pub async fn metadata(&self, bucket: &str, key: &str) -> Result<std::collections::BTreeMap<String, String>, S3Error> {
        let (_, response) = self.head_response(bucket, key).await?;
        let meta = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().strip_prefix("x-amz-meta-")?.to_string(), value.to_str().ok()?.to_string())));
        Ok(meta.collect())
    }

    /// Keys under `prefix`, with their sizes (every page of them).
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, S3Error> {
        let b = self.bucket(bucket)?;
        let op = format!("LIST {bucket}/{prefix}");
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = b.list_objects_v2(Some(&self.credentials));
            action.with_prefix(prefix);
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let url = action.sign(SIGN_FOR);
            let text = self.send(op.clone(), self.http.get(url)).await?.text().await.unwrap_or_default();
            let parsed = ListObjectsV2::parse_response(&text).map_err(|e| S3Error::Parse { op: op.clone(), detail: e.to_string() })?;
            keys.extend(parsed.contents.into_iter().map(|c| (c.key, c.size.unwrap_or(0))));
            match parsed.next_continuation_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    /// Have the server post an event to the notification target `arn` for every object created
    /// in `bucket` (PutBucketNotificationConfiguration; MinIO names its webhook targets
    /// `arn:minio:sqs::<TARGET>:webhook`).
    pub async fn notify_created(&self, bucket: &str, id: &str, arn: &str) -> Result<(), S3Error> {
        let body = format!(
            "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><QueueConfiguration><Id>{id}</Id><Queue>{arn}</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>"
        );
        self.configure_notifications(bucket, body).await
    }

    async fn configure_notifications(&self, bucket: &str, body: String) -> Result<(), S3Error> {
        // Garage answers 501: it has no notifications.
        let mut url = self.endpoint.clone();
        url.set_path(&format!("/{bucket}"));
        // rusty-s3 has no action for this request: the same presigning, with the subresource.
        let url = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            rusty_s3::Method::Put,
            url,
            self.credentials.key(),
            self.credentials.secret(),
            None,
            &self.region,
            SIGN_FOR.as_secs(),
            std::iter::once(("notification", "")),
            std::iter::empty(),
        );
        self.send(format!("PUT {bucket}?notification"), self.http.put(url).body(body)).await?;
        Ok(())
    }

    /// Create a bucket (what a service key must not be able to do).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.create_bucket(&self.credentials);
        let url = action.sign(SIGN_FOR);
        self.send(format!("CREATE BUCKET {bucket}"), self.http.put(url).body(action.body())).await?;
        Ok(())
    }

    /// Delete an empty bucket.
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let url = b.delete_bucket(&self.credentials).sign(SIGN_FOR);
        self.send(format!("DELETE BUCKET {bucket}"), self.http.delete(url)).await?;
        Ok(())
    }

    /// Delete an object.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let url = b.delete_object(Some(&self.credentials), key).sign(SIGN_FOR);
        self.send(format!("DELETE {bucket}/{key}"), self.http.delete(url)).await?;
        Ok(())
    }
}

/// The text of the first `<name>…</name>` in an S3 XML error body.
fn xml_field(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    body.split_once(&open).and_then(|(_, rest)| rest.split_once(&close)).map(|(v, _)| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_fields() {
        let body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>";
        assert_eq!(super::xml_field(body, "Code"), "AccessDenied");
        assert_eq!(super::xml_field(body, "Message"), "Access Denied.");
        assert_eq!(super::xml_field("", "Code"), "");
    }
}
