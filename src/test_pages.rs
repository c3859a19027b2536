//! A loopback HTTP server for the REST clients' unit tests: it answers each request with the
//! first page whose request-line prefix matches (pages of the same prefix are served in turn,
//! the last one repeating) and records what was asked.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer: request-line prefix (`"GET /api/version"`), status, extra header lines (each
/// ending in `\r\n`), body.
pub type Page = (&'static str, u16, &'static str, String);

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line.
    pub line: String,
    /// The head, request line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Seen {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    }
}

/// Serve `pages` on loopback: the base URL, and the requests seen so far.
pub async fn serve(pages: Vec<Page>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut used = vec![false; pages.len()];
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { return };
            let request = read_request(&mut conn).await;
            let matching: Vec<usize> = (0..pages.len()).filter(|&i| request.line.starts_with(pages[i].0)).collect();
            let chosen = matching.iter().copied().find(|&i| !used[i]).or(matching.last().copied());
            log.lock().unwrap().push(request);
            let (status, extra, page) = match chosen {
                Some(i) => {
                    used[i] = true;
                    (pages[i].1, pages[i].2, pages[i].3.clone())
                }
                None => (404, "", String::new()),
            };
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            conn.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (base, seen)
}

/// The head, then as much body as Content-Length says.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Seen {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let (head, mut body) = loop {
        let n = conn.read(&mut buf).await.unwrap();
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&raw[..end]).to_string(), raw[end + 4..].to_vec());
        }
    };
    let mut seen = Seen { line: head.lines().next().unwrap_or_default().to_string(), head, body: String::new() };
    let length: usize = seen.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while body.len() < length {
        let n = conn.read(&mut buf).await.unwrap();
        body.extend_from_slice(&buf[..n]);
    }
    seen.body = String::from_utf8_lossy(&body).into();
    seen
}
