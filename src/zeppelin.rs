//! A client of a Zeppelin server's REST API (0.12): log in through Shiro (`POST /api/login`, a
//! session cookie), the version, notes with paragraphs, running a paragraph synchronously,
//! restarting an interpreter. Every answer is Zeppelin's `{"status", "message", "body"}`. The
//! notebooks checkpoint uses it through a port-forward.

use std::time::Duration;

use serde_json::{Value, json};

/// Why a Zeppelin call failed.
#[derive(Debug, thiserror::Error)]
pub enum ZeppelinError {
    /// The server could not be reached or broke the connection.
    #[error("cannot reach the Zeppelin server at {url}: {detail}")]
    Unreachable {
        /// What was called.
        url: String,
        /// The cause.
        detail: String,
    },
    /// The server refused the user and password, or a call without a valid session.
    #[error("the Zeppelin server refused the login (HTTP {status} from {url})")]
    Login {
        /// What was called.
        url: String,
        /// The status.
        status: u16,
    },
    /// The server answered something else than expected.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// What was called.
        url: String,
        /// What came back.
        detail: String,
    },
}

/// How a paragraph ended and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParagraphResult {
    /// Zeppelin's result code: `SUCCESS`, `ERROR`, `INCOMPLETE`, ….
    pub code: String,
    /// The data of its messages, in order (text, tables, errors alike).
    pub output: String,
}

impl ParagraphResult {
    /// Whether the paragraph succeeded.
    pub fn succeeded(&self) -> bool {
        self.code == "SUCCESS"
    }
}

/// A Zeppelin server at `base` (`http://127.0.0.1:8080`); [`Zeppelin::login`] before the calls
/// Shiro guards.
pub struct Zeppelin {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Zeppelin {
    /// A client whose requests may take `timeout` (a synchronous run lasts as long as its
    /// paragraph, the interpreter's start included).
    ///
    /// # Errors
    /// If the HTTP client cannot be built.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, ZeppelinError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            // Shiro answers an unauthenticated call with a redirect to the login page.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ZeppelinError::Unreachable { url: base.into(), detail: e.to_string() })?;
        Ok(Zeppelin { base: base.trim_end_matches('/').into(), http, cookie: None })
    }

    /// Log in; the session cookie goes with every later call.
    ///
    /// # Errors
    /// Unreachable, or the login refused.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), ZeppelinError> {
        let url = format!("{}/api/login", self.base);
        let resp = self
            .http
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("userName", user)
                    .append_pair("password", password)
                    .finish(),
            )
            .send()
            .await
            .map_err(|e| ZeppelinError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(ZeppelinError::Login { url, status });
        }
        // Shiro sets the session (JSESSIONID) and clears `rememberMe` with the value deleteMe.
        let cookies: Vec<String> = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter(|pair| !pair.ends_with("=deleteMe"))
            .map(str::to_string)
            .collect();
        if cookies.is_empty() {
            return Err(ZeppelinError::Protocol { url, detail: "the login set no session cookie".into() });
        }
        self.cookie = Some(cookies.join("; "));
        Ok(())
    }

    /// The server's version (open without a login).
    ///
    /// # Errors
    /// Unreachable, or an answer without a version.
    pub async fn version(&self) -> Result<String, ZeppelinError> {
        let body = self.call(reqwest::Method::GET, "/api/version", None).await?;
        body["version"].as_str().map(str::to_string).ok_or_else(|| self.protocol("/api/version", &body))
    }

    /// Create a note named `name` with one paragraph per text; the note's id.
    ///
    /// # Errors
    /// As [`Zeppelin::version`], or the login missing.
    pub async fn create_note(&self, name: &str, paragraphs: &[&str]) -> Result<String, ZeppelinError> {
        let paragraphs: Vec<Value> = paragraphs.iter().map(|text| json!({"text": text})).collect();
        let body = self.call(reqwest::Method::POST, "/api/notebook", Some(json!({"name": name, "paragraphs": paragraphs}))).await?;
        body.as_str().map(str::to_string).ok_or_else(|| self.protocol("/api/notebook", &body))
    }

    /// The ids of a note's paragraphs, in order.
    ///
    /// # Errors
    /// As [`Zeppelin::create_note`].
    pub async fn paragraph_ids(&self, note: &str) -> Result<Vec<String>, ZeppelinError> {
        let path = format!("/api/notebook/{note}");
        let body = self.call(reqwest::Method::GET, &path, None).await?;
        let paragraphs = body["paragraphs"].as_array().ok_or_else(|| self.protocol(&path, &body))?;
        paragraphs.iter().map(|p| p["id"].as_str().map(str::to_string).ok_or_else(|| self.protocol(&path, p))).collect()
    }

    /// Run a paragraph and wait for its end.
    ///
    /// # Errors
    /// As [`Zeppelin::create_note`]; a paragraph that fails is a result, not an error.
    pub async fn run_paragraph(&self, note: &str, paragraph: &str) -> Result<ParagraphResult, ZeppelinError> {
        let path = format!("/api/notebook/run/{note}/{paragraph}");
        let body = self.call(reqwest::Method::POST, &path, None).await?;
        result(&body).ok_or_else(|| self.protocol(&path, &body))
    }

    /// Delete a note.
    ///
    /// # Errors
    /// As [`Zeppelin::create_note`].
    pub async fn delete_note(&self, note: &str) -> Result<(), ZeppelinError> {
        self.call(reqwest::Method::DELETE, &format!("/api/notebook/{note}"), None).await.map(drop)
    }

    /// Restart an interpreter setting (`spark`): its process ends, and with it a Spark driver
    /// and its executors; the next paragraph starts a new one.
    ///
    /// # Errors
    /// As [`Zeppelin::create_note`].
    pub async fn restart_interpreter(&self, setting: &str) -> Result<(), ZeppelinError> {
        self.call(reqwest::Method::PUT, &format!("/api/interpreter/setting/restart/{setting}"), None).await.map(drop)
    }

    /// Call `path`; the answer's `body`. A paragraph that raised comes back as HTTP 500 with its
    /// result in the body, which is returned like a success for [`result`] to read.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ZeppelinError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(cookie) = &self.cookie {
            req = req.header(reqwest::header::COOKIE, cookie);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| ZeppelinError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 || (300..400).contains(&status) {
            return Err(ZeppelinError::Login { url, status });
        }
        let text = resp.text().await.map_err(|e| ZeppelinError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        let answer: Value = serde_json::from_str(&text)
            .map_err(|_| ZeppelinError::Protocol { url: url.clone(), detail: format!("HTTP {status}: {text}") })?;
        let carries_result = status == 500 && result(&answer["body"]).is_some();
        if !(200..300).contains(&status) && !carries_result {
            let message = answer["message"].as_str().filter(|m| !m.is_empty()).map_or_else(|| text.clone(), str::to_string);
            return Err(ZeppelinError::Protocol { url, detail: format!("HTTP {status}: {message}") });
        }
        Ok(answer["body"].clone())
    }

    fn protocol(&self, path: &str, answer: &Value) -> ZeppelinError {
        ZeppelinError::Protocol { url: format!("{}{path}", self.base), detail: answer.to_string() }
    }
}

/// A paragraph's result: `{"code", "msg": [{"type", "data"}]}` (0.12), or `"msg"` as one
/// string, as older servers and the documented error page have it.
fn result(body: &Value) -> Option<ParagraphResult> {
    let code = body["code"].as_str()?.to_string();
    let output = match &body["msg"] {
        Value::Array(messages) => messages.iter().filter_map(|m| m["data"].as_str()).collect::<Vec<_>>().join("\n"),
        Value::String(text) => text.clone(),
        _ => String::new(),
    };
    Some(ParagraphResult { code, output })
}

#[cfg(test)]
mod tests {
    //! Against a loopback server answering with pages in the shapes Zeppelin 0.12.1 sends:
    //! `JsonResponse` (`{"status", "message", "body"}`) from zeppelin-server's NotebookRestApi,
    //! LoginRestApi, ZeppelinRestApi and InterpreterRestApi, and `InterpreterResult` for a run
    //! (read at apache/zeppelin tag v0.12.1; docs/usage/rest_api/notebook.md has the same
    //! examples). No Zeppelin server is served by a registry reachable here.

    use super::*;
    use crate::test_pages::serve;

    fn ok(body: Value) -> String {
        json!({"status": "OK", "message": "", "body": body}).to_string()
    }

    #[tokio::test]
    async fn a_note_is_created_run_and_deleted_with_the_session_cookie() {
        let login = ok(json!({"principal": "admin", "ticket": "e4a1c3b2", "roles": "[\"admin\"]"}));
        let cookies = "Set-Cookie: rememberMe=deleteMe; Path=/; Max-Age=0\r\nSet-Cookie: JSESSIONID=node0abc; Path=/; HttpOnly\r\n";
        let note = ok(json!({
            "paragraphs": [
                {"text": "%spark.pyspark\nprint(1)", "id": "paragraph_1732100000000_123", "status": "READY"},
                {"text": "%md done", "id": "paragraph_1732100000001_456", "status": "READY"}
            ],
            "name": "bigtop-checkpoint", "id": "2KCHECKPT", "config": {}, "info": {}
        }));
        let run = ok(json!({"code": "SUCCESS", "msg": [{"type": "TEXT", "data": "BIGTOP_CHECKPOINT {\"rows\": 1000}\n"}]}));
        let (base, seen) = serve(vec![
            ("GET /api/version", 200, "", ok(json!({"version": "0.12.1", "git-commit-id": "ae9cb72", "git-timestamp": "2026-05-23"}))),
            ("POST /api/login", 200, cookies, login),
            ("POST /api/notebook/run/2KCHECKPT/paragraph_1732100000000_123", 200, "", run),
            ("POST /api/notebook ", 200, "", ok(json!("2KCHECKPT"))),
            ("GET /api/notebook/2KCHECKPT", 200, "", note),
            ("DELETE /api/notebook/2KCHECKPT", 200, "", json!({"status": "OK", "message": ""}).to_string()),
            ("PUT /api/interpreter/setting/restart/spark", 200, "", ok(json!({"id": "spark", "name": "spark"}))),
        ])
        .await;
        let mut z = Zeppelin::new(&base, Duration::from_secs(10)).unwrap();
        assert_eq!(z.version().await.unwrap(), "0.12.1");
        z.login("admin", "s3cret").await.unwrap();
        let id = z.create_note("bigtop-checkpoint", &["%spark.pyspark\nprint(1)", "%md done"]).await.unwrap();
        assert_eq!(id, "2KCHECKPT");
        let paragraphs = z.paragraph_ids(&id).await.unwrap();
        assert_eq!(paragraphs, ["paragraph_1732100000000_123", "paragraph_1732100000001_456"]);
        let result = z.run_paragraph(&id, &paragraphs[0]).await.unwrap();
        assert!(result.succeeded());
        assert_eq!(result.output, "BIGTOP_CHECKPOINT {\"rows\": 1000}\n");
        z.delete_note(&id).await.unwrap();
        z.restart_interpreter("spark").await.unwrap();

        let seen = seen.lock().unwrap().clone();
        let login = seen.iter().find(|s| s.line.starts_with("POST /api/login")).unwrap();
        assert_eq!(login.body, "userName=admin&password=s3cret", "a form, as LoginRestApi reads it");
        let create = seen.iter().find(|s| s.line.starts_with("POST /api/notebook ")).unwrap();
        let sent: Value = serde_json::from_str(&create.body).unwrap();
        assert_eq!(sent["paragraphs"][1]["text"], "%md done");
        for call in seen.iter().filter(|s| !s.line.contains("/api/version") && !s.line.contains("/api/login")) {
            assert_eq!(
                call.header("cookie").as_deref(),
                Some("JSESSIONID=node0abc"),
                "{}: the session, without the cleared rememberMe",
                call.line
            );
        }
    }

    #[tokio::test]
    async fn a_failed_paragraph_is_a_result_and_a_refused_login_an_error() {
        let raised = json!({"code": "ERROR", "msg": [{"type": "TEXT", "data": "Traceback (most recent call last):\nValueError: no rows"}]});
        let documented =
            json!({"status": "INTERNAL_SERVER_ERROR", "body": {"code": "ERROR", "type": "TEXT", "msg": "bash: -c: line 0: syntax error"}});
        let (base, _) = serve(vec![
            ("POST /api/login", 403, "", json!({"status": "FORBIDDEN", "message": ""}).to_string()),
            ("POST /api/notebook/run/2A/p1", 200, "", ok(raised)),
            ("POST /api/notebook/run/2A/p2", 500, "", documented.to_string()),
            (
                "POST /api/notebook/run/2A/p3",
                500,
                "",
                json!({"status": "INTERNAL_SERVER_ERROR", "message": "Fail to run paragraph"}).to_string(),
            ),
            // Shiro's answer to a call without a session.
            ("GET /api/notebook/2A", 302, "Location: /api/login\r\n", String::new()),
        ])
        .await;
        let mut z = Zeppelin::new(&base, Duration::from_secs(10)).unwrap();
        let refused = z.login("admin", "wrong").await.unwrap_err();
        assert!(matches!(refused, ZeppelinError::Login { status: 403, .. }), "{refused}");
        let result = z.run_paragraph("2A", "p1").await.unwrap();
        assert!(!result.succeeded() && result.output.ends_with("ValueError: no rows"), "{result:?}");
        let result = z.run_paragraph("2A", "p2").await.unwrap();
        assert_eq!((result.code.as_str(), result.output.as_str()), ("ERROR", "bash: -c: line 0: syntax error"));
        let failed = z.run_paragraph("2A", "p3").await.unwrap_err();
        assert!(failed.to_string().contains("HTTP 500: Fail to run paragraph"), "{failed}");
        let no_session = z.paragraph_ids("2A").await.unwrap_err();
        assert!(matches!(no_session, ZeppelinError::Login { status: 302, .. }), "{no_session}");
    }

    #[tokio::test]
    async fn a_login_without_a_session_cookie_and_a_server_away_are_reported() {
        let (base, _) = serve(vec![("POST /api/login", 200, "", ok(json!({"principal": "admin"})))]).await;
        let mut z = Zeppelin::new(&base, Duration::from_secs(10)).unwrap();
        let e = z.login("admin", "x").await.unwrap_err();
        assert!(e.to_string().contains("no session cookie"), "{e}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let away = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = Zeppelin::new(&away, Duration::from_secs(5)).unwrap().version().await.unwrap_err();
        assert!(matches!(e, ZeppelinError::Unreachable { .. }), "{e}");
    }
}
