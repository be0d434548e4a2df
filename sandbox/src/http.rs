//! A small HTTP/1.1 server: enough for a gateway, with full control of the connection so faults
//! (a reset before or after processing, a truncated or slow body) are real on the wire.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Page-pay GET URLs carry `biz_content` in the query, so the request line may be long.
const MAX_REQUEST_LINE_BYTES: usize = 32 * 1024;
const MAX_CHUNK_LINE_BYTES: usize = 1024;
const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;
/// How long a connection may wait for the first byte of its next request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request may take to arrive once it started (a slowloris client sending a byte
/// now and then is cut off here), and how long any one read may wait.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once. When all are taken, the one that has waited longest for a
/// request is let go to make room; only when every connection is being answered is a new one
/// refused (503).
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// The connections waiting for a request, oldest first, each with a way to let it go. A
/// waiting connection's place (its semaphore permit) is kept here, so that letting it go hands
/// the place straight to the newcomer: no other connection can take it in between.
pub(crate) struct Readers {
    waiting: std::sync::Mutex<std::collections::BTreeMap<u64, Waiting>>,
    next: std::sync::atomic::AtomicU64,
    /// The server's body budget, in KiB ([`BODY_BUDGET_KIB`]).
    bodies: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for Readers {
    fn default() -> Self {
        Readers {
            waiting: Default::default(),
            next: Default::default(),
            bodies: std::sync::Arc::new(tokio::sync::Semaphore::new(BODY_BUDGET_KIB)),
        }
    }
}

struct Waiting {
    let_go: std::sync::Arc<tokio::sync::Notify>,
    place: tokio::sync::OwnedSemaphorePermit,
}

impl Readers {
    fn enter(&self, place: tokio::sync::OwnedSemaphorePermit) -> (u64, std::sync::Arc<tokio::sync::Notify>) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let let_go = std::sync::Arc::new(tokio::sync::Notify::new());
        crate::lock(&self.waiting).insert(id, Waiting { let_go: let_go.clone(), place });
        (id, let_go)
    }

    /// The connection's place back, or `None` when it was let go.
    fn leave(&self, id: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        crate::lock(&self.waiting).remove(&id).map(|waiting| waiting.place)
    }

    /// Lets the connection that has waited longest go and hands its place over; `None` when
    /// none is waiting.
    pub(crate) fn evict_oldest(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let (_, waiting) = crate::lock(&self.waiting).pop_first()?;
        waiting.let_go.notify_one();
        Some(waiting.place)
    }
}

/// A reader whose every read must complete within [`READ_TIMEOUT`].
struct TimedReader<R> {
    inner: R,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for TimedReader<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            std::task::Poll::Ready(result) => {
                this.sleep = None;
                std::task::Poll::Ready(result)
            }
            std::task::Poll::Pending => {
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(READ_TIMEOUT)));
                match sleep.as_mut().poll(cx) {
                    std::task::Poll::Ready(()) => {
                        this.sleep = None;
                        std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no byte for too long",
                        )))
                    }
                    std::task::Poll::Pending => std::task::Poll::Pending,
                }
            }
        }
    }
}

/// Answers a connection over the cap with 503 and closes it.
pub(crate) async fn refuse_busy(mut stream: TcpStream) {
    let body = b"too many connections";
    let date = http_date(chrono::Utc::now());
    let _ = write_full(&mut stream, 503, "text/plain", body, true, &date).await;
}

/// A parsed request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Its share of the server's body budget, given back when the request is dropped.
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// What all request bodies being read or handled at once by one server may take, in KiB
/// (64 MiB): many connections each sending a 20 MB body cannot make the sandbox hold gigabytes.
const BODY_BUDGET_KIB: usize = 64 * 1024;

/// Takes `bytes` more of the body budget for this request (before the bytes are read).
fn take_budget(
    budget: &std::sync::Arc<tokio::sync::Semaphore>,
    held: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    bytes: usize,
) -> std::io::Result<()> {
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    if kib == 0 {
        return Ok(());
    }
    let permit = budget.clone().try_acquire_many_owned(kib).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::OutOfMemory, "too many request bodies in flight; try again")
    })?;
    match held {
        Some(held) => held.merge(permit),
        None => *held = Some(permit),
    }
    Ok(())
}

impl HttpRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// How to answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A complete response.
    Full { status: u16, content_type: &'static str, body: Vec<u8> },
    /// A complete response with headers of its own (OpenAPI v3 answers are signed in them).
    Headed { status: u16, content_type: &'static str, headers: Vec<(String, String)>, body: Vec<u8> },
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
    place: tokio::sync::OwnedSemaphorePermit,
    readers: &Readers,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
    handle: F,
) where
    F: Fn(HttpRequest) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut reader = BufReader::new(TimedReader { inner: stream, sleep: None });
    let mut place = Some(place);
    loop {
        let Some(held) = place.take() else { return };
        let (id, let_go) = readers.enter(held);
        let read = async {
            // Idle until the next request starts; then it must arrive whole in time.
            match tokio::time::timeout(IDLE_TIMEOUT, wait_for_data(&mut reader)).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) | Err(_) => return Ok(None),
                Ok(Err(error)) => return Err(error),
            }
            match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut reader, &readers.bodies)).await {
                Ok(result) => result,
                Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the request took too long")),
            }
        };
        let outcome = tokio::select! {
            outcome = read => Some(outcome),
            () = let_go.notified() => None,
        };
        // Let go to make room for a new connection: its place is the newcomer's already.
        place = readers.leave(id);
        if place.is_none() {
            return;
        }
        let request = match outcome {
            // Let go to make room for a new connection, or closed, or idle for too long.
            None | Some(Ok(None)) => return,
            Some(Ok(Some(request))) => request,
            Some(Err(error)) if error.kind() == std::io::ErrorKind::TimedOut => return,
            Some(Err(error)) if error.kind() == std::io::ErrorKind::OutOfMemory => {
                let body = error.to_string().into_bytes();
                let _ =
                    write_full(&mut reader.get_mut().inner, 503, "text/plain", &body, true, &http_date(now())).await;
                return;
            }
            Some(Err(error)) => {
                let body = format!("bad request: {error}").into_bytes();
                let _ =
                    write_full(&mut reader.get_mut().inner, 400, "text/plain", &body, true, &http_date(now())).await;
                return;
            }
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let stream = &mut reader.get_mut().inner;
        let reply = handle(request).await;
        let date = http_date(now());
        match reply {
            Reply::Full { status, content_type, body } => {
                if write_full(stream, status, content_type, &body, close, &date).await.is_err() || close {
                    return;
                }
            }
            Reply::Headed { status, content_type, headers, body } => {
                // One trace id: the answer's own `alipay-trace-id`, also as `trace_id`.
                let trace = headers.iter().find(|(k, _)| k == "alipay-trace-id").map(|(_, v)| v.clone());
                let trace = trace.unwrap_or_else(trace_id);
                let mut out = head_traced(status, content_type, body.len(), close, &date, &trace);
                out.truncate(out.len() - 2);
                for (name, value) in &headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                if stream.write_all(&bytes).await.is_err() || stream.flush().await.is_err() || close {
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

/// Whether bytes arrived (`false`: the peer closed the connection).
async fn wait_for_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        match reader.fill_buf().await {
            Ok(bytes) => return Ok(!bytes.is_empty()),
            // Idle: waiting for the first byte is not a slow read.
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(error) => return Err(error),
        }
    }
}

/// An HTTP `Date` header value (RFC 7231 IMF-fixdate).
fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn head(status: u16, content_type: &str, length: usize, close: bool, date: &str) -> String {
    head_traced(status, content_type, length, close, date, &trace_id())
}

fn head_traced(status: u16, content_type: &str, length: usize, close: bool, date: &str, trace_id: &str) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        401 => "Unauthorized",
        405 => "Method Not Allowed",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let connection = if close { "close" } else { "keep-alive" };
    // Like Alipay's gateway: every answer names its trace (Alipay support asks for it).
    format!(
        "HTTP/1.1 {status} {reason}\r\nDate: {date}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: {connection}\r\ntrace_id: {trace_id}\r\n\r\n"
    )
}

/// A trace id shaped like the gateway's: 30 lowercase hex digits.
pub(crate) fn trace_id() -> String {
    // A trace id only has to be distinct; a failing source gives a clock-based one, which
    // is (the sandbox is a test server, not a security boundary).
    alipay_core::random::hex::<15>("a trace id").unwrap_or_else(|_| {
        format!(
            "{:030x}",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        )
    })
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

/// Reads one line (through `\n`) of at most `limit` bytes, as bytes arrive: a longer line is an
/// error, and nothing is allocated ahead of what the peer sent.
async fn read_line_limited<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    limit: usize,
    what: &str,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = (&mut *reader).take(limit as u64).read_until(b'\n', &mut line).await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() >= limit {
            invalid(&format!("{what} longer than {limit} bytes"))
        } else {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("connection closed in the {what}"))
        });
    }
    String::from_utf8(line).map(Some).map_err(|_| invalid(&format!("{what} is not UTF-8")))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// How the request says its body is framed (RFC 9112 §6), refusing the ambiguous forms that
/// smuggling relies on.
fn body_framing(headers: &[(String, String)]) -> std::io::Result<Option<Framing>> {
    let mut lengths = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v);
    let encodings: Vec<&String> =
        headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding")).map(|(_, v)| v).collect();
    if !encodings.is_empty() {
        if lengths.next().is_some() {
            return Err(invalid("both Transfer-Encoding and Content-Length"));
        }
        let only_chunked = encodings.len() == 1 && encodings[0].trim().eq_ignore_ascii_case("chunked");
        if !only_chunked {
            return Err(invalid("unsupported Transfer-Encoding (only 'chunked' is accepted)"));
        }
        return Ok(Some(Framing::Chunked));
    }
    let Some(first) = lengths.next() else { return Ok(None) };
    let parse = |value: &str| -> std::io::Result<usize> {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("bad Content-Length"));
        }
        value.parse().map_err(|_| invalid("Content-Length too large"))
    };
    let length = parse(first)?;
    for other in lengths {
        if parse(other)? != length {
            return Err(invalid("conflicting Content-Length headers"));
        }
    }
    Ok(Some(Framing::Length(length)))
}

enum Framing {
    Length(usize),
    Chunked,
}

/// Appends exactly `count` bytes to `body`, as they arrive.
async fn read_exact_into<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    count: usize,
    body: &mut Vec<u8>,
) -> std::io::Result<()> {
    let read = (&mut *reader).take(count as u64).read_to_end(body).await?;
    if read < count {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in the body"));
    }
    Ok(())
}

async fn read_request<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    bodies: &std::sync::Arc<tokio::sync::Semaphore>,
) -> std::io::Result<Option<HttpRequest>> {
    let Some(line) = read_line_limited(reader, MAX_REQUEST_LINE_BYTES, "request line").await? else {
        return Ok(None);
    };
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(|| invalid("empty request line"))?.to_string();
    let target = parts.next().ok_or_else(|| invalid("no request target"))?.to_string();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut headers = Vec::new();
    let mut header_bytes = 0;
    loop {
        if header_bytes >= MAX_HEADER_BYTES {
            return Err(invalid("headers too large"));
        }
        let header = read_line_limited(reader, MAX_HEADER_BYTES - header_bytes, "headers")
            .await?
            .ok_or_else(|| invalid("connection closed in headers"))?;
        header_bytes += header.len();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut body = Vec::new();
    let mut budget = None;
    match body_framing(&headers)? {
        None => {}
        Some(Framing::Length(length)) => {
            if length > MAX_BODY_BYTES {
                return Err(invalid("body too large"));
            }
            take_budget(bodies, &mut budget, length)?;
            read_exact_into(reader, length, &mut body).await?;
        }
        Some(Framing::Chunked) => loop {
            let size_line = read_line_limited(reader, MAX_CHUNK_LINE_BYTES, "chunk size line")
                .await?
                .ok_or_else(|| invalid("connection closed in a chunked body"))?;
            let digits = size_line.trim_end().split(';').next().unwrap_or("").trim();
            if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid("bad chunk size"));
            }
            let size = usize::from_str_radix(digits, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailer fields up to the empty line: consumed, not read as a next request.
                let mut trailer_bytes = 0;
                loop {
                    if trailer_bytes >= MAX_HEADER_BYTES {
                        return Err(invalid("trailers too large"));
                    }
                    let trailer = read_line_limited(reader, MAX_HEADER_BYTES - trailer_bytes, "trailers")
                        .await?
                        .ok_or_else(|| invalid("connection closed in trailers"))?;
                    trailer_bytes += trailer.len();
                    if trailer.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            if body.len().saturating_add(size) > MAX_BODY_BYTES {
                return Err(invalid("body too large"));
            }
            take_budget(bodies, &mut budget, size)?;
            read_exact_into(reader, size, &mut body).await?;
            let mut crlf = Vec::new();
            read_exact_into(reader, 2, &mut crlf).await?;
            if crlf != b"\r\n" {
                return Err(invalid("chunk not followed by CRLF"));
            }
        },
    }
    Ok(Some(HttpRequest { method, path, query, headers, body, _budget: budget }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(kib: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
        std::sync::Arc::new(tokio::sync::Semaphore::new(kib))
    }

    #[test]
    fn bodies_in_flight_share_one_budget() {
        block(async {
            let bodies = budget(100);
            let raw = |kib: usize| {
                let mut raw = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", kib * 1024).into_bytes();
                raw.extend(std::iter::repeat_n(b'x', kib * 1024));
                raw
            };
            let first = read_request(&mut &raw(60)[..], &bodies).await.unwrap().unwrap();
            // 60 KiB held: 60 more do not fit until the first request is dropped.
            let error = read_request(&mut &raw(60)[..], &bodies).await.unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::OutOfMemory);
            assert!(read_request(&mut &raw(30)[..], &bodies).await.unwrap().is_some());
            drop(first);
            assert!(read_request(&mut &raw(60)[..], &bodies).await.unwrap().is_some());
        });
    }

    async fn parse(raw: &[u8]) -> std::io::Result<Option<HttpRequest>> {
        let mut reader = tokio::io::BufReader::new(raw);
        read_request(&mut reader, &budget(BODY_BUDGET_KIB)).await
    }

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
    }

    #[test]
    fn hostile_framing_is_refused_without_panics() {
        block(async {
            let overflow = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
            assert!(parse(overflow).await.is_err());
            let max = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
            assert!(parse(max).await.is_err());
            let conflicting = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
            assert!(parse(conflicting).await.is_err());
            let both = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
            assert!(parse(both).await.is_err());
            let gzip = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
            assert!(parse(gzip).await.is_err());
            let signed_length = b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc";
            assert!(parse(signed_length).await.is_err());
            let mut long_line = b"GET /".to_vec();
            long_line.extend(std::iter::repeat_n(b'a', MAX_REQUEST_LINE_BYTES + 10));
            assert!(parse(&long_line).await.is_err());
            // A 20 MB announcement with 3 bytes behind it: an error, and no 20 MB buffer.
            let announced = b"POST / HTTP/1.1\r\nContent-Length: 20000000\r\n\r\nabc";
            assert!(parse(announced).await.is_err());
        });
    }

    #[test]
    fn chunked_bodies_and_trailers_are_read_whole() {
        block(async {
            let raw = b"POST /gateway.do HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
            let mut reader = tokio::io::BufReader::new(&raw[..]);
            let bodies = budget(BODY_BUDGET_KIB);
            let first = read_request(&mut reader, &bodies).await.unwrap().unwrap();
            assert_eq!(first.body, b"abcde");
            let second = read_request(&mut reader, &bodies).await.unwrap().unwrap();
            assert_eq!((second.method.as_str(), second.path.as_str()), ("GET", "/next"));
        });
    }
}
