//! The daily bill (feature `bill`): unzip the archive behind the short-lived URL of
//! `alipay.data.dataservice.bill.downloadurl.query`, decode its GBK CSV files and parse them
//! into typed rows. No HTTP here: the `alipay-sdk` crate downloads (`Client::download_bill`);
//! this module reads what it got.
//!
//! What a bill zip holds (the trade bill; the account bill `signcustomer` likewise with
//! 账务明细): `<partner>_<date>_业务明细.csv` and `<partner>_<date>_业务明细(汇总).csv`, GBK text,
//! a few `#` lines before and after the table (the account, the period, totals, the export
//! time), values often padded with tabs so spreadsheets keep them as text. Columns are found
//! by their header, so an added column does not shift the others (it lands in `extra`).

mod hosts;
mod read;

pub use hosts::BillHosts;
pub use read::{BillOverview, BillRow, read};

use crate::model::Amount;
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
    Download(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The bill URL, or a redirect, leads to a host that is not allowed.
    #[error(
        "the bill URL or one of its redirects leads to {url}, which is not an allowed bill host (allowed: {}); \
         allow it with BillHosts::allow if it is genuine",
        allowed.join(", ")
    )]
    HostNotAllowed {
        /// The scheme and host it leads to.
        url: String,
        /// The allowed domains.
        allowed: Vec<String>,
    },
    /// The download took longer than [`BillLimits::max_download_time`].
    #[error("downloading the bill took longer than {seconds} s (BillLimits::max_download_time)")]
    Deadline {
        /// The deadline, in seconds.
        seconds: u64,
    },
    /// Writing the downloaded bill failed.
    #[error("writing the downloaded bill failed: {0}")]
    Write(#[source] std::io::Error),
    /// The caller's row handler failed (see [`read`]); its error is the source.
    #[error("the bill row handler failed: {0}")]
    Consumer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server stopped sending.
    #[error("downloading the bill stalled: nothing received for {seconds} s")]
    Stalled {
        /// How long nothing came.
        seconds: u64,
    },
    /// The server answered another status (or an unusable redirect).
    #[error("downloading the bill failed: HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Status {
        /// The HTTP status.
        status: u16,
        /// What else is known.
        detail: String,
    },
    /// The bill passes one of its limits.
    #[error("the bill passes its limit of {limit} (BillLimits::{limit_name})")]
    TooLarge {
        /// The limit (bytes, or rows for `max_rows`).
        limit: u64,
        /// Which limit: `max_download_bytes`, `max_unpacked_bytes`, `max_rows` or `max_row_bytes`.
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

crate::layer_error!(
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

/// Limits for a bill (a hostile or broken server chooses what it sends): in bytes, rows, and
/// time. Build it from the default: `BillLimits { max_rows: 5_000_000, ..Default::default() }`.
#[derive(Debug, Clone, Copy)]
pub struct BillLimits {
    /// The most bytes downloaded (default 512 MiB).
    pub max_download_bytes: u64,
    /// The most time a download may take in all, redirects included (default 10 minutes).
    pub max_download_time: std::time::Duration,
    /// The most bytes the archive's CSV files may unpack to, all together (default 2 GiB):
    /// a small archive of many highly compressed entries cannot take more than this.
    pub max_unpacked_bytes: u64,
    /// The longest line (or quoted record) of a CSV file, in bytes (default 1 MiB).
    pub max_line_bytes: usize,
    /// The most rows held in memory: the detail rows of [`parse`], the summary rows of both
    /// [`parse`] and [`read`] (default 1,000,000; [`read`] streams detail rows, unlimited).
    pub max_rows: u64,
    /// The most memory those rows may take, in bytes, as estimated from their text (default
    /// 512 MiB): rows of an archive built to blow up cannot take more.
    pub max_row_bytes: u64,
}

impl Default for BillLimits {
    fn default() -> Self {
        BillLimits {
            max_download_bytes: 512 << 20,
            max_download_time: std::time::Duration::from_secs(600),
            max_unpacked_bytes: 2 << 30,
            max_line_bytes: 1 << 20,
            max_rows: 1_000_000,
            max_row_bytes: 512 << 20,
        }
    }
}

impl BillError {
    /// The error a row handler of [`read`] returns to stop reading.
    pub fn consumer(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BillError {
        BillErrorKind::Consumer(error.into()).into()
    }
}

/// A bill's amount cell: trimmed, empty for zero, an optional `+` or `-`; the value is the
/// crate's one amount type. Bills are looser than the API (`+1`, blank cells) but no less
/// exact.
pub(crate) fn parse_amount(text: &str) -> Option<Amount> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Amount::ZERO);
    }
    let unsigned = text.strip_prefix('+').filter(|rest| !rest.starts_with('-')).unwrap_or(text);
    unsigned.parse().ok()
}

/// The values of a row that no typed field takes, by their header: the columns Alipay added
/// after this SDK was written, the ones it does not type (门店名称, 操作员, …), and values beyond
/// the header row (under an empty name). Compared, printed and serialized as its
/// `(header, value)` pairs in file order.
///
/// ```
/// # fn show(row: &alipay_core::bill::TradeBillRow) {
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
    row: read::Row,
}

#[derive(Debug)]
pub(super) struct ExtraColumns {
    pub(super) header: Vec<String>,
    pub(super) typed: Vec<bool>,
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
    pub total_amount: Amount,
    /// 商家实收（元）.
    pub received_amount: Amount,
    /// 退款批次号/请求号.
    pub refund_request_no: String,
    /// 服务费（元）.
    pub service_fee: Amount,
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
    pub income: Amount,
    /// 支出金额（-元）: negative.
    pub outgo: Amount,
    /// 账户余额（元）.
    pub balance: Amount,
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
    pub total_amount: Amount,
    /// 商家实收（元）.
    pub received_amount: Amount,
    /// 服务费（元）.
    pub service_fee: Amount,
    /// 实收净额（元）.
    pub net_amount: Amount,
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
    pub income: Amount,
    /// 支出金额（-元）.
    pub outgo: Amount,
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

/// One total of a bill's `#` footer: how many rows, and their amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct BillTotal {
    /// How many (笔).
    pub count: u64,
    /// Their amount (元), as the footer states it (refunds and outgo negative).
    pub amount: Amount,
}

/// The totals a detail file's footer states, to check the rows against:
/// `#交易合计：N笔，商家实收共X元，…`, `#退款合计：N笔，商家实收退款共-X元，…` (trade bill),
/// `#收入合计：N笔，共X元`, `#支出合计：N笔，共-X元` (account bill). `None` where the file has no
/// such line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub struct BillTotals {
    /// 交易合计: payments and what the merchant received.
    pub trades: Option<BillTotal>,
    /// 退款合计: refunds and what the merchant gave back.
    pub refunds: Option<BillTotal>,
    /// 收入合计: money in.
    pub income: Option<BillTotal>,
    /// 支出合计: money out.
    pub outgo: Option<BillTotal>,
}

impl BillTotals {
    /// The totals stated by `notes` (the `#` lines of a detail file); a line that does not
    /// read as a total is left alone.
    pub fn from_notes(notes: &[String]) -> BillTotals {
        let mut totals = BillTotals::default();
        for note in notes {
            let line = note.trim_start_matches('#').trim();
            let Some((label, rest)) = line.split_once(['：', ':']) else { continue };
            let slot = match label.trim() {
                "交易合计" => &mut totals.trades,
                "退款合计" => &mut totals.refunds,
                "收入合计" => &mut totals.income,
                "支出合计" => &mut totals.outgo,
                _ => continue,
            };
            *slot = footer_total(rest);
        }
        totals
    }
}

/// `N笔，…共X元…` → the count and the first amount after `共`.
fn footer_total(text: &str) -> Option<BillTotal> {
    let (count, rest) = text.split_once('笔')?;
    let count = count.trim().parse().ok()?;
    let (_, after) = rest.split_once('共')?;
    let (amount, _) = after.split_once('元')?;
    Some(BillTotal { count, amount: parse_amount(amount)? })
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
    /// The totals its footer states ([`BillTotals::from_notes`]).
    pub totals: BillTotals,
    /// The files of the archive.
    pub files: Vec<String>,
}

/// Reads a bill zip of `bill_type` into memory: every detail row is kept, at most
/// [`BillLimits::max_rows`] rows and [`BillLimits::max_row_bytes`] bytes of them (a month's bill
/// of millions of rows: [`read`] hands each on instead, in constant memory).
pub fn parse(zip: &[u8], bill_type: BillType, limits: BillLimits) -> Result<Bill, BillError> {
    let mut trade = Vec::new();
    let mut account = Vec::new();
    let mut budget = read::Budget::new(limits);
    let overview = read(std::io::Cursor::new(zip), bill_type, limits, |row| {
        budget.take(row.approx_bytes())?;
        match row {
            BillRow::Trade(row) => trade.push(row),
            BillRow::Account(row) => account.push(row),
        }
        Ok(())
    })?;
    let details = match bill_type {
        BillType::Trade => BillDetails::Trade(trade),
        BillType::SignCustomer => BillDetails::Account(account),
    };
    Ok(Bill {
        bill_type,
        details,
        summary: overview.summary,
        totals: overview.totals,
        notes: overview.notes,
        files: overview.files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_signed() {
        assert_eq!(parse_amount("-8.88").unwrap().cents(), -888);
        assert_eq!(parse_amount("88.8").unwrap().cents(), 8880);
        assert_eq!(parse_amount("+1").unwrap().cents(), 100);
        assert_eq!(parse_amount("\t0.01 ").unwrap().to_string(), "0.01");
        assert_eq!(parse_amount("").unwrap().cents(), 0);
        for bad in ["1.234", "1e3", "--1", "+-1", "1,000.00", ".5", "abc"] {
            assert!(parse_amount(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_amount("-0.05").unwrap().to_string(), "-0.05");
    }
}
