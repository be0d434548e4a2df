//! `alipay bill download`: a day's bill, fetched, verified, unzipped and parsed.

use std::io::IsTerminal;
use std::path::PathBuf;

use alipay_sdk::bill::{BillDetails, BillErrorKind};
use alipay_sdk::config_file::ConfigFile;
use alipay_sdk::model::settle::{BillDownloadUrlQuery, BillType};
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub enum BillCommand {
    /// Fetch a day's bill (the download URL from a verified call), unzip it, parse its GBK CSV
    /// files; write the zip and the parsed rows (JSON) to DIR.
    Download {
        /// The day, YYYY-MM-DD (or a month, YYYY-MM).
        #[arg(long)]
        date: String,
        /// trade (业务明细) or signcustomer (账务明细).
        #[arg(long = "type", default_value = "trade")]
        bill_type: BillType,
        /// The app's alipay.toml.
        #[arg(allow_hyphen_values = true, long)]
        config: PathBuf,
        /// Where to write the files.
        #[arg(allow_hyphen_values = true, long, default_value = ".")]
        out: PathBuf,
        /// Print the parsed bill as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn valid_date(date: &str) -> bool {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        || chrono::NaiveDate::parse_from_str(&format!("{date}-01"), "%Y-%m-%d").is_ok_and(|_| date.len() == 7)
}

pub fn run(command: BillCommand) -> Result<(), Failure> {
    let BillCommand::Download { date, bill_type, config, out, json } = command;
    if !valid_date(&date) {
        return Err(Failure::Input(format!("--date {date:?}: expected YYYY-MM-DD (a day) or YYYY-MM (a month)")));
    }
    let file = ConfigFile::load(&config)?;
    let client = crate::blocking_client(&file, file.builder()?.build()?).map_err(|e| Failure::Input(e.to_string()))?;
    let query = BillDownloadUrlQuery { bill_type, bill_date: date.clone() };
    // A progress bar on a terminal; nothing on a pipe.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} bill {bytes}/{total_bytes} {bar:30} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let result = client.download_bill(&query, |done, total| {
        if let Some(bar) = &bar {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let bill = match result {
        Ok(bill) => bill,
        Err(error) => {
            return Err(match error.kind() {
                BillErrorKind::Query(inner)
                    if matches!(inner.kind(), alipay_sdk::ErrorKind::Transport | alipay_sdk::ErrorKind::Status) =>
                {
                    Failure::Network(error.to_string())
                }
                BillErrorKind::Query(inner) if inner.kind() == alipay_sdk::ErrorKind::Request => {
                    Failure::Input(error.to_string())
                }
                BillErrorKind::Query(_) => Failure::Check(error.to_string()),
                BillErrorKind::Download(_) | BillErrorKind::Stalled { .. } => Failure::Network(error.to_string()),
                _ => Failure::Check(error.to_string()),
            });
        }
    };
    std::fs::create_dir_all(&out).map_err(|e| Failure::Input(format!("{}: {e}", out.display())))?;
    let stem = format!("alipay-bill-{}-{date}", bill_type.as_str());
    let rows_path = out.join(format!("{stem}.json"));
    let text = serde_json::to_string_pretty(&bill).map_err(|e| Failure::Input(e.to_string()))?;
    std::fs::write(&rows_path, &text).map_err(|e| Failure::Input(format!("{}: {e}", rows_path.display())))?;
    if json {
        println!("{text}");
    } else {
        let (rows, total): (usize, i64) = match &bill.details {
            BillDetails::Trade(rows) => (rows.len(), rows.iter().map(|r| r.total_amount.cents()).sum()),
            BillDetails::Account(rows) => (rows.len(), rows.iter().map(|r| r.income.cents() + r.outgo.cents()).sum()),
        };
        let sign = if total < 0 { "-" } else { "" };
        println!(
            "{} bill {date}: {rows} rows, net {sign}{}.{:02}; rows written to {}",
            bill_type.as_str(),
            total.unsigned_abs() / 100,
            total.unsigned_abs() % 100,
            rows_path.display()
        );
    }
    Ok(())
}
