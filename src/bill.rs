//! The daily bill (feature `bill`): fetch the zip behind the short-lived URL of
//! `alipay.data.dataservice.bill.downloadurl.query`, unzip it, decode its GBK CSV files and
//! parse them into typed rows.
//!
//! ```no_run
//! # async fn run(client: alipay_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use alipay_sdk::bill::BillDetails;
//! use alipay_sdk::model::settle::{BillDownloadUrlQuery, BillType};
//!
//! let query = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: "2026-11-30".into() };
//! let bill = client.download_bill(&query, |done, total| eprintln!("{done} of {total:?} bytes")).await?;
//! if let BillDetails::Trade(rows) = &bill.details {
//!     for row in rows {
//!         println!("{} {} {}", row.out_trade_no, row.business_type, row.total_amount);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! What a bill zip holds (the trade bill; the account bill `signcustomer` likewise with
//! 账务明细): `<partner>_<date>_业务明细.csv` and `<partner>_<date>_业务明细(汇总).csv`, GBK text,
//! a few `#` lines before and after the table (the account, the period, totals, the export
//! time), values often padded with tabs so spreadsheets keep them as text. Columns are found
//! by their header, so an added column does not shift the others (it lands in `extra`).

use std::io::Read;

use crate::model::settle::BillType;

/// Why a bill could not be fetched or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillErrorKind {
    /// The download-URL query failed.
    #[error("the bill download URL could not be obtained: {0}")]
    Query(#[source] Box<crate::Error>),
    /// The URL has expired (they live about 30 seconds): ask for a new one.
    #[error("the bill URL has expired or is no longer valid (HTTP {status}): query a new URL and download it at once")]
    UrlExpired {
        /// The HTTP status.
        status: u16,
    },
    /// The download failed.
    #[error("downloading the bill failed: {0}")]
    Download(#[source] reqwest::Error),
    /// The server stopped sending.
    #[error("downloading the bill stalled: nothing received for {seconds} s")]
    Stalled {
        /// How long nothing came.
        seconds: u64,
    },
    /// The server answered another status.
    #[error("downloading the bill failed: HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The file is larger than the configured limit.
    #[error("the bill is larger than its {limit}-byte limit (BillLimits::{limit_name})")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Which limit: `max_download_bytes` or `max_unpacked_bytes`.
        limit_name: &'static str,
    },
    /// The file is not a zip archive (or a damaged one).
    #[error("the bill is not a readable zip archive: {detail}")]
    NotZip {
        /// What the zip reader said.
        detail: String,
    },
    /// The archive lacks the detail file.
    #[error(
        "the bill archive has no {expected} file (it holds {total} entries: {}{})",
        found.join(", "),
        if *total > found.len() { ", …" } else { "" }
    )]
    MissingFile {
        /// What was looked for.
        expected: &'static str,
        /// The first names in the archive (at most 20, each capped).
        found: Vec<String>,
        /// How many entries it holds.
        total: usize,
    },
    /// A file of the archive could not be read.
    #[error("{file}, line {line}: {detail}")]
    Malformed {
        /// The file in the archive.
        file: String,
        /// The line (1-based; 0 for the whole file).
        line: u64,
        /// What is wrong.
        detail: String,
    },
}

crate::error::layer_error!(
    /// Why a bill could not be fetched or read; see [`BillErrorKind`].
    BillError => BillErrorKind
);

/// A malformed-file error; the file name and the detail (which may quote a value of the file)
/// are capped, so a hostile archive cannot make a huge error.
fn malformed(file: &str, line: u64, detail: String) -> BillError {
    BillErrorKind::Malformed {
        file: crate::excerpt::capped(file, 200),
        line,
        detail: crate::excerpt::capped(&detail, 1024),
    }
    .into()
}

/// Size limits for a bill (a hostile or broken server chooses what it sends).
#[derive(Debug, Clone, Copy)]
pub struct BillLimits {
    /// The most bytes downloaded (default 512 MiB).
    pub max_download_bytes: u64,
    /// The most bytes the archive's CSV files may unpack to, all together (default 2 GiB):
    /// a small archive of many highly compressed entries cannot take more than this.
    pub max_unpacked_bytes: u64,
}

impl Default for BillLimits {
    fn default() -> Self {
        BillLimits { max_download_bytes: 512 << 20, max_unpacked_bytes: 2 << 30 }
    }
}

/// A signed amount in yuan with two decimals, as bills write them (`-8.88` for a refund).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BillAmount {
    cents: i64,
}

impl BillAmount {
    /// The amount in fen (cents), negative for money going out.
    pub fn cents(self) -> i64 {
        self.cents
    }

    fn parse(text: &str) -> Option<BillAmount> {
        let text = text.trim();
        if text.is_empty() {
            return Some(BillAmount::default());
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let valid = !whole.is_empty()
            && whole.len() <= 15
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 2
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        let fraction_cents = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().ok()? * 10,
            _ => fraction.parse::<i64>().ok()?,
        };
        let cents = whole.parse::<i64>().ok()? * 100 + fraction_cents;
        Some(BillAmount { cents: if negative { -cents } else { cents } })
    }
}

impl std::fmt::Display for BillAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl serde::Serialize for BillAmount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// The values of a row that no typed field takes, by their header: the columns Alipay added
/// after this SDK was written, the ones it does not type (门店名称, 操作员, …), and values beyond
/// the header row (under an empty name). Compared, printed and serialized as its
/// `(header, value)` pairs in file order.
///
/// ```
/// # fn show(row: &alipay_sdk::bill::TradeBillRow) {
/// if let Some(store) = row.extra.get("门店名称") {
///     println!("{store}");
/// }
/// for (header, value) in row.extra.iter() {
///     println!("{header} = {value}");
/// }
/// # }
/// ```
#[derive(Clone, Default)]
pub struct BillExtra {
    /// The table's header and which of its columns are typed, shared by all its rows.
    columns: Option<std::sync::Arc<ExtraColumns>>,
    /// The whole row (the typed values are skipped when reading).
    row: Row,
}

#[derive(Debug)]
struct ExtraColumns {
    header: Vec<String>,
    typed: Vec<bool>,
}

impl BillExtra {
    /// The `(header, value)` pairs, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let columns = self.columns.as_deref();
        self.row.iter().enumerate().filter_map(move |(index, value)| {
            let typed = columns.is_some_and(|c| c.typed.get(index).copied().unwrap_or(false));
            let header = columns.and_then(|c| c.header.get(index)).map_or("", String::as_str);
            (!typed).then_some((header, value))
        })
    }

    /// The value of the first untyped column named `header`.
    pub fn get(&self, header: &str) -> Option<&str> {
        self.iter().find(|(name, _)| *name == header).map(|(_, value)| value)
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the row has no value beyond its typed fields.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for BillExtra {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for BillExtra {}

impl std::fmt::Debug for BillExtra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for BillExtra {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A row of the trade bill's detail file (业务明细): a payment or a refund.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TradeBillRow {
    /// 支付宝交易号.
    pub trade_no: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 业务类型: `交易` (payment) or `退款` (refund).
    pub business_type: String,
    /// 商品名称.
    pub subject: String,
    /// 创建时间.
    pub created_at: String,
    /// 完成时间.
    pub finished_at: String,
    /// 门店编号.
    pub store_id: String,
    /// 对方账户.
    pub counterparty: String,
    /// 订单金额（元）: negative for a refund.
    pub total_amount: BillAmount,
    /// 商家实收（元）.
    pub received_amount: BillAmount,
    /// 退款批次号/请求号.
    pub refund_request_no: String,
    /// 服务费（元）.
    pub service_fee: BillAmount,
    /// 备注.
    pub remark: String,
    /// Every other value of the row, by its header.
    pub extra: BillExtra,
}

/// A row of the account bill's detail file (账务明细): a movement of the balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountBillRow {
    /// 账务流水号.
    pub account_log_id: String,
    /// 业务流水号.
    pub biz_no: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 商品名称.
    pub subject: String,
    /// 发生时间.
    pub occurred_at: String,
    /// 对方账号.
    pub counterparty: String,
    /// 收入金额（+元）.
    pub income: BillAmount,
    /// 支出金额（-元）: negative.
    pub outgo: BillAmount,
    /// 账户余额（元）.
    pub balance: BillAmount,
    /// 业务类型.
    pub business_type: String,
    /// 备注.
    pub remark: String,
    /// Every other value of the row, by its header.
    pub extra: BillExtra,
}

/// A row of the trade bill's summary file (业务明细(汇总)): one per store, then `合计`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TradeSummaryRow {
    /// 门店编号 (`合计` on the total row).
    pub store_id: String,
    /// 门店名称.
    pub store_name: String,
    /// 交易订单总笔数.
    pub trade_count: u64,
    /// 退款订单总笔数.
    pub refund_count: u64,
    /// 订单金额（元）.
    pub total_amount: BillAmount,
    /// 商家实收（元）.
    pub received_amount: BillAmount,
    /// 服务费（元）.
    pub service_fee: BillAmount,
    /// 实收净额（元）.
    pub net_amount: BillAmount,
    /// Every other value of the row, by its header.
    pub extra: BillExtra,
}

/// A row of the account bill's summary file (账务明细(汇总)): one per business type, then `合计`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSummaryRow {
    /// 业务类型 (`合计` on the total row).
    pub business_type: String,
    /// 笔数 (or 收入笔数 + 支出笔数 where the file splits them).
    pub count: u64,
    /// 收入金额（+元）.
    pub income: BillAmount,
    /// 支出金额（-元）.
    pub outgo: BillAmount,
    /// Every other value of the row, by its header.
    pub extra: BillExtra,
}

/// The summary rows of a bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum BillSummary {
    /// The trade bill's.
    Trade(Vec<TradeSummaryRow>),
    /// The account bill's.
    Account(Vec<AccountSummaryRow>),
}

/// The detail rows of a bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum BillDetails {
    /// The trade bill's.
    Trade(Vec<TradeBillRow>),
    /// The account bill's.
    Account(Vec<AccountBillRow>),
}

impl BillDetails {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            BillDetails::Trade(rows) => rows.len(),
            BillDetails::Account(rows) => rows.len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bill {
    /// Which bill.
    pub bill_type: BillType,
    /// The detail rows.
    pub details: BillDetails,
    /// The summary rows (the last one is usually the total, `合计`); empty when the archive
    /// has no summary file.
    pub summary: BillSummary,
    /// The `#` lines of the detail file (account, period, totals, export time).
    pub notes: Vec<String>,
    /// The files of the archive.
    pub files: Vec<String>,
}

/// Downloads the bill behind `url` (streamed, at most `limits.max_download_bytes`), calling
/// `progress(bytes so far, total if announced)` as it goes.
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    limits: BillLimits,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, BillError> {
    let mut response = http.get(url).send().await.map_err(BillErrorKind::Download)?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        // OSS answers an expired or revoked signed URL with 403 (AccessDenied, "Request has
        // expired"); 404 and 410 when the object is gone.
        403 | 404 | 410 => return Err(BillErrorKind::UrlExpired { status }.into()),
        _ => return Err(BillErrorKind::Status { status }.into()),
    }
    let total = response.content_length();
    if total.is_some_and(|total| total > limits.max_download_bytes) {
        return Err(
            BillErrorKind::TooLarge { limit: limits.max_download_bytes, limit_name: "max_download_bytes" }.into()
        );
    }
    // Room for what was announced, but never more than 8 MiB ahead of the bytes themselves.
    let mut body = Vec::with_capacity(total.unwrap_or(0).min(limits.max_download_bytes).min(8 << 20) as usize);
    progress(0, total);
    // A server that stops sending is given up on after a minute of silence.
    let stalled = std::time::Duration::from_secs(60);
    while let Some(chunk) = tokio::time::timeout(stalled, response.chunk())
        .await
        .map_err(|_| BillErrorKind::Stalled { seconds: stalled.as_secs() })?
        .map_err(BillErrorKind::Download)?
    {
        if body.len() as u64 + chunk.len() as u64 > limits.max_download_bytes {
            return Err(
                BillErrorKind::TooLarge { limit: limits.max_download_bytes, limit_name: "max_download_bytes" }.into()
            );
        }
        body.extend_from_slice(&chunk);
        progress(body.len() as u64, total);
    }
    Ok(body)
}

/// Reads a bill zip of `bill_type`.
pub fn parse(zip: &[u8], bill_type: BillType, limits: BillLimits) -> Result<Bill, BillError> {
    let not_zip = |e: zip::result::ZipError| BillErrorKind::NotZip { detail: e.to_string() };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(not_zip)?;
    let mut names = Vec::new();
    let mut files = Vec::new();
    // One budget for the whole archive, so many entries cannot multiply the limit.
    let mut unpack_budget = limits.max_unpacked_bytes;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(not_zip)?;
        // Alipay's archives name their files in GBK without the UTF-8 flag.
        let name = decode_name(entry.name_raw());
        if entry.is_dir() {
            continue;
        }
        names.push(name.clone());
        // Only the CSV files are read; anything else is listed, never unpacked.
        if !name.to_ascii_lowercase().ends_with(".csv") {
            continue;
        }
        let mut raw = Vec::new();
        let read = (&mut entry).take(unpack_budget.saturating_add(1)).read_to_end(&mut raw);
        read.map_err(|e| malformed(&name, 0, e.to_string()))?;
        if raw.len() as u64 > unpack_budget {
            return Err(
                BillErrorKind::TooLarge { limit: limits.max_unpacked_bytes, limit_name: "max_unpacked_bytes" }.into()
            );
        }
        unpack_budget -= raw.len() as u64;
        files.push((name, raw));
    }
    let (detail_marker, expected) = match bill_type {
        BillType::Trade => ("支付宝交易号", "trade detail (业务明细)"),
        BillType::SignCustomer => ("账务流水号", "account detail (账务明细)"),
    };
    let mut details = None;
    let mut summary = match bill_type {
        BillType::Trade => BillSummary::Trade(Vec::new()),
        BillType::SignCustomer => BillSummary::Account(Vec::new()),
    };
    let mut notes = Vec::new();
    for (name, raw) in &files {
        let mut table = Table::read(name, raw)?;
        if name.contains("汇总") {
            summary = match bill_type {
                BillType::Trade => BillSummary::Trade(table.trade_summary_rows()?),
                BillType::SignCustomer => BillSummary::Account(table.account_summary_rows()?),
            };
        } else if table.header.iter().any(|h| h == detail_marker) {
            notes = std::mem::take(&mut table.notes);
            details = Some(match bill_type {
                BillType::Trade => BillDetails::Trade(table.trade_rows()?),
                BillType::SignCustomer => BillDetails::Account(table.account_rows()?),
            });
        }
    }
    let details = details.ok_or_else(|| BillErrorKind::MissingFile {
        expected,
        found: names.iter().take(20).map(|name| crate::excerpt::capped(name, 200)).collect(),
        total: names.len(),
    })?;
    Ok(Bill { bill_type, details, summary, notes, files: names })
}

fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// One CSV file: its `#` notes, header and rows (with their line numbers).
struct Table {
    file: String,
    notes: Vec<String>,
    header: Vec<String>,
    /// The first column of each header name (a bill names a column once).
    columns: std::collections::HashMap<String, usize>,
    rows: Vec<(u64, Row)>,
}

/// A row's cleaned values in one buffer (two allocations a row, not one a value); a value
/// becomes a `String` only when a typed field takes it, the rest stay here as the row's
/// [`BillExtra`].
#[derive(Debug, Clone, Default)]
struct Row {
    text: String,
    ends: Vec<usize>,
}

impl Row {
    fn new(record: &csv::StringRecord) -> Row {
        let mut row =
            Row { text: String::with_capacity(record.as_slice().len()), ends: Vec::with_capacity(record.len()) };
        for value in record {
            row.text.push_str(clean(value));
            row.ends.push(row.text.len());
        }
        row
    }

    fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.text[start..end])
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).filter_map(|index| self.get(index))
    }
}

/// A value without the tabs and spaces bills pad it with (and a stray byte-order mark).
fn clean(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

impl Table {
    fn read(file: &str, raw: &[u8]) -> Result<Table, BillError> {
        let text = match std::str::from_utf8(raw) {
            // A UTF-8 file (some exports are) is taken as it is; otherwise GBK.
            Ok(text) if raw.starts_with(&[0xef, 0xbb, 0xbf]) => text.to_string(),
            _ => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(raw)
                .ok_or_else(|| malformed(file, 0, "not GBK text".into()))?
                .into_owned(),
        };
        let notes: Vec<String> =
            text.lines().map(str::trim).filter(|l| l.starts_with('#')).map(str::to_string).collect();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        // Line numbers from byte offsets, counted incrementally (linear in the file).
        let (mut counted_to, mut line_at) = (0usize, 1u64);
        let mut line_of = |byte: usize| {
            // The csv crate starts a record at the previous record's terminator (its `\n`
            // under `\r\n` endings): the record's own line begins after it.
            let mut byte = byte.min(text.len());
            while byte < text.len() && matches!(text.as_bytes()[byte], b'\r' | b'\n') {
                byte += 1;
            }
            if byte > counted_to {
                line_at += text.as_bytes()[counted_to..byte].iter().filter(|&&b| b == b'\n').count() as u64;
                counted_to = byte;
            }
            line_at
        };
        // One record read into again and again: the csv crate's `records()` clones each one with
        // room for the widest row so far, which a wide header makes quadratic.
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader
                .read_record(&mut record)
                .map_err(|e| malformed(file, e.position().map_or(0, |p| p.line()), e.to_string()))?;
            if !more {
                break;
            }
            if record.iter().all(|value| clean(value).is_empty()) {
                continue;
            }
            let line = record.position().map_or(0, |p| line_of(p.byte() as usize));
            match &header {
                None => header = Some(record.iter().map(|value| clean(value).to_string()).collect()),
                Some(_) => rows.push((line, Row::new(&record))),
            }
        }
        let header = header.ok_or_else(|| malformed(file, 0, "no header row".into()))?;
        let mut columns = std::collections::HashMap::with_capacity(header.len());
        for (index, name) in header.iter().enumerate() {
            columns.entry(name.clone()).or_insert(index);
        }
        Ok(Table { file: file.to_string(), notes, header, columns, rows })
    }

    /// Typed rows: `build` takes its fields by header; the columns it did not take stay in the
    /// row, moved (not copied) into each row's `extra`.
    fn typed_rows<T>(
        self,
        build: impl Fn(&mut Fields<'_>) -> Result<T, BillError>,
        extra_of: fn(&mut T) -> &mut BillExtra,
    ) -> Result<Vec<T>, BillError> {
        let Table { file, header, columns, rows, .. } = self;
        // Every row takes the same columns (the same headers looked up in the same table), so
        // which ones are typed is worked out on the first row and shared by all.
        let mut taken = Vec::new();
        let mut shared: Option<std::sync::Arc<ExtraColumns>> = None;
        let mut out = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            taken.clear();
            let mut fields = Fields { file: &file, columns: &columns, line, row: &row, taken: &mut taken };
            let mut typed = build(&mut fields)?;
            let extra_columns = shared.get_or_insert_with(|| {
                let mut typed_columns = vec![false; header.len()];
                for index in &taken {
                    typed_columns[*index] = true;
                }
                std::sync::Arc::new(ExtraColumns { header: header.clone(), typed: typed_columns })
            });
            *extra_of(&mut typed) = BillExtra { columns: Some(extra_columns.clone()), row };
            out.push(typed);
        }
        Ok(out)
    }

    fn trade_rows(self) -> Result<Vec<TradeBillRow>, BillError> {
        self.typed_rows(
            |f| {
                Ok(TradeBillRow {
                    trade_no: f.text("支付宝交易号", true)?,
                    out_trade_no: f.text("商户订单号", false)?,
                    business_type: f.text("业务类型", false)?,
                    subject: f.text("商品名称", false)?,
                    created_at: f.text("创建时间", false)?,
                    finished_at: f.text("完成时间", false)?,
                    store_id: f.text("门店编号", false)?,
                    counterparty: f.text("对方账户", false)?,
                    total_amount: f.amount("订单金额（元）", true)?,
                    received_amount: f.amount("商家实收（元）", false)?,
                    refund_request_no: f.text("退款批次号/请求号", false)?,
                    service_fee: f.amount("服务费（元）", false)?,
                    remark: f.text("备注", false)?,
                    extra: BillExtra::default(),
                })
            },
            |row| &mut row.extra,
        )
    }

    fn trade_summary_rows(self) -> Result<Vec<TradeSummaryRow>, BillError> {
        self.typed_rows(
            |f| {
                Ok(TradeSummaryRow {
                    store_id: f.text("门店编号", false)?,
                    store_name: f.text("门店名称", false)?,
                    trade_count: f.count("交易订单总笔数")?,
                    refund_count: f.count("退款订单总笔数")?,
                    total_amount: f.amount("订单金额（元）", false)?,
                    received_amount: f.amount("商家实收（元）", false)?,
                    service_fee: f.amount("服务费（元）", false)?,
                    net_amount: f.amount("实收净额（元）", false)?,
                    extra: BillExtra::default(),
                })
            },
            |row| &mut row.extra,
        )
    }

    fn account_summary_rows(self) -> Result<Vec<AccountSummaryRow>, BillError> {
        self.typed_rows(
            |f| {
                let count = f.count("笔数")? + f.count("收入笔数")? + f.count("支出笔数")?;
                Ok(AccountSummaryRow {
                    business_type: f.text("业务类型", false)?,
                    count,
                    income: f.amount("收入金额（+元）", false)?,
                    outgo: f.amount("支出金额（-元）", false)?,
                    extra: BillExtra::default(),
                })
            },
            |row| &mut row.extra,
        )
    }

    fn account_rows(self) -> Result<Vec<AccountBillRow>, BillError> {
        self.typed_rows(
            |f| {
                Ok(AccountBillRow {
                    account_log_id: f.text("账务流水号", true)?,
                    biz_no: f.text("业务流水号", false)?,
                    out_trade_no: f.text("商户订单号", false)?,
                    subject: f.text("商品名称", false)?,
                    occurred_at: f.text("发生时间", false)?,
                    counterparty: f.text("对方账号", false)?,
                    income: f.amount("收入金额（+元）", false)?,
                    outgo: f.amount("支出金额（-元）", false)?,
                    balance: f.amount("账户余额（元）", false)?,
                    business_type: f.text("业务类型", false)?,
                    remark: f.text("备注", false)?,
                    extra: BillExtra::default(),
                })
            },
            |row| &mut row.extra,
        )
    }
}

struct Fields<'a> {
    file: &'a str,
    columns: &'a std::collections::HashMap<String, usize>,
    line: u64,
    row: &'a Row,
    /// The columns typed fields took (one list reused for every row).
    taken: &'a mut Vec<usize>,
}

impl Fields<'_> {
    fn malformed(&self, detail: String) -> BillError {
        malformed(self.file, self.line, detail)
    }

    /// The cleaned value of the column named `header` ("" when the file has no such column
    /// and it is not `required`, or the row stops short of it).
    fn value(&mut self, header: &str, required: bool) -> Result<&str, BillError> {
        let Some(&index) = self.columns.get(header) else {
            return if required { Err(self.malformed(format!("no column {header:?}"))) } else { Ok("") };
        };
        self.taken.push(index);
        let value = self.row.get(index).unwrap_or("");
        if required && value.is_empty() {
            return Err(self.malformed(format!("column {header:?} is empty")));
        }
        Ok(value)
    }

    fn text(&mut self, header: &str, required: bool) -> Result<String, BillError> {
        self.value(header, required).map(str::to_string)
    }

    fn amount(&mut self, header: &str, required: bool) -> Result<BillAmount, BillError> {
        let text = self.value(header, required)?;
        match BillAmount::parse(text) {
            Some(amount) => Ok(amount),
            None => {
                let detail = format!("column {header:?}: {:?} is not an amount", crate::excerpt::capped(text, 200));
                Err(self.malformed(detail))
            }
        }
    }

    /// A count column (absent or empty: 0).
    fn count(&mut self, header: &str) -> Result<u64, BillError> {
        let text = self.value(header, false)?;
        if text.is_empty() {
            return Ok(0);
        }
        match text.parse() {
            Ok(count) => Ok(count),
            Err(_) => {
                let detail = format!("column {header:?}: {:?} is not a count", crate::excerpt::capped(text, 200));
                Err(self.malformed(detail))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_signed() {
        assert_eq!(BillAmount::parse("-8.88").unwrap().cents(), -888);
        assert_eq!(BillAmount::parse("88.8").unwrap().cents(), 8880);
        assert_eq!(BillAmount::parse("+1").unwrap().cents(), 100);
        assert_eq!(BillAmount::parse("\t0.01 ").unwrap().to_string(), "0.01");
        assert_eq!(BillAmount::parse("").unwrap().cents(), 0);
        for bad in ["1.234", "1e3", "--1", "1,000.00", ".5", "abc"] {
            assert!(BillAmount::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(BillAmount::parse("-0.05").unwrap().to_string(), "-0.05");
    }
}
