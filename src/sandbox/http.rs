//! A small HTTP/1.1 server: enough for a gateway, with full control of the connection so faults
//! (a reset before or after processing, a truncated or slow body) are real on the wire.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// How to answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A complete response.
    Full { status: u16, content_type: &'static str, body: Vec<u8> },
    /// Close the connection with a TCP reset, sending nothing.
    Reset,
    /// Announce the full length, send part of the body, close.
    Truncated { body: Vec<u8> },
    /// Send the body in pieces over `duration`.
    Slow { body: Vec<u8>, duration: Duration },
}

/// Serves one connection: reads requests and answers them with `handle` until either side
/// closes.
pub(crate) async fn serve_connection<F, Fut>(
    stream: TcpStream,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
    handle: F,
) where
    F: Fn(HttpRequest) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut reader = BufReader::new(stream);
    loop {
        let request = match tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut reader)).await {
            Ok(Ok(Some(request))) => request,
            Ok(Ok(None)) | Err(_) => return,
            Ok(Err(error)) => {
                let body = format!("bad request: {error}").into_bytes();
                let _ = write_full(reader.get_mut(), 400, "text/plain", &body, true, &http_date(now())).await;
                return;
            }
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let stream = reader.get_mut();
        let reply = handle(request).await;
        let date = http_date(now());
        match reply {
            Reply::Full { status, content_type, body } => {
                if write_full(stream, status, content_type, &body, close, &date).await.is_err() || close {
                    return;
                }
            }
            Reply::Reset => {
                let _ = stream.set_zero_linger();
                return;
            }
            Reply::Truncated { body } => {
                let head = head(200, "application/json;charset=utf-8", body.len(), true, &date);
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body[..body.len() / 2]).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Slow { body, duration } => {
                let head = head(200, "application/json;charset=utf-8", body.len(), true, &date);
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let pieces = 10;
                let size = body.len().div_ceil(pieces).max(1);
                for piece in body.chunks(size) {
                    tokio::time::sleep(duration / pieces as u32).await;
                    if stream.write_all(piece).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                }
                return;
            }
        }
    }
}

/// An HTTP `Date` header value (RFC 7231 IMF-fixdate).
fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn head(status: u16, content_type: &str, length: usize, close: bool, date: &str) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nDate: {date}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: {connection}\r\n\r\n"
    )
}

async fn write_full(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
    date: &str,
) -> std::io::Result<()> {
    let mut out = head(status, content_type, body.len(), close, date).into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<HttpRequest>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(|| invalid("empty request line"))?.to_string();
    let target = parts.next().ok_or_else(|| invalid("no request target"))?.to_string();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut headers = Vec::new();
    let mut header_bytes = line.len();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Err(invalid("connection closed in headers"));
        }
        header_bytes += header.len();
        if header_bytes > MAX_HEADER_BYTES {
            return Err(invalid("headers too large"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let find = |name: &str| headers.iter().find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name));
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|(_, v)| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).await?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            if body.len() + size > MAX_BODY_BYTES {
                return Err(invalid("body too large"));
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            body.extend_from_slice(&chunk[..size]);
            if size == 0 {
                break;
            }
        }
    } else if let Some((_, length)) = find("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad content-length"))?;
        if length > MAX_BODY_BYTES {
            return Err(invalid("body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).await?;
    }
    Ok(Some(HttpRequest { method, path, query, headers, body }))
}
