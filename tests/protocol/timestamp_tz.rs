//! The `timestamp` parameter is UTC+8 whatever the host's time zone.
//!
//! `TZ` is read by the process, so each setting runs this test binary again as a child with
//! `TZ` set; the child signs a real request and prints what it sent.

use std::process::Command;

use alipay_sdk::Request;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

const CHILD: &str = "ALIPAY_SDK_TIMESTAMP_CHILD";

#[test]
#[ignore = "helper: run by timestamp_is_utc8_under_three_time_zones in a child process"]
fn print_timestamp_in_child() {
    assert!(std::env::var(CHILD).is_ok(), "run only as a child of timestamp_is_utc8_under_three_time_zones");
    let config = crate::common::wire::cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let before = Utc::now();
    let signed = config.sign_request(&Request::new("alipay.trade.query").biz_json("{}")).unwrap();
    let timestamp = signed.query.iter().find(|(k, _)| k == "timestamp").unwrap().1.clone();
    println!("RESULT|{}|{}|{}", before.to_rfc3339(), timestamp, chrono::Local::now().offset());
}

#[test]
fn timestamp_is_utc8_under_three_time_zones() {
    for (tz, local_offset) in [("UTC0", "+00:00"), ("PST8", "-08:00"), ("NZT-13", "+13:00")] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "timestamp_tz::print_timestamp_in_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("TZ", tz)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().find_map(|l| l.split_once("RESULT|")).unwrap_or_else(|| panic!("{tz}: {stdout}")).1;
        let parts: Vec<&str> = std::iter::once("").chain(line.split('|')).collect();
        let before: DateTime<Utc> = DateTime::parse_from_rfc3339(parts[1]).unwrap().with_timezone(&Utc);
        let sent = NaiveDateTime::parse_from_str(parts[2], "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(parts[3], local_offset, "TZ={tz} took effect in the child");
        let expected = (before + Duration::hours(8)).naive_utc();
        let drift = (sent - expected).num_seconds();
        assert!((-1..=2).contains(&drift), "TZ={tz}: sent {sent}, expected about {expected}");
    }
}
