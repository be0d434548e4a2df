//! The bills the sandbox serves: zip archives of GBK CSV files made from its own ledger, laid
//! out as Alipay's (`#` lines around the table, values padded with a tab so spreadsheets keep
//! them as text, a detail file and a summary file).

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

/// One CSV line, every value quoted (quotes doubled), a tab before numbers-as-text.
fn line(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{}\"", v.replace('"', "\"\""))).collect();
    quoted.join(",") + "\r\n"
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
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
    let exported = time(now);
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
            "#支付宝业务明细查询\r\n#账号：[{partner}0156]\r\n#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\r\n\
             #-----------------------------------------业务明细列表----------------------------------------\r\n"
        );
        text += &line(&header.map(str::to_string));
        for m in &rows {
            let kind = if m.cents < 0 { "退款" } else { "交易" };
            let mut values = vec![
                format!("{}\t", m.trade_no),
                format!("{}\t", m.out_trade_no),
                kind.into(),
                m.subject.clone(),
                time(m.created),
                time(m.at),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                BUYER_LOGON_ID.into(),
                yuan(m.cents),
                yuan(m.cents),
            ];
            values.extend(["0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00"].map(str::to_string));
            values.push(m.refund_request_no.clone().map(|n| format!("{n}\t")).unwrap_or_default());
            values.extend(["0.00", "0.00", ""].map(str::to_string));
            text += &line(&values);
        }
        let total: i64 = rows.iter().map(|m| m.cents).sum();
        let payments = rows.iter().filter(|m| m.cents > 0).count();
        let refunds = rows.len() - payments;
        text += &format!(
            "#-----------------------------------------业务明细列表结束------------------------------------\r\n\
             #交易合计：{payments}笔，商家实收：{}元，商家优惠：0.00元\r\n#退款合计：{refunds}笔\r\n#导出时间：[{exported}]\r\n",
            yuan(total)
        );
        let mut summary = format!(
            "#支付宝业务汇总查询\r\n#账号：[{partner}0156]\r\n#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\r\n"
        );
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
        summary += &format!("#导出时间：[{exported}]\r\n");
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
                cents: -(t.cents as i64),
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
            "#支付宝账务明细查询\r\n#账号：[{partner}0156]\r\n#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\r\n\
             #-----------------------------------------账务明细列表----------------------------------------\r\n"
        );
        text += &line(&header.map(str::to_string));
        // The payout balance started at START_BALANCE_CENTS and also takes the trades' money.
        let mut balance = START_BALANCE_CENTS;
        let (mut income, mut outgo, mut count) = (0i64, 0i64, 0usize);
        for (n, entry) in entries.iter().enumerate() {
            balance += entry.cents;
            if !on_day(entry.at) {
                continue;
            }
            count += 1;
            let (plus, minus) = if entry.cents >= 0 { (entry.cents, 0) } else { (0, entry.cents) };
            income += plus;
            outgo += minus;
            let values = [
                format!("{}{:08}\t", entry.at.format("%Y%m%d"), n + 1),
                format!("{}\t", entry.biz_no),
                format!("{}\t", entry.out_no),
                entry.subject.clone(),
                time(entry.at),
                entry.counterparty.clone(),
                if plus > 0 { format!("+{}", yuan(plus)) } else { "0.00".into() },
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
             #支出合计：{}元\r\n#收入合计：{}元\r\n#导出时间：[{exported}]\r\n",
            yuan(outgo),
            yuan(income)
        );
        let mut summary = format!("#支付宝账务汇总查询\r\n#账号：[{partner}0156]\r\n");
        summary += &line(&["业务类型", "笔数", "收入金额（+元）", "支出金额（-元）"].map(str::to_string));
        summary += &line(&["合计".to_string(), count.to_string(), yuan(income), yuan(outgo)]);
        summary += &format!("#导出时间：[{exported}]\r\n");
        (
            format!("{partner}0156_{date}_账务明细.csv"),
            format!("{partner}0156_{date}_账务明细(汇总).csv"),
            text,
            summary,
        )
    };
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in [(detail_name, detail), (summary_name, summary)] {
            writer.start_file(name, options).expect("a zip entry in memory");
            writer.write_all(&gbk(&text)).expect("writing to memory");
        }
        writer.finish().expect("finishing a zip in memory");
    }
    buffer.into_inner()
}
