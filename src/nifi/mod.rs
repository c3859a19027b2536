//! A client of a NiFi 2 server's REST API (`/nifi-api`): a bearer token for the single user
//! (`POST /access/token`, a form, HTTPS only), the version (`/flow/about`) and the cluster's
//! state (`/flow/cluster/summary`); flows in [`flow`]. The streaming phase's NiFi checkpoint
//! uses it through a port-forward to NiFi's own self-signed certificate.

pub mod flow;

use std::time::Duration;

use serde_json::Value;

/// Why a NiFi call failed.
#[derive(Debug, thiserror::Error)]
pub enum NifiError {
    /// The server could not be reached or broke the connection.
    #[error("cannot reach NiFi at {url}: {detail}")]
    Unreachable {
        /// What was called.
        url: String,
        /// The cause.
        detail: String,
    },
    /// The server refused the user and password, or the token.
    #[error("NiFi refused the login (HTTP {status} from {url}): {message}")]
    Login {
        /// What was called.
        url: String,
        /// The status.
        status: u16,
        /// NiFi's reason.
        message: String,
    },
    /// The server answered something else than expected (409 while a cluster forms).
    #[error("unexpected answer from {url}: HTTP {status}: {detail}")]
    Protocol {
        /// What was called.
        url: String,
        /// The status.
        status: u16,
        /// What came back.
        detail: String,
    },
}

/// What a request carries.
enum Body {
    /// `application/x-www-form-urlencoded`.
    Form(String),
    /// `application/json`.
    Json(Value),
    /// `multipart/form-data` (a flow definition upload).
    Multipart {
        /// The parts' separator.
        boundary: String,
        /// The parts.
        bytes: Vec<u8>,
    },
}

/// The cluster as the node answering sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSummary {
    /// Whether NiFi runs as a cluster (coordinated through ZooKeeper).
    pub clustered: bool,
    /// Whether this node is connected to it.
    pub connected: bool,
    /// Nodes connected.
    pub connected_nodes: u64,
    /// Nodes known.
    pub total_nodes: u64,
}

/// A NiFi server at `base` (`https://127.0.0.1:8443`); [`Nifi::login`] before the other calls.
pub struct Nifi {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Nifi {
    /// A client that accepts NiFi's self-signed certificate: it is only ever used through a
    /// port-forward on loopback, where the Kubernetes API authenticated the other end.
    ///
    /// # Errors
    /// If the HTTP client cannot be built.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, NifiError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| NifiError::Unreachable { url: base.into(), detail: e.to_string() })?;
        Ok(Nifi { base: base.trim_end_matches('/').into(), http, token: None })
    }

    /// Get a bearer token for `user`; it goes with every later call.
    ///
    /// # Errors
    /// Unreachable, or the login refused.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), NifiError> {
        let form =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("username", user).append_pair("password", password).finish();
        let (status, body) = self.send(reqwest::Method::POST, "/access/token", Some(Body::Form(form))).await?;
        let url = self.url("/access/token");
        match status {
            200 | 201 if !body.trim().is_empty() => {
                self.token = Some(body.trim().to_string());
                Ok(())
            }
            400 | 401 | 403 | 409 => Err(NifiError::Login { url, status, message: body }),
            _ => Err(NifiError::Protocol { url, status, detail: body }),
        }
    }

    /// The running NiFi's version.
    ///
    /// # Errors
    /// As [`Nifi::call`].
    pub async fn version(&self) -> Result<String, NifiError> {
        let about = self.call("/flow/about").await?;
        about["about"]["version"].as_str().map(str::to_string).ok_or_else(|| self.protocol("/flow/about", &about))
    }

    /// The cluster's state.
    ///
    /// # Errors
    /// As [`Nifi::call`]; 409 while the cluster is still forming.
    pub async fn cluster_summary(&self) -> Result<ClusterSummary, NifiError> {
        let answer = self.call("/flow/cluster/summary").await?;
        let s = &answer["clusterSummary"];
        let flag = |name: &str| s[name].as_bool().ok_or_else(|| self.protocol("/flow/cluster/summary", &answer));
        Ok(ClusterSummary {
            clustered: flag("clustered")?,
            connected: flag("connectedToCluster")?,
            connected_nodes: s["connectedNodeCount"].as_u64().unwrap_or(0),
            total_nodes: s["totalNodeCount"].as_u64().unwrap_or(0),
        })
    }

    /// GET `path` under `/nifi-api` with the token; its JSON.
    ///
    /// # Errors
    /// Unreachable, the token refused (401, 403), or any other non-2xx answer.
    async fn call(&self, path: &str) -> Result<Value, NifiError> {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// `method` on `path` under `/nifi-api` with the token and `body`; the JSON answer.
    ///
    /// # Errors
    /// As [`Nifi::call`].
    async fn request(&self, method: reqwest::Method, path: &str, body: Option<Body>) -> Result<Value, NifiError> {
        let (status, body) = self.send(method, path, body).await?;
        let url = self.url(path);
        match status {
            200..=299 => serde_json::from_str(&body).map_err(|_| NifiError::Protocol { url, status, detail: body }),
            401 | 403 => Err(NifiError::Login { url, status, message: body }),
            _ => Err(NifiError::Protocol { url, status, detail: body }),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Body>) -> Result<(u16, String), NifiError> {
        let url = self.url(path);
        // NiFi answers 421 to a Host header whose port is neither its own nor allowed, and a
        // port-forward's local port is random: name no port.
        let mut req = self.http.request(method, &url).header(reqwest::header::HOST, "localhost");
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req = match body {
            Some(Body::Form(form)) => req.header("Content-Type", "application/x-www-form-urlencoded").body(form),
            Some(Body::Json(value)) => req.header("Content-Type", "application/json").body(value.to_string()),
            Some(Body::Multipart { boundary, bytes }) => {
                req.header("Content-Type", format!("multipart/form-data; boundary={boundary}")).body(bytes)
            }
            None => req,
        };
        let resp = req.send().await.map_err(|e| NifiError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| NifiError::Unreachable { url, detail: e.to_string() })?;
        Ok((status, body))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/nifi-api{path}", self.base)
    }

    fn protocol(&self, path: &str, answer: &Value) -> NifiError {
        NifiError::Protocol { url: self.url(path), status: 200, detail: answer.to_string() }
    }
}

#[cfg(test)]
mod tests {
    //! Against a loopback server answering with pages in the shapes NiFi 2.11.0 sends
    //! (read at apache/nifi tag rel/nifi-2.11.0: AccessResource's `/access/token` — 201 with
    //! the JWT as text/plain, 400 for bad credentials through IllegalArgumentExceptionMapper —
    //! and the AboutDTO and ClusterSummaryDTO entities). Plain HTTP: the TLS layer is reqwest's.
    //! No NiFi is served by a registry reachable here.

    use super::*;
    use crate::test_pages::serve;

    #[tokio::test]
    async fn a_token_then_the_version_and_a_connected_one_node_cluster() {
        let jwt = "eyJraWQiOiJhIiwiYWxnIjoiUFMyNTYifQ.eyJzdWIiOiJhZG1pbiJ9.c2ln".to_string();
        let about = r#"{"about":{"title":"NiFi","version":"2.11.0","uri":"https://localhost:8443/nifi-api/","contentViewerUrl":"../nifi-content-viewer/","timezone":"UTC","buildTag":"rel/nifi-2.11.0"}}"#;
        let summary = r#"{"clusterSummary":{"connectedNodes":"1 / 1","connectedNodeCount":1,"totalNodeCount":1,"connectedToCluster":true,"clustered":true}}"#;
        let (base, seen) = serve(vec![
            ("POST /nifi-api/access/token", 201, "", jwt.clone()),
            ("GET /nifi-api/flow/about", 200, "", about.into()),
            ("GET /nifi-api/flow/cluster/summary", 200, "", summary.into()),
        ])
        .await;
        let mut nifi = Nifi::new(&base, Duration::from_secs(10)).unwrap();
        nifi.login("admin", "a password, 12+").await.unwrap();
        assert_eq!(nifi.version().await.unwrap(), "2.11.0");
        let cluster = nifi.cluster_summary().await.unwrap();
        assert_eq!(cluster, ClusterSummary { clustered: true, connected: true, connected_nodes: 1, total_nodes: 1 });

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0].body, "username=admin&password=a+password%2C+12%2B", "a form, as AccessResource reads it");
        for s in &seen {
            assert_eq!(s.header("host").as_deref(), Some("localhost"), "no port in the Host header: {}", s.head);
        }
        for s in &seen[1..] {
            assert_eq!(s.header("authorization"), Some(format!("Bearer {jwt}")), "{}", s.head);
        }
    }

    #[tokio::test]
    async fn refused_credentials_a_forming_cluster_and_an_expired_token_are_reported() {
        let (base, _) = serve(vec![
            ("POST /nifi-api/access/token", 400, "", "The supplied username and password are not valid.".into()),
            (
                "GET /nifi-api/flow/cluster/summary",
                409,
                "",
                "Cluster is still in the process of voting on the appropriate Data Flow.".into(),
            ),
            ("GET /nifi-api/flow/about", 401, "", "Authentication credentials are not valid".into()),
        ])
        .await;
        let mut nifi = Nifi::new(&base, Duration::from_secs(10)).unwrap();
        let e = nifi.login("admin", "wrong-password").await.unwrap_err();
        assert!(matches!(&e, NifiError::Login { status: 400, message, .. } if message.contains("not valid")), "{e}");
        let e = nifi.cluster_summary().await.unwrap_err();
        assert!(matches!(&e, NifiError::Protocol { status: 409, .. }) && e.to_string().contains("voting"), "{e}");
        let e = nifi.version().await.unwrap_err();
        assert!(matches!(e, NifiError::Login { status: 401, .. }), "{e}");
    }
}
