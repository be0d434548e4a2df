//! The daily bill (feature `bill`): the core's parsing ([`alipay_core::bill`], re-exported
//! here) and the download over reqwest — the zip behind a bill URL, streamed to any writer,
//! bounded in size and in time, and only from hosts the caller allows (redirects included).
//!
//! ```no_run
//! # async fn run(client: alipay_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use alipay_sdk::model::settle::{BillDownloadUrlQuery, BillType};
//!
//! let query = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: "2026-11-30".into() };
//! let bill = client.download_bill(&query, |done, total| eprintln!("{done} of {total:?} bytes")).await?;
//! if let alipay_sdk::bill::BillDetails::Trade(rows) = &bill.details {
//!     for row in rows {
//!         println!("{} {} {}", row.out_trade_no, row.business_type, row.total_amount);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub use alipay_core::bill::*;

use std::time::{Duration, Instant};

/// The most redirects followed.
const MAX_REDIRECTS: usize = 5;

/// Downloads the bill behind `url` into memory; see [`download_to`].
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    limits: BillLimits,
    hosts: &BillHosts,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, BillError> {
    let mut body = Vec::new();
    download_to(http, url, limits, hosts, &mut body, progress).await?;
    Ok(body)
}

/// Downloads the bill behind `url` into `out` as it arrives (at most
/// [`BillLimits::max_download_bytes`], within [`BillLimits::max_download_time`] in all and a
/// minute of silence at most), calling `progress(bytes so far, total if announced)`; returns
/// the number of bytes written. The URL and every redirect must be on `hosts`: with the SDK's
/// own HTTP client redirects are followed here, checked one by one; with your own
/// `reqwest::Client`, set its redirect policy to `none` for the same (otherwise only the final
/// address is checked, after the fact).
pub async fn download_to(
    http: &reqwest::Client,
    url: &str,
    limits: BillLimits,
    hosts: &BillHosts,
    out: &mut (dyn std::io::Write + Send),
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<u64, BillError> {
    let started = Instant::now();
    let deadline = limits.max_download_time;
    let left = || deadline.checked_sub(started.elapsed()).filter(|d| !d.is_zero());
    let over = || BillError::from(BillErrorKind::Deadline { seconds: deadline.as_secs() });
    let mut current = url::Url::parse(url)
        .map_err(|e| BillErrorKind::Status { status: 0, detail: format!("the bill URL does not parse: {e}") })?;
    let mut response = None;
    for _ in 0..=MAX_REDIRECTS {
        hosts.check(&current)?;
        let answer = tokio::time::timeout(left().ok_or_else(over)?, http.get(current.clone()).send())
            .await
            .map_err(|_| over())?
            .map_err(|e| BillErrorKind::Download(Box::new(e)))?;
        // A client that followed redirects itself: at least its final address must be allowed.
        hosts.check(answer.url())?;
        if answer.status().is_redirection() {
            let location = answer.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
            let Some(location) = location else {
                return Err(BillErrorKind::Status {
                    status: answer.status().as_u16(),
                    detail: "a redirect without Location".into(),
                }
                .into());
            };
            current = current.join(location).map_err(|e| BillErrorKind::Status {
                status: answer.status().as_u16(),
                detail: format!("the redirect's Location does not parse: {e}"),
            })?;
            continue;
        }
        response = Some(answer);
        break;
    }
    let Some(mut response) = response else {
        return Err(
            BillErrorKind::Status { status: 310, detail: format!("more than {MAX_REDIRECTS} redirects") }.into()
        );
    };
    let status = response.status().as_u16();
    match status {
        200 => {}
        // OSS answers an expired or revoked signed URL with 403 (AccessDenied, "Request has
        // expired"); 404 and 410 when the object is gone.
        403 | 404 | 410 => return Err(BillErrorKind::UrlExpired { status }.into()),
        _ => return Err(BillErrorKind::Status { status, detail: String::new() }.into()),
    }
    let total = response.content_length();
    let too_large = || {
        BillError::from(BillErrorKind::TooLarge { limit: limits.max_download_bytes, limit_name: "max_download_bytes" })
    };
    if total.is_some_and(|total| total > limits.max_download_bytes) {
        return Err(too_large());
    }
    progress(0, total);
    // A server that stops sending is given up on after a minute of silence, and the whole
    // download after the deadline.
    let stalled = Duration::from_secs(60);
    let mut written = 0u64;
    loop {
        let wait = stalled.min(left().ok_or_else(over)?);
        let chunk = match tokio::time::timeout(wait, response.chunk()).await {
            Ok(chunk) => chunk.map_err(|e| BillErrorKind::Download(Box::new(e)))?,
            Err(_) if wait < stalled => return Err(over()),
            Err(_) => return Err(BillErrorKind::Stalled { seconds: stalled.as_secs() }.into()),
        };
        let Some(chunk) = chunk else { break };
        if written + chunk.len() as u64 > limits.max_download_bytes {
            return Err(too_large());
        }
        out.write_all(&chunk).map_err(BillErrorKind::Write)?;
        written += chunk.len() as u64;
        progress(written, total);
    }
    out.flush().map_err(BillErrorKind::Write)?;
    Ok(written)
}
