//! Bring your own HTTP stack: the IO-free call flow driven by a tiny HTTP/1.1 client written
//! on `std::net::TcpStream` (plain HTTP, for a local gateway such as `alipay sandbox`; a real
//! deployment would put its TLS stack where `TcpStream` is).
//!
//! The flow signs, verifies and follows Alipay's certificate rotation; the driver only moves
//! bytes and waits for its turn when another call is fetching the same certificate.
//!
//! ```sh
//! alipay sandbox --dir ./alipay-sandbox &
//! cargo run --example own_http -- ./alipay-sandbox/alipay.toml
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

// Only the core: an own driver needs no async runtime and no HTTP client crate.
use alipay_core::flow::{Call, Goal, HttpRequest, HttpResponse, Step, TransportError};
use alipay_core::{Config, Error, Request, VerifiedResponse};

/// Drives any call to its end with blocking socket IO.
pub(crate) fn drive<G: Goal>(mut call: Call<'_, G>) -> Result<G::Output, Error> {
    let mut step = call.start();
    loop {
        step = match step {
            Step::Send(request) => call.receive(send(&request).map_err(TransportError::new)),
            // Only with a remote signer (a KMS behind a network call): wait for its answer.
            Step::Sign(job) => call.signed(block_on(job.sign())),
            Step::AwaitTurn(turn) => call.resume(turn.wait_blocking()),
            Step::Done(result) => return result,
        };
    }
}

/// Runs a future to its end on this thread (parked between wake-ups): enough for a remote
/// signer's answer in a blocking driver.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// Signs, sends and verifies one gateway call.
pub(crate) fn execute(config: &Config, request: &Request) -> Result<VerifiedResponse, Error> {
    drive(config.start(request)?)
}

/// The request over HTTP/1.1 with `Connection: close`: status line, headers, then a body framed by
/// `Content-Length` or read to the end.
pub(crate) fn send(request: &HttpRequest) -> std::io::Result<HttpResponse> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let rest = request.url.strip_prefix("http://").ok_or_else(|| invalid("only http:// URLs"))?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut head = format!("{} {path} HTTP/1.1\r\nHost: {authority}\r\n", request.method);
    if !request.content_type.is_empty() {
        head.push_str(&format!("Content-Type: {}\r\n", request.content_type));
    }
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&request.body)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| invalid("status line"))?;
    let mut length = None;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse::<usize>().map_err(|_| invalid("content-length"))?);
            }
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => reader.take(length as u64).read_to_end(&mut body)?,
        None => reader.read_to_end(&mut body)?,
    };
    if length.is_some_and(|l| l != body.len()) {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the body ended early"));
    }
    // Every header goes to the flow: v3 answers are signed in theirs.
    Ok(headers.iter().fold(HttpResponse::new(status, body), |answer, (name, value)| answer.header(name, value)))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "alipay-sandbox/alipay.toml".into());
    let config = alipay_sdk::config_file::ConfigFile::load(&path)?.builder()?.build()?;
    let request = Request::new("alipay.trade.query").biz_json(r#"{"out_trade_no":"own-http-1"}"#);
    match execute(&config, &request) {
        Ok(response) => println!("verified: {}", response.node()),
        Err(error) => println!("{:?}: {error}", error.kind()),
    }
    Ok(())
}
