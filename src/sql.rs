//! A client for the Trino/Presto REST protocol: POST the statement to `/v1/statement`, then
//! follow `nextUri` until it disappears, collecting columns and rows; 502/503/504 (a coordinator
//! starting or restarting) are retried with backoff; a query error becomes [`SqlError::Query`]
//! with the engine's error name and message; a statement refused with `SERVER_STARTING_UP` or
//! `NO_NODES_AVAILABLE` (Trino accepts HTTP before it can run statements) is sent again. Used by the sql checkpoint and
//! `bigtop-k8s sql`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which protocol dialect: the header prefix differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Trino (`X-Trino-*` headers).
    Trino,
    /// Presto (`X-Presto-*` headers).
    Presto,
}

impl Engine {
    /// The catalog's name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Trino => "trino",
            Engine::Presto => "presto",
        }
    }

    fn header(self, what: &str) -> String {
        match self {
            Engine::Trino => format!("X-Trino-{what}"),
            Engine::Presto => format!("X-Presto-{what}"),
        }
    }
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The coordinator could not be reached, or kept answering 5xx.
    #[error("cannot reach the coordinator at {url}: {detail}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The coordinator answered something that is not the protocol.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The query ran and failed.
    #[error("{error_name}: {message}")]
    Query {
        /// `SCHEMA_NOT_FOUND`, `HIVE_METASTORE_ERROR`, …
        error_name: String,
        /// The engine's message.
        message: String,
    },
}

/// Columns and rows of a finished statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one JSON value per column.
    pub rows: Vec<Vec<Value>>,
    /// The engine's query id.
    pub query_id: String,
    /// Protocol pages followed.
    pub pages: usize,
}

/// A coordinator to run statements on.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    engine: Engine,
    user: String,
    starting_up_wait: Duration,
}

const RETRIES: u32 = 8;
/// Trino answers HTTP 200 (and its readiness probe passes) seconds before it can run a
/// statement; until then each statement fails with the first error and never ran. Then, until
/// the coordinator has announced itself to its own discovery service (a few seconds more; seen
/// on R3 after a roll), a statement that needs a node fails with the second, before it runs.
const STARTING_UP: [&str; 2] = ["SERVER_STARTING_UP", "NO_NODES_AVAILABLE"];
/// How long a statement is re-sent while the server starts up (plugins and catalogs loading).
const STARTING_UP_WAIT: Duration = Duration::from_secs(180);

impl Client {
    /// A client for the coordinator at `base` (e.g. `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// Only if the HTTP client cannot be built.
    pub fn new(base: &str, engine: Engine, user: &str) -> Result<Client, reqwest::Error> {
        Ok(Client {
            http: crate::local_http_client(Duration::from_secs(120))?,
            base: base.trim_end_matches('/').to_string(),
            engine,
            user: user.into(),
            starting_up_wait: STARTING_UP_WAIT,
        })
    }

    /// Re-send statements refused while the server starts up for at most `wait`.
    #[must_use]
    pub fn with_starting_up_wait(mut self, wait: Duration) -> Client {
        self.starting_up_wait = wait;
        self
    }

    /// Run one statement to completion; a statement refused because the server is still
    /// starting up (it never ran) is sent again every second for a while.
    pub async fn execute(&self, statement: &str) -> Result<QueryResult, SqlError> {
        let deadline = std::time::Instant::now() + self.starting_up_wait;
        loop {
            match self.execute_once(statement).await {
                Err(SqlError::Query { error_name, .. })
                    if STARTING_UP.contains(&error_name.as_str()) && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                other => return other,
            }
        }
    }

    async fn execute_once(&self, statement: &str) -> Result<QueryResult, SqlError> {
        let url = format!("{}/v1/statement", self.base);
        let first =
            self.request(|| self.http.post(&url).header(self.engine.header("User"), &self.user).body(statement.to_string()), &url).await?;
        let mut result = QueryResult::default();
        let mut page = first;
        loop {
            result.pages += 1;
            absorb(&mut result, &page)?;
            let Some(next) = page.get("nextUri").and_then(Value::as_str).map(str::to_string) else { return Ok(result) };
            page = self.request(|| self.http.get(&next).header(self.engine.header("User"), &self.user), &next).await?;
        }
    }

    async fn request(&self, build: impl Fn() -> reqwest::RequestBuilder, url: &str) -> Result<Value, SqlError> {
        let unreachable = |detail: String| SqlError::Unreachable { url: url.into(), detail };
        let mut delay = Duration::from_millis(200);
        for attempt in 0..=RETRIES {
            match build().send().await {
                Ok(r) if matches!(r.status().as_u16(), 502..=504) && attempt < RETRIES => {}
                Ok(r) if r.status().is_success() => {
                    let text = r.text().await.map_err(|e| unreachable(e.to_string()))?;
                    return serde_json::from_str(&text)
                        .map_err(|e| SqlError::Protocol { url: url.into(), detail: format!("{e}: {}", head(&text)) });
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    return Err(SqlError::Protocol { url: url.into(), detail: format!("HTTP {status}: {}", head(&text)) });
                }
                Err(e) if e.is_connect() && attempt < RETRIES => {}
                Err(e) => return Err(unreachable(crate::error::root_cause(&e))),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(3));
        }
        Err(unreachable(format!("still failing after {RETRIES} retries")))
    }
}

/// Add one protocol page to the result, or turn its error into [`SqlError::Query`].
pub fn absorb(result: &mut QueryResult, page: &Value) -> Result<(), SqlError> {
    if let Some(id) = page.get("id").and_then(Value::as_str) {
        result.query_id = id.into();
    }
    if let Some(error) = page.get("error") {
        let text = |k: &str| error.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        return Err(SqlError::Query { error_name: text("errorName"), message: text("message") });
    }
    if result.columns.is_empty()
        && let Some(cols) = page.get("columns").and_then(Value::as_array)
    {
        result.columns = cols.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).map(str::to_string).collect();
    }
    if let Some(data) = page.get("data").and_then(Value::as_array) {
        result.rows.extend(data.iter().filter_map(|r| r.as_array().cloned()));
    }
    Ok(())
}

fn head(text: &str) -> String {
    text.chars().take(300).collect()
}

/// A result as an aligned text table.
pub fn table(result: &QueryResult) -> String {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = result.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let header: Vec<&str> = result.columns.iter().map(String::as_str).collect();
    format!("{}\n({} row{})", crate::output::table(&header, &rows), rows.len(), if rows.len() == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    //! Recorded protocol pages (shapes as Trino 476 sends them) served by a tiny HTTP server.

    use super::*;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serve `pages` in order, one per request (a 503 first when `flaky`); returns the base URL.
    async fn serve(pages: Vec<String>, flaky: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut answers: Vec<(u16, String)> = pages.into_iter().map(|p| (200, p.replace("BASE", &base))).collect();
        if flaky {
            answers.insert(0, (503, "starting".into()));
        }
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        base
    }

    fn queued() -> Value {
        json!({"id": "q1", "nextUri": "BASE/v1/statement/queued/q1/1", "stats": {"state": "QUEUED"}})
    }

    #[tokio::test]
    async fn follows_queued_running_finished_and_collects_rows() {
        let pages = [
            queued(),
            json!({"id": "q1", "nextUri": "BASE/v1/statement/executing/q1/2", "stats": {"state": "RUNNING"},
                "columns": [{"name": "id", "type": "integer"}, {"name": "name", "type": "varchar"}], "data": [[1, "a"]]}),
            json!({"id": "q1", "stats": {"state": "FINISHED"}, "columns": [{"name": "id"}, {"name": "name"}], "data": [[2, "b"], [3, null]]}),
        ];
        let base = serve(pages.iter().map(Value::to_string).collect(), true).await;
        let result = Client::new(&base, Engine::Trino, "t").unwrap().execute("SELECT 1").await.unwrap();
        assert_eq!(result.columns, ["id", "name"]);
        assert_eq!(result.rows, vec![vec![json!(1), json!("a")], vec![json!(2), json!("b")], vec![json!(3), Value::Null]]);
        assert_eq!((result.query_id.as_str(), result.pages), ("q1", 3));
        assert!(table(&result).contains("NULL") && table(&result).ends_with("3   NULL\n(3 rows)"), "{}", table(&result));
    }

    #[tokio::test]
    async fn a_statement_refused_while_the_server_starts_up_is_sent_again() {
        let starting = json!({"id": "q0", "stats": {"state": "FAILED"},
            "error": {"message": "Trino server is still initializing", "errorCode": 65545, "errorName": "SERVER_STARTING_UP", "errorType": "INTERNAL_ERROR"}});
        let no_nodes = json!({"id": "q0", "stats": {"state": "FAILED"},
            "error": {"message": "No nodes available to run query", "errorCode": 65541, "errorName": "NO_NODES_AVAILABLE", "errorType": "INTERNAL_ERROR"}});
        let done = json!({"id": "q1", "stats": {"state": "FINISHED"}, "columns": [{"name": "x"}], "data": [[1]]});
        let base = serve(vec![starting.to_string(), no_nodes.to_string(), done.to_string()], false).await;
        let result = Client::new(&base, Engine::Trino, "t").unwrap().execute("SELECT 1").await.unwrap();
        assert_eq!((result.query_id.as_str(), result.rows.clone()), ("q1", vec![vec![json!(1)]]));
        // Without the wait the first refusal is the answer.
        let base = serve(vec![starting.to_string()], false).await;
        let err =
            Client::new(&base, Engine::Trino, "t").unwrap().with_starting_up_wait(Duration::ZERO).execute("SELECT 1").await.unwrap_err();
        assert!(err.to_string().starts_with("SERVER_STARTING_UP"), "{err}");
    }

    #[tokio::test]
    async fn a_failed_query_maps_to_its_error_name_and_message() {
        let pages = [
            queued(),
            json!({"id": "q1", "stats": {"state": "FAILED"}, "error": {"message": "Schema 'x' does not exist", "errorCode": 2,
                "errorName": "SCHEMA_NOT_FOUND", "errorType": "USER_ERROR"}}),
        ];
        let base = serve(pages.iter().map(Value::to_string).collect(), false).await;
        let err = Client::new(&base, Engine::Presto, "t").unwrap().execute("SELECT * FROM x.y").await.unwrap_err();
        assert_eq!(err.to_string(), "SCHEMA_NOT_FOUND: Schema 'x' does not exist");
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable_and_garbage_is_a_protocol_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = Client {
            http: crate::local_http_client(Duration::from_secs(5)).unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            engine: Engine::Trino,
            user: "t".into(),
            starting_up_wait: Duration::ZERO,
        };
        let err = tokio::time::timeout(Duration::from_secs(60), c.execute("SELECT 1")).await.unwrap().unwrap_err();
        assert!(matches!(err, SqlError::Unreachable { .. }), "{err}");
        let base = serve(vec!["<html>proxy error</html>".into()], false).await;
        let err = Client::new(&base, Engine::Trino, "t").unwrap().execute("SELECT 1").await.unwrap_err();
        assert!(matches!(err, SqlError::Protocol { .. }) && err.to_string().contains("proxy error"), "{err}");
    }
}
