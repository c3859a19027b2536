//! A client of a Jupyter server: its REST API (version, kernels) and the kernel messaging
//! protocol over the server's WebSocket (`/api/kernels/<id>/channels`, JSON messages with a
//! `channel` field), enough to run a cell and collect what it printed. The notebooks
//! checkpoint uses it through a port-forward; the R2 test against a real `jupyter server`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// Why a Jupyter call failed.
#[derive(Debug, thiserror::Error)]
pub enum JupyterError {
    /// The server could not be reached or broke the connection.
    #[error("cannot reach the Jupyter server at {url}: {detail}")]
    Unreachable {
        /// What was called.
        url: String,
        /// The cause.
        detail: String,
    },
    /// The server refused the token (HTTP 403).
    #[error("the Jupyter server refused the token (HTTP {status} from {url})")]
    Token {
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
    /// The cell did not finish in time.
    #[error("the cell did not finish within {0:?}")]
    Timeout(Duration),
}

/// What a cell printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Execution {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// The exception that ended it: name, value and the traceback's last lines.
    pub error: Option<(String, String, String)>,
}

/// A Jupyter server at `base` (`http://127.0.0.1:8888`), logged in by `token`.
pub struct Jupyter {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Jupyter {
    /// A client; requests time out after a minute (cells have their own deadline).
    ///
    /// # Errors
    /// If the HTTP client cannot be built.
    pub fn new(base: &str, token: &str) -> Result<Self, JupyterError> {
        let http = crate::local_http_client(Duration::from_secs(60))
            .map_err(|e| JupyterError::Unreachable { url: base.into(), detail: e.to_string() })?;
        Ok(Jupyter { base: base.trim_end_matches('/').into(), token: token.into(), http })
    }

    /// The server's version, from an authenticated call (so a wrong token fails here).
    ///
    /// # Errors
    /// Unreachable, a refused token, or an answer without a version.
    pub async fn version(&self) -> Result<String, JupyterError> {
        self.call(reqwest::Method::GET, "/api/status", None).await?;
        let about = self.call(reqwest::Method::GET, "/api", None).await?;
        let url = format!("{}/api", self.base);
        about["version"].as_str().map(str::to_string).ok_or(JupyterError::Protocol { url, detail: about.to_string() })
    }

    /// Start a kernel of `name` (`python3`); its id.
    ///
    /// # Errors
    /// As [`Jupyter::version`].
    pub async fn start_kernel(&self, name: &str) -> Result<String, JupyterError> {
        let kernel = self.call(reqwest::Method::POST, "/api/kernels", Some(json!({"name": name}))).await?;
        let url = format!("{}/api/kernels", self.base);
        kernel["id"].as_str().map(str::to_string).ok_or(JupyterError::Protocol { url, detail: kernel.to_string() })
    }

    /// Shut a kernel down.
    ///
    /// # Errors
    /// As [`Jupyter::version`].
    pub async fn delete_kernel(&self, id: &str) -> Result<(), JupyterError> {
        self.call(reqwest::Method::DELETE, &format!("/api/kernels/{id}"), None).await.map(drop)
    }

    /// Run `code` in kernel `id` and collect its output, within `deadline`.
    ///
    /// # Errors
    /// The WebSocket cannot be opened or breaks, or the deadline passes.
    pub async fn execute(&self, id: &str, code: &str, deadline: Duration) -> Result<Execution, JupyterError> {
        let session = crate::secrets::random(32, crate::catalog::Alphabet::Hex);
        let url = format!("{}/api/kernels/{id}/channels?session_id={session}", self.base.replacen("http", "ws", 1));
        let unreachable = |detail: String| JupyterError::Unreachable { url: url.clone(), detail };
        let mut request = url.as_str().into_client_request().map_err(|e| unreachable(e.to_string()))?;
        let auth = HeaderValue::from_str(&format!("token {}", self.token)).map_err(|e| unreachable(e.to_string()))?;
        request.headers_mut().insert("Authorization", auth);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 403 => JupyterError::Token { url: url.clone(), status: 403 },
            other => unreachable(other.to_string()),
        })?;
        let run = async {
            // The kernel answers kernel_info once it is ready for work.
            let info = message(&session, "kernel_info_request", json!({}));
            socket.send(Message::text(info.to_string())).await.map_err(|e| unreachable(e.to_string()))?;
            let mut reply = Collect::new(&info);
            while !reply.done() {
                reply.take(&next(&mut socket, &url).await?);
            }
            let request = message(
                &session,
                "execute_request",
                json!({"code": code, "silent": false, "store_history": false, "user_expressions": {}, "allow_stdin": false, "stop_on_error": true}),
            );
            socket.send(Message::text(request.to_string())).await.map_err(|e| unreachable(e.to_string()))?;
            let mut cell = Collect::new(&request);
            while !cell.done() {
                cell.take(&next(&mut socket, &url).await?);
            }
            Ok(cell.execution)
        };
        let result = tokio::time::timeout(deadline, run).await.map_err(|_| JupyterError::Timeout(deadline))?;
        let _ = socket.close(None).await;
        result
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, JupyterError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).header("Authorization", format!("token {}", self.token));
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| JupyterError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(JupyterError::Token { url, status });
        }
        let text = resp.text().await.map_err(|e| JupyterError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        if !(200..300).contains(&status) {
            return Err(JupyterError::Protocol { url, detail: format!("HTTP {status}: {text}") });
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }
}

/// The next message from the kernel (pings and other frames skipped).
async fn next<S>(socket: &mut S, url: &str) -> Result<Value, JupyterError>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = socket
            .next()
            .await
            .ok_or_else(|| JupyterError::Unreachable { url: url.into(), detail: "the server closed the connection".into() })?;
        match frame.map_err(|e| JupyterError::Unreachable { url: url.into(), detail: e.to_string() })? {
            Message::Text(text) => {
                return serde_json::from_str(&text).map_err(|e| JupyterError::Protocol { url: url.into(), detail: e.to_string() });
            }
            Message::Close(_) => {
                return Err(JupyterError::Unreachable { url: url.into(), detail: "the server closed the connection".into() });
            }
            _ => {}
        }
    }
}

/// A message of the kernel protocol (5.3) for the shell channel.
fn message(session: &str, msg_type: &str, content: Value) -> Value {
    json!({
        "header": {
            "msg_id": crate::secrets::random(32, crate::catalog::Alphabet::Hex),
            "username": "bigtop-k8s",
            "session": session,
            "msg_type": msg_type,
            "version": "5.3",
            "date": crate::state::now(),
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    })
}

/// The replies to one request: done once its reply (shell) and the kernel's return to idle
/// (iopub) have both arrived.
struct Collect {
    msg_id: String,
    reply: bool,
    idle: bool,
    execution: Execution,
}

impl Collect {
    fn new(request: &Value) -> Self {
        let msg_id = request["header"]["msg_id"].as_str().unwrap_or_default().to_string();
        Collect { msg_id, reply: false, idle: false, execution: Execution::default() }
    }

    fn done(&self) -> bool {
        self.reply && self.idle
    }

    fn take(&mut self, msg: &Value) {
        if msg["parent_header"]["msg_id"].as_str() != Some(self.msg_id.as_str()) {
            return;
        }
        let content = &msg["content"];
        match msg["header"]["msg_type"].as_str().unwrap_or_default() {
            "stream" => {
                let text = content["text"].as_str().unwrap_or_default();
                if content["name"] == "stderr" { &mut self.execution.stderr } else { &mut self.execution.stdout }.push_str(text);
            }
            "error" => {
                let traceback: Vec<&str> = content["traceback"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let tail = traceback[traceback.len().saturating_sub(3)..].join("\n");
                let (name, value) = (content["ename"].as_str().unwrap_or_default(), content["evalue"].as_str().unwrap_or_default());
                self.execution.error = Some((name.into(), value.into(), strip_ansi(&tail)));
            }
            "status" if content["execution_state"] == "idle" => self.idle = true,
            kind if kind.ends_with("_reply") => self.reply = true,
            _ => {}
        }
    }
}

/// IPython colours its tracebacks with ANSI escapes; messages show them plain.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(parent: &str, msg_type: &str, content: Value) -> Value {
        json!({"parent_header": {"msg_id": parent}, "header": {"msg_type": msg_type}, "content": content, "channel": "iopub"})
    }

    #[test]
    fn a_cell_is_done_after_its_reply_and_the_return_to_idle_and_keeps_only_its_own_output() {
        let request = message("s", "execute_request", json!({"code": "print(1)"}));
        assert_eq!(request["header"]["msg_type"], "execute_request");
        assert_eq!(request["channel"], "shell");
        let id = request["header"]["msg_id"].as_str().unwrap().to_string();
        let mut c = Collect::new(&request);
        c.take(&reply("someone-else", "stream", json!({"name": "stdout", "text": "not ours\n"})));
        c.take(&reply(&id, "status", json!({"execution_state": "busy"})));
        c.take(&reply(&id, "stream", json!({"name": "stdout", "text": "1\n"})));
        c.take(&reply(&id, "stream", json!({"name": "stderr", "text": "warn\n"})));
        assert!(!c.done());
        c.take(&reply(&id, "execute_reply", json!({"status": "ok"})));
        assert!(!c.done(), "iopub may still carry output after the reply");
        c.take(&reply(&id, "status", json!({"execution_state": "idle"})));
        assert!(c.done());
        assert_eq!(c.execution, Execution { stdout: "1\n".into(), stderr: "warn\n".into(), error: None });
    }

    #[test]
    fn an_exception_keeps_its_name_value_and_plain_traceback_tail() {
        let request = message("s", "execute_request", json!({}));
        let id = request["header"]["msg_id"].as_str().unwrap().to_string();
        let mut c = Collect::new(&request);
        let tb = ["\u{1b}[0;31m---\u{1b}[0m", "line 1", "line 2", "\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero"];
        c.take(&reply(&id, "error", json!({"ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": tb})));
        let (name, value, tail) = c.execution.error.unwrap();
        assert_eq!((name.as_str(), value.as_str()), ("ZeroDivisionError", "division by zero"));
        assert_eq!(tail, "line 1\nline 2\nZeroDivisionError: division by zero");
    }
}
