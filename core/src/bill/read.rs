//! Reading a bill archive as a stream: each CSV entry is unpacked, decoded and split into
//! records line by line, and each detail row is handed to the caller as soon as it is read, so
//! memory stays the same whatever the number of rows. What is held: the archive's directory,
//! one line, one record, the summary rows (bounded by [`BillLimits::max_rows`]) and the `#`
//! notes (bounded).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::sync::Arc;

use super::{
    AccountBillRow, AccountSummaryRow, Amount, BillError, BillErrorKind, BillExtra, BillLimits, BillSummary,
    BillTotals, ExtraColumns, TradeBillRow, TradeSummaryRow, malformed,
};
use crate::model::settle::BillType;

/// The most `#` notes kept from one file (a real bill has about ten), each cut at
/// [`MAX_NOTE_BYTES`].
const MAX_NOTES: usize = 1000;
const MAX_NOTE_BYTES: usize = 4096;

/// One detail row of a bill, as [`read`] hands it on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum BillRow {
    /// A row of the trade bill (业务明细).
    Trade(TradeBillRow),
    /// A row of the account bill (账务明细).
    Account(AccountBillRow),
}

impl BillRow {
    /// What the row holds in memory, roughly (its own size and its text), for the limits of an
    /// in-memory bill.
    pub(super) fn approx_bytes(&self) -> u64 {
        let (own, strings, extra): (usize, usize, &BillExtra) = match self {
            BillRow::Trade(row) => (
                std::mem::size_of::<TradeBillRow>(),
                [
                    &row.trade_no,
                    &row.out_trade_no,
                    &row.business_type,
                    &row.subject,
                    &row.created_at,
                    &row.finished_at,
                    &row.store_id,
                    &row.counterparty,
                    &row.refund_request_no,
                    &row.remark,
                ]
                .iter()
                .map(|s| s.capacity())
                .sum(),
                &row.extra,
            ),
            BillRow::Account(row) => (
                std::mem::size_of::<AccountBillRow>(),
                [
                    &row.account_log_id,
                    &row.biz_no,
                    &row.out_trade_no,
                    &row.subject,
                    &row.occurred_at,
                    &row.counterparty,
                    &row.business_type,
                    &row.remark,
                ]
                .iter()
                .map(|s| s.capacity())
                .sum(),
                &row.extra,
            ),
        };
        (own + strings + extra.row.heap_bytes()) as u64
    }
}

/// What a bill holds besides its detail rows: what [`read`] returns once it handed on every row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BillOverview {
    /// Which bill.
    pub bill_type: BillType,
    /// The summary rows (the last one is usually the total, `合计`); empty when the archive
    /// has no summary file.
    pub summary: BillSummary,
    /// The `#` lines of the detail file (account, period, totals, export time), in order.
    pub notes: Vec<String>,
    /// The totals its footer states.
    pub totals: BillTotals,
    /// The files of the archive.
    pub files: Vec<String>,
    /// How many detail rows were handed on.
    pub rows: u64,
}

/// Reads a bill zip of `bill_type`, handing each detail row to `on_row` as soon as it is read
/// (an error from `on_row` stops the reading and is returned): a month's bill of millions of
/// rows runs in constant memory. Only `.csv` entries are unpacked, all of them together at
/// most [`BillLimits::max_unpacked_bytes`]; a line may be at most
/// [`BillLimits::max_line_bytes`] long.
///
/// ```no_run
/// # fn run(file: std::fs::File) -> Result<(), alipay_core::bill::BillError> {
/// use alipay_core::bill::{self, BillLimits, BillRow};
/// use alipay_core::model::settle::BillType;
///
/// let mut net = 0i64;
/// let overview = bill::read(file, BillType::Trade, BillLimits::default(), |row| {
///     if let BillRow::Trade(row) = row {
///         net = net.checked_add(row.total_amount.cents()).ok_or_else(|| bill::BillError::consumer("overflow"))?;
///     }
///     Ok(())
/// })?;
/// println!("{} rows, net {} cents", overview.rows, net);
/// # Ok(()) }
/// ```
pub fn read<R: Read + Seek>(
    archive: R,
    bill_type: BillType,
    limits: BillLimits,
    mut on_row: impl FnMut(BillRow) -> Result<(), BillError>,
) -> Result<BillOverview, BillError> {
    let not_zip =
        |e: zip::result::ZipError| BillErrorKind::NotZip { detail: crate::excerpt::capped(&e.to_string(), 512) };
    let mut archive = zip::ZipArchive::new(archive).map_err(not_zip)?;
    let (detail_marker, expected) = match bill_type {
        BillType::Trade => ("支付宝交易号", "trade detail (业务明细)"),
        BillType::SignCustomer => ("账务流水号", "account detail (账务明细)"),
    };
    let mut files = Vec::new();
    let mut summary = match bill_type {
        BillType::Trade => BillSummary::Trade(Vec::new()),
        BillType::SignCustomer => BillSummary::Account(Vec::new()),
    };
    let mut notes = Vec::new();
    let mut rows = 0u64;
    let mut details_found = false;
    // One budget for the whole archive, so many entries cannot multiply the limit.
    let mut unpack_budget = limits.max_unpacked_bytes;
    // Summary rows are held: they count against the same limits as an in-memory bill.
    let mut summary_budget = Budget::new(limits);
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(not_zip)?;
        if entry.is_dir() {
            continue;
        }
        // Alipay's archives name their files in GBK without the UTF-8 flag.
        let name = decode_name(entry.name_raw());
        files.push(name.clone());
        // Only the CSV files are read; anything else is listed, never unpacked.
        if !name.to_ascii_lowercase().ends_with(".csv") {
            continue;
        }
        let is_summary = name.contains("汇总");
        let mut lines = Lines::new(entry.take(unpack_budget.saturating_add(1)), &name, limits, unpack_budget);
        let mut records = Records::new(limits.max_line_bytes);
        let Some((_, header)) = records.next(&mut lines)? else {
            return Err(malformed(&name, 0, "no header row".into()));
        };
        let head = Head::new(&name, &header);
        if is_summary {
            while let Some((line, row)) = records.next(&mut lines)? {
                let mut fields = head.fields(line, &row);
                match &mut summary {
                    BillSummary::Trade(list) => {
                        let typed = head.finish(trade_summary_row(&mut fields)?, row, |r| &mut r.extra);
                        summary_budget.take(
                            std::mem::size_of::<TradeSummaryRow>() as u64 + typed.extra.row.heap_bytes() as u64,
                        )?;
                        list.push(typed);
                    }
                    BillSummary::Account(list) => {
                        let typed = head.finish(account_summary_row(&mut fields)?, row, |r| &mut r.extra);
                        summary_budget.take(
                            std::mem::size_of::<AccountSummaryRow>() as u64 + typed.extra.row.heap_bytes() as u64,
                        )?;
                        list.push(typed);
                    }
                }
            }
        } else if !details_found && head.header.iter().any(|h| h == detail_marker) {
            details_found = true;
            while let Some((line, row)) = records.next(&mut lines)? {
                let mut fields = head.fields(line, &row);
                let typed = match bill_type {
                    BillType::Trade => BillRow::Trade(head.finish(trade_row(&mut fields)?, row, |r| &mut r.extra)),
                    BillType::SignCustomer => {
                        BillRow::Account(head.finish(account_row(&mut fields)?, row, |r| &mut r.extra))
                    }
                };
                on_row(typed)?;
                rows += 1;
            }
            notes = std::mem::take(&mut lines.notes);
        } else {
            // Neither the detail nor the summary file: not read further.
            continue;
        }
        if lines.consumed > unpack_budget {
            return Err(
                BillErrorKind::TooLarge { limit: limits.max_unpacked_bytes, limit_name: "max_unpacked_bytes" }.into()
            );
        }
        unpack_budget -= lines.consumed;
    }
    if !details_found {
        return Err(BillErrorKind::MissingFile {
            expected,
            found: files.iter().take(20).map(|name| crate::excerpt::capped(name, 200)).collect(),
            total: files.len(),
        }
        .into());
    }
    let totals = BillTotals::from_notes(&notes);
    Ok(BillOverview { bill_type, summary, notes, totals, files, rows })
}

/// How many rows and bytes of rows may still be held in memory.
pub(super) struct Budget {
    limits: BillLimits,
    rows: u64,
    bytes: u64,
}

impl Budget {
    pub(super) fn new(limits: BillLimits) -> Budget {
        Budget { limits, rows: 0, bytes: 0 }
    }

    /// Takes one row of `bytes`, or says which limit it would pass.
    pub(super) fn take(&mut self, bytes: u64) -> Result<(), BillError> {
        self.rows += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.rows > self.limits.max_rows {
            return Err(BillErrorKind::TooLarge { limit: self.limits.max_rows, limit_name: "max_rows" }.into());
        }
        if self.bytes > self.limits.max_row_bytes {
            return Err(
                BillErrorKind::TooLarge { limit: self.limits.max_row_bytes, limit_name: "max_row_bytes" }.into()
            );
        }
        Ok(())
    }
}

fn decode_name(raw: &[u8]) -> String {
    let name = match std::str::from_utf8(raw) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(raw).0,
    };
    crate::excerpt::capped(&name, 1024)
}

/// The lines of one CSV entry, decoded (GBK, or UTF-8 after a byte-order mark), `#` lines set
/// aside as notes, each line at most `max_line` bytes.
struct Lines<R> {
    input: BufReader<R>,
    file: String,
    raw: Vec<u8>,
    text: String,
    /// Whether the file is UTF-8: decided on its first bytes.
    utf8: Option<bool>,
    line: u64,
    max_line: usize,
    notes: Vec<String>,
    /// Unpacked bytes read so far.
    consumed: u64,
    /// What is left of the archive's unpack budget for this entry, and the whole limit.
    budget: u64,
    unpack_limit: u64,
}

impl<R: Read> Lines<R> {
    fn new(input: R, file: &str, limits: BillLimits, budget: u64) -> Lines<R> {
        Lines {
            input: BufReader::with_capacity(64 * 1024, input),
            file: file.to_string(),
            raw: Vec::new(),
            text: String::new(),
            utf8: None,
            line: 0,
            max_line: limits.max_line_bytes,
            notes: Vec::new(),
            consumed: 0,
            budget,
            unpack_limit: limits.max_unpacked_bytes,
        }
    }

    /// Reads the next line that is not a note into `self.text` (without its line break) and
    /// gives its number; `None` at the end of the file.
    fn advance(&mut self) -> Result<Option<u64>, BillError> {
        loop {
            self.raw.clear();
            let limit = u64::try_from(self.max_line).unwrap_or(u64::MAX).saturating_add(1);
            let read = (&mut self.input).take(limit).read_until(b'\n', &mut self.raw);
            let n = read.map_err(|e| malformed(&self.file, self.line + 1, e.to_string()))?;
            if n == 0 {
                return Ok(None);
            }
            self.consumed += n as u64;
            if self.consumed > self.budget {
                // The archive's unpack budget is spent (the entry was cut just past it).
                return Err(
                    BillErrorKind::TooLarge { limit: self.unpack_limit, limit_name: "max_unpacked_bytes" }.into()
                );
            }
            self.line += 1;
            if self.raw.len() > self.max_line {
                let detail = format!("a line longer than {} bytes (BillLimits::max_line_bytes)", self.max_line);
                return Err(malformed(&self.file, self.line, detail));
            }
            while matches!(self.raw.last(), Some(b'\n' | b'\r')) {
                self.raw.pop();
            }
            let utf8 = *self.utf8.get_or_insert_with(|| self.raw.starts_with(&[0xef, 0xbb, 0xbf]));
            let bytes = if utf8 && self.line == 1 { &self.raw[3..] } else { &self.raw[..] };
            self.text.clear();
            if utf8 {
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| malformed(&self.file, self.line, "not UTF-8 text".into()))?;
                self.text.push_str(text);
            } else {
                // A line break cannot be part of a GBK / GB18030 character: splitting the
                // bytes at `\n` first is safe. Read as Java reads it (Alipay writes bills in Java).
                crate::charset::Charset::Gb18030
                    .decode_append(bytes, &mut self.text)
                    .map_err(|_| malformed(&self.file, self.line, "not GBK text".into()))?;
            }
            let trimmed = self.text.trim();
            if trimmed.starts_with('#') {
                if self.notes.len() >= MAX_NOTES {
                    return Err(malformed(&self.file, self.line, format!("more than {MAX_NOTES} '#' lines")));
                }
                self.notes.push(crate::excerpt::capped(trimmed, MAX_NOTE_BYTES));
                continue;
            }
            return Ok(Some(self.line));
        }
    }
}

/// CSV records over [`Lines`], parsed by `csv-core` (RFC 4180: quoted values may hold commas,
/// quotes and line breaks), one record buffer reused for the whole file.
struct Records {
    parser: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    max_bytes: usize,
}

impl Records {
    fn new(max_bytes: usize) -> Records {
        Records { parser: csv_core::Reader::new(), out: vec![0; 1024], ends: vec![0; 64], max_bytes }
    }

    /// The next record with a value in it, as a [`Row`] of cleaned values, with the line it
    /// starts on.
    fn next<R: Read>(&mut self, lines: &mut Lines<R>) -> Result<Option<(u64, Row)>, BillError> {
        loop {
            let Some(first_line) = lines.advance()? else {
                return Ok(None);
            };
            if lines.text.trim().is_empty() {
                continue;
            }
            // A record on one line is split here, as csv-core would split it, without a second
            // copy or re-validation. A record going on past its line (a quoted value holding a
            // line break), or a line with a carriage return (csv-core ends a record there), goes
            // through csv-core.
            let fast = match memchr::memchr(b'\r', lines.text.as_bytes()) {
                None => split_line(&lines.text),
                Some(_) => None,
            };
            if let Some(row) = fast {
                if row.text.is_empty() {
                    continue;
                }
                return Ok(Some((first_line, row)));
            }
            let (mut out_len, mut ends_len) = (0, 0);
            let mut line = first_line;
            loop {
                // The line, then its line break: fed as they are, nothing copied.
                let mut record = false;
                for piece in [lines.text.as_bytes(), b"\n"] {
                    let mut consumed = 0;
                    record = loop {
                        let (result, nin, nout, nend) = self.parser.read_record(
                            &piece[consumed..],
                            &mut self.out[out_len..],
                            &mut self.ends[ends_len..],
                        );
                        consumed += nin;
                        out_len += nout;
                        ends_len += nend;
                        match result {
                            csv_core::ReadRecordResult::InputEmpty => break false,
                            csv_core::ReadRecordResult::OutputFull => self.grow_out(lines, line, out_len)?,
                            csv_core::ReadRecordResult::OutputEndsFull => {
                                let bigger = self.ends.len() * 2;
                                self.ends.resize(bigger, 0);
                            }
                            csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break true,
                        }
                    };
                    if record {
                        break;
                    }
                }
                if record {
                    break;
                }
                // Inside a quoted value: the record goes on on the next line; a value left
                // open at the end of the file ends there.
                match lines.advance()? {
                    Some(next) => line = next,
                    None => return self.finish_at_end(lines, first_line, out_len, ends_len),
                }
            }
            let row = Row::from_parts(&self.out[..out_len], &self.ends[..ends_len]);
            if row.text.is_empty() {
                continue;
            }
            return Ok(Some((first_line, row)));
        }
    }

    fn grow_out<R>(&mut self, lines: &Lines<R>, line: u64, used: usize) -> Result<(), BillError> {
        if used >= self.max_bytes {
            let detail = format!("a record longer than {} bytes (BillLimits::max_line_bytes)", self.max_bytes);
            return Err(malformed(&lines.file, line, detail));
        }
        let bigger = (self.out.len() * 2).min(self.max_bytes.saturating_add(1)).max(self.out.len() + 1);
        self.out.resize(bigger, 0);
        Ok(())
    }

    /// The end of the file inside a quoted value: the record ends there.
    fn finish_at_end<R>(
        &mut self,
        lines: &Lines<R>,
        first_line: u64,
        mut out_len: usize,
        mut ends_len: usize,
    ) -> Result<Option<(u64, Row)>, BillError> {
        loop {
            let (result, _, nout, nend) =
                self.parser.read_record(&[], &mut self.out[out_len..], &mut self.ends[ends_len..]);
            out_len += nout;
            ends_len += nend;
            match result {
                csv_core::ReadRecordResult::OutputFull => self.grow_out(lines, lines.line, out_len)?,
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let bigger = self.ends.len() * 2;
                    self.ends.resize(bigger, 0);
                }
                csv_core::ReadRecordResult::Record => break,
                _ => return Ok(None),
            }
        }
        let row = Row::from_parts(&self.out[..out_len], &self.ends[..ends_len]);
        let empty = row.text.is_empty();
        Ok((!empty).then_some((first_line, row)))
    }
}

/// A one-line record, split as csv-core splits it (RFC 4180: `""` inside
/// quotes is a quote; after the closing quote the value goes on unquoted up to the comma; a
/// quote inside an unquoted value is a character), each value cleaned. `None` when a quoted
/// value does not close on this line: the record goes on, and csv-core reads it.
fn split_line(line: &str) -> Option<Row> {
    let bytes = line.as_bytes();
    // Values are short: a plain loop finds the next comma sooner than a vectorised search
    // gets going.
    let comma_from = |at: usize| bytes[at..].iter().position(|&b| b == b',').map_or(bytes.len(), |i| at + i);
    let mut row = Row::for_line(line);
    let mut quoted = String::new();
    let mut at = 0;
    loop {
        let end = if bytes.get(at) == Some(&b'"') {
            quoted.clear();
            at += 1;
            loop {
                let quote = at + memchr::memchr(b'"', &bytes[at..])?;
                quoted.push_str(&line[at..quote]);
                if bytes.get(quote + 1) == Some(&b'"') {
                    quoted.push('"');
                    at = quote + 2;
                } else {
                    at = quote + 1;
                    break;
                }
            }
            let end = comma_from(at);
            quoted.push_str(&line[at..end]);
            row.text.push_str(clean(&quoted));
            end
        } else {
            let end = comma_from(at);
            row.text.push_str(clean(&line[at..end]));
            end
        };
        row.ends.push(row.text.len());
        if end == bytes.len() {
            return Some(row);
        }
        at = end + 1;
    }
}

/// A row's cleaned values in one buffer (two allocations a row, not one a value); a value
/// becomes a `String` only when a typed field takes it, the rest stay here as the row's
/// [`BillExtra`].
#[derive(Debug, Clone, Default)]
pub(super) struct Row {
    text: String,
    ends: Vec<usize>,
}

impl Row {
    /// From a record as `csv-core` wrote it: the values' bytes one after the other (valid
    /// UTF-8: they come from decoded text, split at ASCII separators) and where each ends.
    fn from_parts(bytes: &[u8], ends: &[usize]) -> Row {
        let all = std::str::from_utf8(bytes).unwrap_or_default();
        let mut row = Row { text: String::with_capacity(bytes.len()), ends: Vec::with_capacity(ends.len()) };
        let mut start = 0;
        for &end in ends {
            row.text.push_str(clean(all.get(start..end).unwrap_or_default()));
            row.ends.push(row.text.len());
            start = end;
        }
        row
    }

    /// Room for the values of `line`, allocated once (its length bounds the text, its commas
    /// the values).
    fn for_line(line: &str) -> Row {
        let values = memchr::memchr_iter(b',', line.as_bytes()).count() + 1;
        Row { text: String::with_capacity(line.len()), ends: Vec::with_capacity(values) }
    }

    pub(super) fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.text[start..end])
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).filter_map(|index| self.get(index))
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

/// A value without the tabs and spaces bills pad it with (and a stray byte-order mark).
fn clean(value: &str) -> &str {
    // Most values need nothing: an ASCII first and last byte that is no space says so at once
    // (a byte-order mark and the non-ASCII spaces start and end with non-ASCII bytes).
    let clean_edge = |b: u8| b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0b;
    match value.as_bytes() {
        [] => value,
        [first, .., last] | [first @ last] if clean_edge(*first) && clean_edge(*last) => value,
        _ => value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'),
    }
}

/// A file's header: where each named column is, and which columns the typed fields take
/// (worked out on the first row: every row looks up the same headers in the same table).
struct Head {
    file: String,
    header: Vec<String>,
    columns: HashMap<String, usize>,
    /// The columns of the header names the typed rows ask for, found once: the names are
    /// string literals, so a name's address and length identify it and a row's lookups are a
    /// few pointer comparisons instead of a hash each.
    plan: std::cell::RefCell<Vec<(usize, usize, Option<usize>)>>,
    extra: std::cell::RefCell<Option<Arc<ExtraColumns>>>,
    taken: std::cell::RefCell<Vec<usize>>,
}

impl Head {
    fn new(file: &str, header: &Row) -> Head {
        let header: Vec<String> = header.iter().map(str::to_string).collect();
        let mut columns = HashMap::with_capacity(header.len());
        for (index, name) in header.iter().enumerate() {
            columns.entry(name.clone()).or_insert(index);
        }
        Head {
            file: file.to_string(),
            header,
            columns,
            plan: std::cell::RefCell::new(Vec::new()),
            extra: std::cell::RefCell::new(None),
            taken: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn fields<'a>(&'a self, line: u64, row: &'a Row) -> Fields<'a> {
        // Which columns are typed is worked out on the first row (see `finish`).
        let first = self.extra.borrow().is_none();
        if first {
            self.taken.borrow_mut().clear();
        }
        Fields { head: self, line, row, first, asked: 0 }
    }

    /// The column named `header`, if the file has one; `at` is the how-manieth lookup of
    /// the row this is (rows ask in the same order, so the plan's entry there is the one).
    fn column(&self, header: &'static str, at: usize) -> Option<usize> {
        let key = (header.as_ptr() as usize, header.len());
        let mut plan = self.plan.borrow_mut();
        if let Some(&(ptr, len, column)) = plan.get(at)
            && (ptr, len) == key
        {
            return column;
        }
        if let Some(&(_, _, column)) = plan.iter().find(|(ptr, len, _)| (*ptr, *len) == key) {
            return column;
        }
        let column = self.columns.get(header).copied();
        plan.push((key.0, key.1, column));
        column
    }

    /// The typed row with the row's other values moved (not copied) into its `extra`.
    fn finish<T>(&self, mut typed: T, row: Row, extra_of: fn(&mut T) -> &mut BillExtra) -> T {
        let columns = self
            .extra
            .borrow_mut()
            .get_or_insert_with(|| {
                let mut typed_columns = vec![false; self.header.len()];
                for index in self.taken.borrow().iter() {
                    if let Some(slot) = typed_columns.get_mut(*index) {
                        *slot = true;
                    }
                }
                Arc::new(ExtraColumns { header: self.header.clone(), typed: typed_columns })
            })
            .clone();
        *extra_of(&mut typed) = BillExtra { columns: Some(columns), row };
        typed
    }
}

struct Fields<'a> {
    head: &'a Head,
    line: u64,
    row: &'a Row,
    /// Whether this is the file's first row (the typed columns are being noted).
    first: bool,
    /// How many lookups this row made so far.
    asked: usize,
}

impl Fields<'_> {
    fn malformed(&self, detail: String) -> BillError {
        malformed(&self.head.file, self.line, detail)
    }

    /// The cleaned value of the column named `header` ("" when the file has no such column
    /// and it is not `required`, or the row stops short of it).
    fn value(&mut self, header: &'static str, required: bool) -> Result<&str, BillError> {
        let asked = self.asked;
        self.asked += 1;
        let Some(index) = self.head.column(header, asked) else {
            return if required { Err(self.malformed(format!("no column {header:?}"))) } else { Ok("") };
        };
        if self.first {
            self.head.taken.borrow_mut().push(index);
        }
        let value = self.row.get(index).unwrap_or("");
        if required && value.is_empty() {
            return Err(self.malformed(format!("column {header:?} is empty")));
        }
        Ok(value)
    }

    fn text(&mut self, header: &'static str, required: bool) -> Result<String, BillError> {
        self.value(header, required).map(str::to_string)
    }

    fn amount(&mut self, header: &'static str, required: bool) -> Result<Amount, BillError> {
        let text = self.value(header, required)?;
        match super::parse_amount(text) {
            Some(amount) => Ok(amount),
            None => {
                let detail = format!("column {header:?}: {:?} is not an amount", crate::excerpt::capped(text, 200));
                Err(self.malformed(detail))
            }
        }
    }

    /// A count column (absent or empty: 0).
    fn count(&mut self, header: &'static str) -> Result<u64, BillError> {
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

fn trade_row(f: &mut Fields<'_>) -> Result<TradeBillRow, BillError> {
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
}

fn trade_summary_row(f: &mut Fields<'_>) -> Result<TradeSummaryRow, BillError> {
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
}

fn account_summary_row(f: &mut Fields<'_>) -> Result<AccountSummaryRow, BillError> {
    let count = f.count("笔数")?.saturating_add(f.count("收入笔数")?).saturating_add(f.count("支出笔数")?);
    // Real account summaries head the column 类型; older layouts 业务类型.
    let mut business_type = f.text("业务类型", false)?;
    if business_type.is_empty() {
        business_type = f.text("类型", false)?;
    }
    Ok(AccountSummaryRow {
        business_type,
        count,
        income: f.amount("收入金额（+元）", false)?,
        outgo: f.amount("支出金额（-元）", false)?,
        extra: BillExtra::default(),
    })
}

fn account_row(f: &mut Fields<'_>) -> Result<AccountBillRow, BillError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The values csv-core reads from `line` (one record), cleaned; `None` when the record
    /// does not end with the line.
    fn via_csv_core(line: &str) -> Option<Vec<String>> {
        let mut parser = csv_core::Reader::new();
        let (mut out, mut ends) = (vec![0u8; 4096], vec![0usize; 256]);
        let input = format!("{line}\n");
        let (result, _, nout, nend) = parser.read_record(input.as_bytes(), &mut out, &mut ends);
        if result != csv_core::ReadRecordResult::Record {
            return None;
        }
        let row = Row::from_parts(&out[..nout], &ends[..nend]);
        Some(row.iter().map(str::to_string).collect())
    }

    #[test]
    fn quoted_lines_split_as_csv_core_splits_them() {
        for line in [r#""会员, 月卡",1"#, r#"a,"b""c",d"#, r#""ab"cd,e"#, r#"ab"c,"d""#, r#""",,"""""#, r#"" x ",	y	,"#]
        {
            let ours: Vec<String> = split_line(line).unwrap().iter().map(str::to_string).collect();
            assert_eq!(Some(ours), via_csv_core(line), "{line}");
        }
        assert!(split_line(r#"a,"open"#).is_none(), "a quoted value going on past the line");
    }

    proptest! {
        #[test]
        fn any_one_line_record_splits_as_csv_core_splits_it(
            parts in proptest::collection::vec(prop_oneof![
                Just("a"), Just(","), Just("\""), Just(" "), Just("\t"), Just("中"), Just("1.00")
            ], 0..24)
        ) {
            let line: String = parts.concat();
            // Blank lines are skipped before a record is read.
            prop_assume!(!line.trim().is_empty());
            match split_line(&line) {
                Some(row) => {
                    let ours: Vec<String> = row.iter().map(str::to_string).collect();
                    prop_assert_eq!(Some(ours), via_csv_core(&line), "{:?}", line);
                }
                None => prop_assert_eq!(via_csv_core(&line), None, "{:?}", line),
            }
        }
    }
}
