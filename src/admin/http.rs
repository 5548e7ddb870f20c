//! Just enough HTTP/1.1 for the admin API: one request per connection, parsed with
//! `httparse`, answered with `Connection: close`.
//!
//! Why not keep-alive: the admin API serves an operator's `nodetool`, `curl` and a
//! metrics scraper every few seconds. A connection per request costs a loopback
//! handshake and keeps the server a straight line (read, route, write, close) with
//! nothing to time out between requests. Why not hyper: two dependencies deep it
//! doubles the node's build on the two cores we build on, for features (HTTP/2,
//! pipelining, chunked uploads) nobody here needs.
//!
//! Everything read is bounded: the head by [`MAX_HEAD_BYTES`], the body by
//! [`MAX_BODY_BYTES`] (bodies are only the small JSON of `POST /debug/filters`),
//! the number of headers by [`MAX_HEADERS`] and the time to send them by
//! [`READ_TIMEOUT`]. A chunked body is refused (411): no client of ours sends one.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::AdminError;

/// Largest request head (request line and headers): a path with a partition key and a
/// few headers from curl fit in a few hundred bytes; 16 KiB is generous and small.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest request body: the only body is a debug filter set, a few rules of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most headers a request may carry (curl sends 3, browsers about 15).
pub const MAX_HEADERS: usize = 32;
/// Longest a client may take to send its whole request, so a silent connection
/// cannot hold one of the admin server's few connection slots.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 4096;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded segment by segment by [`Request::segments`]; kept raw here.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The path's segments, percent-decoded (empty segments dropped, so `/a//b/` is `a`, `b`).
    pub fn segments(&self) -> Result<Vec<String>, AdminError> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A comma-separated list parameter (`tables=a,b`); empty when absent.
    pub fn list_param(&self, name: &str) -> Vec<String> {
        self.param(name)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A response: status, content type and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Content type of JSON answers.
pub const JSON: &str = "application/json";
/// Content type of `/metrics` (Prometheus text exposition format 0.0.4).
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Response {
    /// 200 with a JSON body.
    pub fn json(value: &serde_json::Value) -> Response {
        Response::json_status(200, value)
    }

    /// `status` with a JSON body.
    pub fn json_status(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: JSON,
            body: value.to_string().into_bytes(),
        }
    }

    /// The JSON error `{"error": message}` with the error's status.
    pub fn error(e: &AdminError) -> Response {
        Response::json_status(e.status(), &serde_json::json!({ "error": e.to_string() }))
    }
}

/// The reason phrase of the statuses the admin API uses.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes `response` with `Connection: close`.
pub async fn write_response<W: AsyncWrite + Unpin>(
    out: &mut W,
    response: &Response,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    out.write_all(head.as_bytes()).await?;
    out.write_all(&response.body).await?;
    out.flush().await
}

/// Reads one request (head and `Content-Length` body), within the bounds above.
pub async fn read_request<R: AsyncRead + Unpin>(input: &mut R) -> Result<Request, AdminError> {
    match tokio::time::timeout(READ_TIMEOUT, read_request_inner(input)).await {
        Ok(r) => r,
        Err(_) => Err(AdminError::Http(
            408,
            format!("the request was not complete within {READ_TIMEOUT:?}"),
        )),
    }
}

async fn read_request_inner<R: AsyncRead + Unpin>(input: &mut R) -> Result<Request, AdminError> {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    loop {
        let n = input
            .read(&mut chunk)
            .await
            .map_err(|e| AdminError::Http(400, format!("reading the request: {e}")))?;
        if n == 0 {
            return Err(AdminError::Http(
                400,
                "the connection closed before the request was complete".into(),
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some((head_len, mut request, content_length)) = parse_head(&buf)? {
            if content_length > MAX_BODY_BYTES {
                return Err(AdminError::Http(
                    413,
                    format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
                ));
            }
            let mut body = buf.get(head_len..).unwrap_or_default().to_vec();
            while body.len() < content_length {
                let n = input
                    .read(&mut chunk)
                    .await
                    .map_err(|e| AdminError::Http(400, format!("reading the body: {e}")))?;
                if n == 0 {
                    return Err(AdminError::Http(
                        400,
                        "the connection closed before the body was complete".into(),
                    ));
                }
                body.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            body.truncate(content_length);
            request.body = body;
            return Ok(request);
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(AdminError::Http(
                431,
                format!("request heads are limited to {MAX_HEAD_BYTES} bytes"),
            ));
        }
    }
}

/// Parses the head in `buf`: `None` while incomplete, else its length, the request
/// (without body) and the announced body length.
pub fn parse_head(buf: &[u8]) -> Result<Option<(usize, Request, usize)>, AdminError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(AdminError::Http(
                431,
                format!("requests may carry at most {MAX_HEADERS} headers"),
            ))
        }
        Err(e) => return Err(AdminError::Http(400, format!("malformed request: {e}"))),
    };
    let method = req.method.unwrap_or("GET").to_string();
    let target = req.path.unwrap_or("/");
    let mut content_length = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| AdminError::Http(400, "a bad Content-Length".into()))?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(AdminError::Http(
                411,
                "chunked bodies are not accepted; send Content-Length".into(),
            ));
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let query = parse_query(query)?;
    Ok(Some((
        head_len,
        Request {
            method,
            path: path.to_string(),
            query,
            body: Vec::new(),
        },
        content_length,
    )))
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, AdminError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                percent_decode(&k.replace('+', " "))?,
                percent_decode(&v.replace('+', " "))?,
            ))
        })
        .collect()
}

/// `%XX` escapes decoded; the result must be UTF-8.
pub fn percent_decode(s: &str) -> Result<String, AdminError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| AdminError::BadRequest(format!("a bad %-escape in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| AdminError::BadRequest(format!("{s:?} is not UTF-8")))
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for clients
/// building paths and queries.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_parses_with_query_and_body_length() {
        // Checks the request line, the decoded query and Content-Length.
        let raw = b"POST /api/v1/flush?keyspace=k%20s&tables=a,b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        let (len, req, body) = parse_head(raw).expect("ok").expect("complete");
        assert_eq!(len, raw.len() - 2);
        assert_eq!(body, 2);
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/api/v1/flush");
        assert_eq!(req.param("keyspace"), Some("k s"));
        assert_eq!(req.list_param("tables"), vec!["a", "b"]);
    }

    #[test]
    fn partial_and_malformed_heads() {
        // Checks an incomplete head asks for more and garbage is a 400, not a panic.
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost").expect("ok").is_none());
        let e = parse_head(b"\x00\x01 nonsense\r\n\r\n").expect_err("bad");
        assert_eq!(e.status(), 400);
        let e = parse_head(b"GET /%zz HTTP/1.1\r\n\r\n")
            .expect("ok")
            .expect("complete")
            .1
            .segments()
            .expect_err("bad escape");
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn percent_round_trip() {
        // Checks encode then decode gives back keys with ':' '/' and spaces.
        for s in ["a:b", "x/y z", "ünï", "100%"] {
            assert_eq!(percent_decode(&percent_encode(s)).expect("decode"), s);
        }
    }
}
