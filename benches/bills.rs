//! Reading a daily trade bill of 20,000 rows (a zip of GBK CSV, as Alipay sends it) into typed
//! rows, beside a raw baseline over the same bytes in the same run: unzip with the `zip` crate,
//! decode GBK with `encoding_rs`, split every record with the `csv` crate — the work any reader
//! must do, without the typing (amounts, columns by header, line numbers for errors).
//!
//! Target: the streaming `bill::read`, each typed row dropped as the baseline drops its
//! records, takes at most 2× the raw baseline by the paired ratio it prints. `bill::parse`,
//! which holds every row (a `String` per text field, an exact amount per money column, the
//! untyped values in one buffer per row), is printed beside it: what holding costs (memory the
//! baseline never asks for). Run: `cargo bench --bench bills --features bill`.

#[path = "support/paired.rs"]
mod paired;

use std::hint::black_box;
use std::io::{Read, Write};

use alipay_sdk::bill::{self, BillLimits};
use alipay_sdk::model::settle::BillType;
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: usize = 20_000;

/// A trade bill as Alipay lays it out: `#` notes around a quoted table, tab-padded numbers.
fn trade_bill_zip() -> Vec<u8> {
    let mut text = String::from("#支付宝业务明细查询\r\n#账号：[20880000000000010156]\r\n");
    text.push_str(
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,\
         订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,\
         券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n",
    );
    for i in 0..ROWS {
        let (kind, amount) = if i % 10 == 9 { ("退款", "-8.88") } else { ("交易", "88.88") };
        text.push_str(&format!(
            "2026113022{i:010}\t,order-{i}\t,{kind},\"会员, 月卡\",2026-11-30 10:00:00,2026-11-30 10:00:05,S001,西湖店,,,\
             buyer***@example.com,{amount},{amount},0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.53,0.00,首单\r\n"
        ));
    }
    text.push_str("#交易合计：20000笔\r\n#导出时间：[2026-12-01 09:00:00]\r\n");
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("20880000000000010156_20261130_业务明细.csv", options).unwrap();
    writer.write_all(&encoding_rs::GBK.encode(&text).0).unwrap();
    writer.finish().unwrap();
    buffer.into_inner()
}

/// Unzip, GBK-decode and split every record: the fields counted, nothing kept.
fn raw_unzip_decode_split(zip_bytes: &[u8]) -> usize {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut raw = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut raw).unwrap();
    let text = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(&raw).unwrap();
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).comment(Some(b'#')).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut fields = 0;
    while reader.read_record(&mut record).unwrap() {
        fields += record.len();
    }
    fields
}

/// The streaming reader, each typed row dropped once handed on (as the baseline keeps nothing).
fn read_and_drop(zip_bytes: &[u8]) -> u64 {
    let overview = bill::read(std::io::Cursor::new(zip_bytes), BillType::Trade, BillLimits::default(), |row| {
        black_box(row);
        Ok(())
    })
    .unwrap();
    overview.rows
}

fn bills(c: &mut Criterion) {
    let zip_bytes = trade_bill_zip();
    let parsed = bill::parse(&zip_bytes, BillType::Trade, BillLimits::default()).unwrap();
    assert_eq!(parsed.details.len(), ROWS);
    assert_eq!(raw_unzip_decode_split(&zip_bytes), (ROWS + 1) * 25);

    let mut group = c.benchmark_group("trade_bill_20k_rows");
    group.sample_size(20);
    group.bench_function("raw_unzip_gbk_csv", |b| b.iter(|| raw_unzip_decode_split(black_box(&zip_bytes))));
    group.bench_function("bill_read", |b| b.iter(|| read_and_drop(black_box(&zip_bytes))));
    group.bench_function("bill_parse", |b| {
        b.iter(|| bill::parse(black_box(&zip_bytes), BillType::Trade, BillLimits::default()).unwrap())
    });
    group.finish();
    let ratio = paired::paired_ratio(
        3,
        || raw_unzip_decode_split(black_box(&zip_bytes)),
        || read_and_drop(black_box(&zip_bytes)),
    );
    eprintln!("trade_bill_20k_rows: bill_read / raw, paired median over 41 rounds: {ratio:.3} (target <= 2)");
    let ratio = paired::paired_ratio(
        3,
        || raw_unzip_decode_split(black_box(&zip_bytes)),
        || bill::parse(black_box(&zip_bytes), BillType::Trade, BillLimits::default()).unwrap(),
    );
    eprintln!("trade_bill_20k_rows: bill_parse / raw, paired median over 41 rounds: {ratio:.3} (holds every row)");
}

criterion_group!(benches, bills);
criterion_main!(benches);
