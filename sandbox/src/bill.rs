//! The bills the sandbox serves: zip archives of GBK CSV files made from its own ledger, laid
//! out as Alipay's: entry names in GBK without the UTF-8 flag, `#` lines around the table (the
//! period `[2019年09月16日 00:00:00]` to the next day at 00:00:00, the footers with their totals,
//! the export time), values unquoted and the columns real files pad ending in a tab (even when
//! empty), a detail file and a summary file.

use std::io::Write;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::ledger::Movement;
use crate::services::{START_BALANCE_CENTS, Transfer};

const BUYER_LOGON_ID: &str = "sandbox***@alipay-sdk.test";

fn china(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
}

fn yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
}

fn time(at: DateTime<Utc>) -> String {
    china(at).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `[2019年09月16日 00:00:00]`, as bills write times in their notes.
fn note_time(at: DateTime<FixedOffset>) -> String {
    at.format("[%Y年%m月%d日 %H:%M:%S]").to_string()
}

/// The period notes of `day`: from its start to the next day's.
fn period(day: NaiveDate) -> String {
    let start = day.and_hms_opt(0, 0, 0).expect("midnight");
    let end = start + chrono::Duration::days(1);
    let offset = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let at = |naive: chrono::NaiveDateTime| naive.and_local_timezone(offset).single().expect("a fixed offset");
    format!("#起始日期：{}   终止日期：{}\r\n", note_time(at(start)), note_time(at(end)))
}

/// One CSV line as Alipay writes it: values unquoted (one holding a comma, a quote or a line
/// break is quoted, which Alipay's files never need).
fn line(values: &[String]) -> String {
    let field = |v: &String| {
        if v.contains([',', '"', '\r', '\n']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.clone() }
    };
    values.iter().map(field).collect::<Vec<_>>().join(",") + "\r\n"
}

/// A value padded with a tab, as real files pad identifiers so spreadsheets keep them as text.
fn pad(value: &str) -> String {
    format!("{value}\t")
}

/// The text in Java's GBK (what Alipay writes); a character GBK cannot hold becomes `?`, as
/// Java's encoder replaces it.
fn gbk(text: &str) -> Vec<u8> {
    use alipay_core::charset::Charset;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match Charset::Gbk.encode(c.encode_utf8(&mut [0; 4]), "bill") {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(_) => out.push(b'?'),
        }
    }
    out
}

/// The zip of a bill for `day` (China time): `trade` or `signcustomer`.
pub(crate) fn zip(
    bill_type: &str,
    day: NaiveDate,
    partner: &str,
    movements: &[Movement],
    transfers: &[Transfer],
    now: DateTime<Utc>,
) -> Vec<u8> {
    let on_day = |at: DateTime<Utc>| china(at).date_naive() == day;
    let date = day.format("%Y%m%d").to_string();
    let exported = note_time(china(now));
    let (detail_name, summary_name, detail, summary) = if bill_type == "trade" {
        let rows: Vec<&Movement> = movements.iter().filter(|m| on_day(m.at)).collect();
        let header = [
            "支付宝交易号",
            "商户订单号",
            "业务类型",
            "商品名称",
            "创建时间",
            "完成时间",
            "门店编号",
            "门店名称",
            "操作员",
            "终端号",
            "对方账户",
            "订单金额（元）",
            "商家实收（元）",
            "支付宝红包（元）",
            "集分宝（元）",
            "支付宝优惠（元）",
            "商家优惠（元）",
            "券核销金额（元）",
            "券名称",
            "商家红包消费金额（元）",
            "卡消费金额（元）",
            "退款批次号/请求号",
            "服务费（元）",
            "分润（元）",
            "备注",
        ];
        let mut text = format!(
            "#支付宝交易记录明细查询\r\n#账号：[{partner}0156]\r\n{}\
             #-----------------------------------------业务明细列表----------------------------------------\r\n",
            period(day)
        );
        text += &line(&header.map(str::to_string));
        for m in &rows {
            let kind = if m.cents < 0 { "退款" } else { "交易" };
            let mut values = vec![
                pad(&m.trade_no),
                pad(&m.out_trade_no),
                pad(kind),
                m.subject.clone(),
                time(m.created),
                time(m.at),
                pad(""),
                pad(""),
                pad(""),
                pad(""),
                pad(BUYER_LOGON_ID),
                yuan(m.cents),
                yuan(m.cents),
            ];
            values.extend(["0.00", "0.00", "0.00", "0.00", "0.00", ""].map(str::to_string));
            values.push(pad("0.00"));
            values.push("0.00".into());
            values.push(pad(m.refund_request_no.as_deref().unwrap_or("")));
            values.extend(["0.00", "0.00", ""].map(str::to_string));
            text += &line(&values);
        }
        let total: i64 = rows.iter().map(|m| m.cents).sum();
        let (paid, refunded): (Vec<&&Movement>, Vec<&&Movement>) = rows.iter().partition(|m| m.cents > 0);
        let payments = paid.len();
        let refunds = refunded.len();
        let sum = |rows: &[&&Movement]| rows.iter().map(|m| m.cents).sum::<i64>();
        text += &format!(
            "#-----------------------------------------业务明细列表结束------------------------------------\r\n\
             #交易合计：{payments}笔，商家实收共{}元，商家优惠共0.00元\r\n\
             #退款合计：{refunds}笔，商家实收退款共{}元，商家优惠退款共0.00元\r\n#导出时间：{exported}\r\n",
            yuan(sum(&paid)),
            yuan(sum(&refunded))
        );
        let mut summary = format!("#支付宝业务汇总查询\r\n#账号：[{partner}0156]\r\n{}", period(day));
        let summary_header = [
            "门店编号",
            "门店名称",
            "交易订单总笔数",
            "退款订单总笔数",
            "订单金额（元）",
            "商家实收（元）",
            "支付宝优惠（元）",
            "商家优惠（元）",
            "卡消费金额（元）",
            "服务费（元）",
            "分润（元）",
            "实收净额（元）",
        ];
        summary += &line(&summary_header.map(str::to_string));
        for store in ["", "合计"] {
            let values = [
                store.to_string(),
                String::new(),
                payments.to_string(),
                refunds.to_string(),
                yuan(total),
                yuan(total),
                "0.00".into(),
                "0.00".into(),
                "0.00".into(),
                "0.00".into(),
                "0.00".into(),
                yuan(total),
            ];
            summary += &line(&values);
        }
        summary += &format!("#导出时间：{exported}\r\n");
        (
            format!("{partner}0156_{date}_业务明细.csv"),
            format!("{partner}0156_{date}_业务明细(汇总).csv"),
            text,
            summary,
        )
    } else {
        // The account bill: every movement of the balance, in time order, with the balance.
        struct Entry {
            at: DateTime<Utc>,
            cents: i64,
            biz_no: String,
            out_no: String,
            subject: String,
            counterparty: String,
            kind: &'static str,
        }
        let mut entries: Vec<Entry> = movements
            .iter()
            .map(|m| Entry {
                at: m.at,
                cents: m.cents,
                biz_no: m.trade_no.clone(),
                out_no: m.out_trade_no.clone(),
                subject: m.subject.clone(),
                counterparty: BUYER_LOGON_ID.into(),
                kind: if m.cents < 0 { "交易退款" } else { "在线支付" },
            })
            .chain(transfers.iter().map(|t| Entry {
                at: t.at,
                cents: -t.cents,
                biz_no: t.order_id.clone(),
                out_no: t.out_biz_no.clone(),
                subject: t.title.clone(),
                counterparty: t.payee.clone(),
                kind: "转账",
            }))
            .collect();
        entries.sort_by_key(|e| e.at);
        let header = [
            "账务流水号",
            "业务流水号",
            "商户订单号",
            "商品名称",
            "发生时间",
            "对方账号",
            "收入金额（+元）",
            "支出金额（-元）",
            "账户余额（元）",
            "交易渠道",
            "业务类型",
            "备注",
        ];
        let mut text = format!(
            "#支付宝账务明细查询\r\n#账号：[{partner}0156]\r\n{}\
             #-----------------------------------------账务明细列表----------------------------------------\r\n",
            period(day)
        );
        text += &line(&header.map(str::to_string));
        // The payout balance started at START_BALANCE_CENTS and also takes the trades' money.
        let mut balance = START_BALANCE_CENTS;
        let (mut income, mut outgo) = (0i64, 0i64);
        let (mut incomes, mut outgoes) = (0usize, 0usize);
        // Per business type: income count and amount, outgo count and amount.
        let mut by_type: Vec<(&'static str, usize, i64, usize, i64)> = Vec::new();
        for (n, entry) in entries.iter().enumerate() {
            balance += entry.cents;
            if !on_day(entry.at) {
                continue;
            }
            let (plus, minus) = if entry.cents >= 0 { (entry.cents, 0) } else { (0, entry.cents) };
            income += plus;
            outgo += minus;
            let slot = match by_type.iter().position(|t| t.0 == entry.kind) {
                Some(at) => at,
                None => {
                    by_type.push((entry.kind, 0, 0, 0, 0));
                    by_type.len() - 1
                }
            };
            if entry.cents >= 0 {
                incomes += 1;
                by_type[slot].1 += 1;
                by_type[slot].2 += plus;
            } else {
                outgoes += 1;
                by_type[slot].3 += 1;
                by_type[slot].4 += minus;
            }
            let values = [
                pad(&format!("{}{:08}", entry.at.format("%Y%m%d"), n + 1)),
                pad(&entry.biz_no),
                pad(&entry.out_no),
                entry.subject.clone(),
                time(entry.at),
                pad(&entry.counterparty),
                yuan(plus),
                if minus < 0 { yuan(minus) } else { "0.00".into() },
                yuan(balance),
                "支付宝".into(),
                entry.kind.into(),
                String::new(),
            ];
            text += &line(&values);
        }
        text += &format!(
            "#-----------------------------------------账务明细列表结束------------------------------------\r\n\
             #支出合计：{outgoes}笔，共{}元\r\n#收入合计：{incomes}笔，共{}元\r\n#导出时间：{exported}\r\n",
            yuan(outgo),
            yuan(income)
        );
        let mut summary = format!("#支付宝账务汇总查询\r\n#账号：[{partner}0156]\r\n{}", period(day));
        summary += &line(
            &["类型", "收入笔数", "收入金额（+元）", "支出笔数", "支出金额（-元）", "总金额（元）"].map(str::to_string),
        );
        for (kind, ins, inc, outs, out) in &by_type {
            summary +=
                &line(&[kind.to_string(), ins.to_string(), yuan(*inc), outs.to_string(), yuan(*out), yuan(inc + out)]);
        }
        summary += &line(&[
            "合计".to_string(),
            incomes.to_string(),
            yuan(income),
            outgoes.to_string(),
            yuan(outgo),
            yuan(income + outgo),
        ]);
        summary += &format!("#导出时间：{exported}\r\n");
        (
            format!("{partner}0156_{date}_账务明细.csv"),
            format!("{partner}0156_{date}_账务明细(汇总).csv"),
            text,
            summary,
        )
    };
    // Alipay names the entries in GBK without the UTF-8 flag. The zip writer names them in
    // ASCII placeholders of the same length, patched into both headers afterwards (the name is
    // not covered by any checksum).
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut names = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (index, (name, text)) in [(detail_name, detail), (summary_name, summary)].into_iter().enumerate() {
            let raw = gbk(&name);
            let placeholder = "~".repeat(raw.len() - 1) + &char::from(b'A' + index as u8).to_string();
            writer.start_file(placeholder.as_str(), options).expect("a zip entry in memory");
            writer.write_all(&gbk(&text)).expect("writing to memory");
            names.push((placeholder.into_bytes(), raw));
        }
        writer.finish().expect("finishing a zip in memory");
    }
    let mut bytes = buffer.into_inner();
    for (placeholder, raw) in names {
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(placeholder.len()).position(|w| w == placeholder.as_slice()) {
            let start = at + found;
            bytes[start..start + raw.len()].copy_from_slice(&raw);
            at = start + raw.len();
        }
    }
    bytes
}
