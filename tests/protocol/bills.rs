//! Bill parsing on archives built independently of the sandbox's writer: Python's `zipfile`
//! and `csv` modules, GBK text, laid out as Alipay's (notes around the table, tab-padded
//! values, a quoted comma, an unknown column) — with the expected values printed by Python.

use alipay_sdk::bill::{self, BillDetails, BillErrorKind, BillLimits, BillSummary};
use alipay_sdk::model::settle::BillType;

const PYTHON: &str = r##"
import csv, io, json, sys, zipfile

def table(notes_before, header, rows, notes_after):
    out = io.StringIO()
    for note in notes_before:
        out.write(note + "\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    for note in notes_after:
        out.write(note + "\r\n")
    return out.getvalue().encode("gbk")

trade_header = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称",
    "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）",
    "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）",
    "退款批次号/请求号", "服务费（元）", "分润（元）", "备注", "新增列"]
trade_rows = [
    ["2026113022001404\t", "order-1\t", "交易", "会员, 月卡", "2026-11-30 10:00:00", "2026-11-30 10:00:05", "S001", "西湖店",
     "", "", "buyer***@example.com", "88.88", "88.88", "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
     "", "-0.53", "0.00", "首单", "x1"],
    ["2026113022001404\t", "order-1\t", "退款", "会员, 月卡", "2026-11-30 10:00:00", "2026-11-30 12:30:00", "S001", "西湖店",
     "", "", "buyer***@example.com", "-8.88", "-8.88", "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
     "refund-1\t", "0.05", "0.00", "", "x2"],
]
summary_header = ["门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）", "实收净额（元）"]
summary_rows = [["S001", "西湖店", "1", "1", "80.00", "80.00", "79.52"], ["合计", "", "1", "1", "80.00", "80.00", "79.52"]]
account_header = ["账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）",
    "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注"]
account_rows = [
    ["202611300001\t", "2026113022001404\t", "order-1\t", "会员, 月卡", "2026-11-30 10:00:05", "buyer***@example.com",
     "+88.88", "0.00", "10088.88", "支付宝", "在线支付", ""],
    ["202611300002\t", "20261130110070000001\t", "payout-1\t", "佣金", "2026-11-30 15:00:00", "2088102177846880",
     "0.00", "-100.00", "9988.88", "支付宝", "转账", "十一月"],
]
notes = ["#支付宝业务明细查询", "#账号：[20880000000000010156]", "#-----------------------------------------业务明细列表----------------------------------------"]
after = ["#-----------------------------------------业务明细列表结束------------------------------------", "#交易合计：1笔，商家实收：88.88元", "#导出时间：[2026-12-01 09:00:00]"]

target = sys.argv[1]
with zipfile.ZipFile(target + "/trade.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("20880000000000010156_20261130_业务明细.csv", table(notes, trade_header, trade_rows, after))
    z.writestr("20880000000000010156_20261130_业务明细(汇总).csv", table(["#支付宝业务汇总查询"], summary_header, summary_rows, ["#导出时间：[2026-12-01 09:00:00]"]))
with zipfile.ZipFile(target + "/account.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("20880000000000010156_20261130_账务明细.csv", table(["#支付宝账务明细查询"], account_header, account_rows, ["#导出时间：[2026-12-01 09:00:00]"]))
    z.writestr("20880000000000010156_20261130_账务明细(汇总).csv", table([], ["业务类型", "笔数"], [["合计", "2"]], []))
with zipfile.ZipFile(target + "/no_detail.zip", "w") as z:
    z.writestr("readme.txt", "nothing")
with zipfile.ZipFile(target + "/bad_amount.zip", "w") as z:
    bad = [list(trade_rows[0])]
    bad[0][11] = "88.888"
    z.writestr("x_业务明细.csv", table([], trade_header, bad, []))
# Forty 64 KiB summary files (each well under a 1 MiB limit, 2.5 MiB together), and an archive
# whose only big entry is not a CSV file.
with zipfile.ZipFile(target + "/many_entries.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("x_业务明细.csv", table([], trade_header, trade_rows, []))
    for i in range(40):
        z.writestr("x_%d_业务明细(汇总).csv" % i, table(["#" + " " * 65536], summary_header, summary_rows, []))
# A row with one value more than the header, and one that stops before the last columns.
with zipfile.ZipFile(target + "/ragged.zip", "w") as z:
    z.writestr("x_业务明细.csv", table([], trade_header, [trade_rows[0] + ["多余"], trade_rows[1][:12]], []))
with zipfile.ZipFile(target + "/big_attachment.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("x_业务明细.csv", table([], trade_header, trade_rows, []))
    z.writestr("readme.pdf", b"\0" * (4 << 20))

expected = {
    "trade": [{"trade_no": r[0].strip(), "out_trade_no": r[1].strip(), "business_type": r[2], "subject": r[3],
               "total_cents": round(float(r[11]) * 100), "fee_cents": round(float(r[22]) * 100),
               "refund_request_no": r[21].strip(), "remark": r[24], "extra": r[25]} for r in trade_rows],
    "account": [{"id": r[0].strip(), "out_trade_no": r[2].strip(), "income_cents": round(float(r[6]) * 100),
                 "outgo_cents": round(float(r[7]) * 100), "balance_cents": round(float(r[8]) * 100)} for r in account_rows],
    "summary_net": summary_rows[-1][6],
}
print(json.dumps(expected, ensure_ascii=False))
"##;

#[test]
fn python_built_bills_parse_into_the_values_python_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("make_bills.py");
    std::fs::write(&script, PYTHON).unwrap();
    let output = std::process::Command::new("python3").arg(&script).arg(dir.path()).output().expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();

    let trade = bill::parse(&read("trade.zip"), BillType::Trade, BillLimits::default()).unwrap();
    let BillDetails::Trade(rows) = &trade.details else { panic!("trade rows") };
    assert_eq!(rows.len(), 2);
    for (row, want) in rows.iter().zip(expected["trade"].as_array().unwrap()) {
        assert_eq!(row.trade_no, want["trade_no"].as_str().unwrap(), "tab padding is removed");
        assert_eq!(row.out_trade_no, want["out_trade_no"].as_str().unwrap());
        assert_eq!(row.business_type, want["business_type"].as_str().unwrap());
        assert_eq!(row.subject, want["subject"].as_str().unwrap(), "a quoted comma stays in the value");
        assert_eq!(row.total_amount.cents(), want["total_cents"].as_i64().unwrap());
        assert_eq!(row.service_fee.cents(), want["fee_cents"].as_i64().unwrap());
        assert_eq!(row.refund_request_no, want["refund_request_no"].as_str().unwrap());
        assert_eq!(row.remark, want["remark"].as_str().unwrap());
        assert_eq!(row.extra.get("新增列"), want["extra"].as_str());
        assert_eq!(row.extra.get("门店名称"), Some("西湖店"));
        // The untyped columns, in file order, and nothing typed among them.
        let names: Vec<&str> = row.extra.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "门店名称",
                "操作员",
                "终端号",
                "支付宝红包（元）",
                "集分宝（元）",
                "支付宝优惠（元）",
                "商家优惠（元）",
                "券核销金额（元）",
                "券名称",
                "商家红包消费金额（元）",
                "卡消费金额（元）",
                "分润（元）",
                "新增列"
            ]
        );
        assert_eq!(row.extra.get("订单金额（元）"), None, "a typed column is not extra");
    }
    let BillSummary::Trade(summary) = &trade.summary else { panic!("trade summary") };
    assert_eq!(summary.len(), 2);
    assert_eq!((summary[1].store_id.as_str(), summary[1].trade_count, summary[1].refund_count), ("合计", 1, 1));
    assert_eq!(summary[1].net_amount.to_string(), expected["summary_net"].as_str().unwrap());
    assert_eq!(summary[0].store_name, "西湖店");
    assert!(trade.notes.iter().any(|n| n.contains("交易合计")), "{:?}", trade.notes);
    assert_eq!(trade.files.len(), 2);

    let account = bill::parse(&read("account.zip"), BillType::SignCustomer, BillLimits::default()).unwrap();
    let BillDetails::Account(rows) = &account.details else { panic!("account rows") };
    for (row, want) in rows.iter().zip(expected["account"].as_array().unwrap()) {
        assert_eq!(row.account_log_id, want["id"].as_str().unwrap());
        assert_eq!(row.out_trade_no, want["out_trade_no"].as_str().unwrap());
        assert_eq!(row.income.cents(), want["income_cents"].as_i64().unwrap());
        assert_eq!(row.outgo.cents(), want["outgo_cents"].as_i64().unwrap());
        assert_eq!(row.balance.cents(), want["balance_cents"].as_i64().unwrap());
    }
    assert_eq!(rows.len(), 2);
    let BillSummary::Account(summary) = &account.summary else { panic!("account summary") };
    assert_eq!((summary[0].business_type.as_str(), summary[0].count), ("合计", 2));

    // A trade bill is not an account bill.
    let error = bill::parse(&read("trade.zip"), BillType::SignCustomer, BillLimits::default()).unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::MissingFile { .. }), "{error}");
    assert!(error.to_string().contains("业务明细"), "names the files found: {error}");
    let error = bill::parse(&read("no_detail.zip"), BillType::Trade, BillLimits::default()).unwrap_err();
    assert!(error.to_string().contains("readme.txt"), "{error}");
    let error = bill::parse(&read("bad_amount.zip"), BillType::Trade, BillLimits::default()).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error.kind(), BillErrorKind::Malformed { line: 2, .. }), "{message}");
    assert!(message.contains("x_业务明细.csv") && message.contains("88.888"), "{message}");
    let error = bill::parse(b"<Error>not a zip</Error>", BillType::Trade, BillLimits::default()).unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::NotZip { .. }), "{error}");
    // A file unpacking beyond the limit is refused, not read whole.
    let tiny = BillLimits { max_unpacked_bytes: 100, ..BillLimits::default() };
    let error = bill::parse(&read("trade.zip"), BillType::Trade, tiny).unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::TooLarge { limit: 100, .. }), "{error}");
    assert!(error.to_string().contains("max_unpacked_bytes"), "names the limit: {error}");
    // The limit is for the archive as a whole: many entries cannot multiply it.
    let one_mib = BillLimits { max_unpacked_bytes: 1 << 20, ..BillLimits::default() };
    let error = bill::parse(&read("many_entries.zip"), BillType::Trade, one_mib).unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::TooLarge { limit: 1048576, .. }), "{error}");
    assert!(bill::parse(&read("many_entries.zip"), BillType::Trade, BillLimits::default()).is_ok());
    // Files other than CSV are listed, not unpacked: a 4 MiB attachment passes a 1 MiB limit.
    let bill = bill::parse(&read("big_attachment.zip"), BillType::Trade, one_mib).unwrap();
    assert_eq!(bill.files, ["x_业务明细.csv", "readme.pdf"]);
    assert_eq!(bill.details.len(), 2);
    // Nothing a row holds is lost: a value beyond the header is kept under an empty name; a
    // short row has no value for the columns it lacks.
    let ragged = bill::parse(&read("ragged.zip"), BillType::Trade, BillLimits::default()).unwrap();
    let BillDetails::Trade(rows) = &ragged.details else { panic!("trade rows") };
    assert_eq!(rows[0].extra.iter().last(), Some(("", "多余")), "{:?}", rows[0].extra);
    assert_eq!(rows[0].extra.get("新增列"), Some("x1"));
    assert_eq!((rows[1].total_amount.cents(), rows[1].service_fee.cents(), rows[1].remark.as_str()), (-888, 0, ""));
    assert_eq!(rows[1].extra.get("新增列"), None, "{:?}", rows[1].extra);
    let names: Vec<&str> = rows[1].extra.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["门店名称", "操作员", "终端号"], "the untyped columns the short row reaches");
    // "No limit" is a limit like any other (no overflow, nothing read short).
    let unlimited = BillLimits { max_download_bytes: u64::MAX, max_unpacked_bytes: u64::MAX, ..BillLimits::default() };
    assert_eq!(bill::parse(&read("trade.zip"), BillType::Trade, unlimited).unwrap(), trade);
}

/// Bills in the layout Alipay writes, byte for byte as Python builds them here: entry names in
/// GBK *without* the UTF-8 flag (written under an ASCII placeholder of the same length, then
/// patched in both zip headers), unquoted tab-padded values, `\n` in one file and `\r\n` in the
/// other, the period and export-time notes, and the footers — whose totals the parser reads and
/// the test checks against the rows. The account summary heads its type column `类型`.
const REAL_LAYOUT: &str = r##"
import io, sys, zipfile

def gbk_zip(path, files):
    placeholders = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, text) in enumerate(files):
            raw = name.encode("gbk")
            placeholder = (chr(ord("A") + i) * len(raw)).encode("ascii")
            placeholders[placeholder] = raw
            z.writestr(placeholder.decode("ascii"), text)
    data = open(path, "rb").read()
    for placeholder, raw in placeholders.items():
        assert data.count(placeholder) == 2
        data = data.replace(placeholder, raw)
    open(path, "wb").write(data)

def lines(rows, ending):
    return ending.join(rows).encode("gbk") + ending.encode("ascii")

pad = lambda v: v + "\t"
trade_header = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
def trade_row(no, order, kind, amount, refund_no, fee):
    values = [pad(no), pad(order), pad(kind), "咖啡", "2019-09-16 10:00:00", "2019-09-16 10:00:05", pad(""), pad(""),
              pad(""), pad(""), pad("buy***@example.com"), amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "",
              pad("0.00"), "0.00", pad(refund_no), fee, "0.00", ""]
    return ",".join(values)
payments = [("2019091622001401", "order-1", "88.88", "-0.53"), ("2019091622001402", "order-2", "11.12", "-0.07")]
refunds = [("2019091622001401", "order-1", "-8.88", "refund-1", "0.05")]
trade_rows = [trade_row(n, o, "交易", a, "", f) for n, o, a, f in payments]
trade_rows += [trade_row(n, o, "退款", a, r, f) for n, o, a, r, f in refunds]
received = sum(float(p[2]) for p in payments)
refunded = sum(float(r[2]) for r in refunds)
trade_detail = [
    "#支付宝交易记录明细查询", "#账号：[20880000000000010156]",
    "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
    "#-----------------------------------------业务明细列表----------------------------------------",
    trade_header] + trade_rows + [
    "#-----------------------------------------业务明细列表结束------------------------------------",
    "#交易合计：%d笔，商家实收共%.2f元，商家优惠共0.00元" % (len(payments), received),
    "#退款合计：%d笔，商家实收退款共%.2f元，商家优惠退款共0.00元" % (len(refunds), refunded),
    "#导出时间：[2019年09月17日 09:00:00]"]
trade_summary = ["#支付宝业务汇总查询", "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）",
    "合计,,2,1,91.12,91.12,0.00,0.00,0.00,-0.55,0.00,90.57", "#导出时间：[2019年09月17日 09:00:00]"]
gbk_zip(sys.argv[1] + "/trade.zip", [
    ("20880000000000010156_20190916_业务明细.csv", lines(trade_detail, "\r\n")),
    ("20880000000000010156_20190916_业务明细(汇总).csv", lines(trade_summary, "\n"))])

account_header = "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注"
account_rows = [
    ",".join([pad("20190916001"), pad("2019091622001401"), pad("order-1"), "咖啡", "2019-09-16 10:00:05", pad("buy***@example.com"), "88.88", "0.00", "1088.88", "支付宝", "在线支付", ""]),
    ",".join([pad("20190916002"), pad("20190916110070000001"), pad("payout-1"), "佣金", "2019-09-16 15:00:00", pad("2088102177846880"), "0.00", "-100.00", "988.88", "支付宝", "转账", ""]),
]
account_detail = ["#支付宝账务明细查询", "#账号：[20880000000000010156]",
    "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
    "#-----------------------------------------账务明细列表----------------------------------------",
    account_header] + account_rows + [
    "#-----------------------------------------账务明细列表结束------------------------------------",
    "#支出合计：1笔，共-100.00元", "#收入合计：1笔，共88.88元", "#导出时间：[2019年09月17日 09:00:00]"]
account_summary = ["类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）,总金额（元）",
    "在线支付,1,88.88,0,0.00,88.88", "转账,0,0.00,1,-100.00,-100.00", "合计,1,88.88,1,-100.00,-11.12"]
gbk_zip(sys.argv[1] + "/account.zip", [
    ("20880000000000010156_20190916_账务明细.csv", lines(account_detail, "\n")),
    ("20880000000000010156_20190916_账务明细(汇总).csv", lines(account_summary, "\r\n"))])
"##;

#[test]
fn bills_in_alipays_real_layout_parse_and_their_footers_match_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("real_layout.py");
    std::fs::write(&script, REAL_LAYOUT).unwrap();
    let output = std::process::Command::new("python3").arg(&script).arg(dir.path()).output().expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let zip = read("trade.zip");
    // The names are GBK bytes, the UTF-8 flag (bit 11) unset, as Alipay writes them.
    let name = "20880000000000010156_20190916_业务明细.csv";
    let (gbk, _, _) = encoding_rs::GBK.encode(name);
    assert!(zip.windows(gbk.len()).any(|w| w == &*gbk));
    assert!(!zip.windows(name.len()).any(|w| w == name.as_bytes()), "not UTF-8");
    assert_eq!(u16::from_le_bytes([zip[6], zip[7]]) & 0x800, 0, "no UTF-8 flag");

    let trade = bill::parse(&zip, BillType::Trade, BillLimits::default()).unwrap();
    assert!(trade.files.iter().any(|f| f == name), "{:?}", trade.files);
    let BillDetails::Trade(rows) = &trade.details else { panic!("trade rows") };
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].trade_no.as_str(), rows[0].business_type.as_str()), ("2019091622001401", "交易"));
    assert_eq!(rows[2].refund_request_no, "refund-1", "tab padding removed");
    let (payments, refunds): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.business_type == "交易");
    let sum = |rows: &[&alipay_sdk::bill::TradeBillRow]| rows.iter().map(|r| r.received_amount.cents()).sum::<i64>();
    let trades = trade.totals.trades.expect("交易合计");
    assert_eq!((trades.count, trades.amount.cents()), (payments.len() as u64, sum(&payments)));
    let refunded = trade.totals.refunds.expect("退款合计");
    assert_eq!((refunded.count, refunded.amount.cents()), (refunds.len() as u64, sum(&refunds)));
    assert!(trade.notes.iter().any(|n| n.contains("2019年09月17日 00:00:00")), "the period's end: {:?}", trade.notes);
    let BillSummary::Trade(summary) = &trade.summary else { panic!("trade summary") };
    assert_eq!((summary[0].store_id.as_str(), summary[0].net_amount.cents()), ("合计", 9057));

    let account = bill::parse(&read("account.zip"), BillType::SignCustomer, BillLimits::default()).unwrap();
    let BillDetails::Account(rows) = &account.details else { panic!("account rows") };
    assert_eq!(rows.len(), 2);
    let income: i64 = rows.iter().map(|r| r.income.cents()).sum();
    let outgo: i64 = rows.iter().map(|r| r.outgo.cents()).sum();
    let stated_income = account.totals.income.expect("收入合计");
    let stated_outgo = account.totals.outgo.expect("支出合计");
    assert_eq!((stated_income.count, stated_income.amount.cents()), (1, income));
    assert_eq!((stated_outgo.count, stated_outgo.amount.cents()), (1, outgo));
    assert_eq!(account.totals.trades, None);
    let BillSummary::Account(summary) = &account.summary else { panic!("account summary") };
    let types: Vec<(&str, u64)> = summary.iter().map(|r| (r.business_type.as_str(), r.count)).collect();
    assert_eq!(types, [("在线支付", 1), ("转账", 1), ("合计", 2)], "类型 read as the type");
    assert_eq!(summary[2].extra.get("总金额（元）"), Some("-11.12"));
}
