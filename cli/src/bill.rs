//! `alipay bill download`: a day's bill, fetched, verified, unzipped and parsed.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use alipay_sdk::bill::{BillError, BillErrorKind, BillLimits, BillRow};
use alipay_sdk::config_file::ConfigFile;
use alipay_sdk::model::settle::{BillDownloadUrlQuery, BillType};
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum BillCommand {
    /// Fetch a day's bill (its URL from a verified call), check and parse its GBK CSV files
    /// row by row (constant memory, however many rows). Writes to DIR:
    /// alipay-bill-<type>-<date>.zip (the archive as received),
    /// alipay-bill-<type>-<date>.jsonl (one detail row per line) and
    /// alipay-bill-<type>-<date>.summary.json (summary rows, `#` notes, files, row count, net).
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
        /// Also print the rows as JSON lines on stdout, then the summary as a last JSON line.
        #[arg(long)]
        json: bool,
    },
}

fn valid_date(date: &str) -> bool {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        || chrono::NaiveDate::parse_from_str(&format!("{date}-01"), "%Y-%m-%d").is_ok_and(|_| date.len() == 7)
}

fn failure_of(error: &alipay_sdk::bill::BillError) -> Failure {
    match error.kind() {
        BillErrorKind::Query(inner)
            if matches!(inner.kind(), alipay_sdk::ErrorKind::Transport | alipay_sdk::ErrorKind::Status) =>
        {
            Failure::Network(error.to_string())
        }
        BillErrorKind::Query(inner) if inner.kind() == alipay_sdk::ErrorKind::Request => {
            Failure::Input(error.to_string())
        }
        BillErrorKind::Download(_) | BillErrorKind::Stalled { .. } | BillErrorKind::Deadline { .. } => {
            Failure::Network(error.to_string())
        }
        BillErrorKind::Write(_) | BillErrorKind::Consumer(_) => Failure::Input(error.to_string()),
        _ => Failure::Check(error.to_string()),
    }
}

pub(crate) fn run(command: BillCommand) -> Result<(), Failure> {
    let BillCommand::Download { date, bill_type, config, out, json } = command;
    if !valid_date(&date) {
        return Err(Failure::Input(format!("--date {date:?}: expected YYYY-MM-DD (a day) or YYYY-MM (a month)")));
    }
    let file = ConfigFile::load(&config)?;
    let client = crate::blocking_client(&file, file.builder()?.build()?).map_err(|e| Failure::Input(e.to_string()))?;
    let query = BillDownloadUrlQuery { bill_type, bill_date: date.clone() };
    std::fs::create_dir_all(&out).map_err(|e| Failure::Input(format!("{}: {e}", out.display())))?;
    let stem = format!("alipay-bill-{}-{date}", bill_type.as_str());
    let path = |suffix: &str| out.join(format!("{stem}{suffix}"));
    let create = |path: &std::path::Path| {
        std::fs::File::create(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
    };
    // A progress bar on a terminal; nothing on a pipe.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} bill {bytes}/{total_bytes} {bar:30} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    // The archive as received, under its name only once it is whole.
    let partial = path(".zip.part");
    let zip_path = path(".zip");
    let mut zip_file = std::io::BufWriter::new(create(&partial)?);
    let downloaded = client.download_bill_to(&query, BillLimits::default(), &mut zip_file, |done, total| {
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
    drop(zip_file);
    if let Err(error) = downloaded {
        let _ = std::fs::remove_file(&partial);
        return Err(failure_of(&error));
    }
    std::fs::rename(&partial, &zip_path).map_err(|e| Failure::Input(format!("{}: {e}", zip_path.display())))?;

    // Rows streamed from the file to JSON lines: one row in memory at a time.
    let rows_path = path(".jsonl");
    let mut rows_file = std::io::BufWriter::new(create(&rows_path)?);
    let mut stdout = std::io::stdout().lock();
    let mut net = 0i64;
    let archive = std::fs::File::open(&zip_path).map_err(|e| Failure::Input(format!("{}: {e}", zip_path.display())))?;
    let overview = alipay_sdk::bill::read(std::io::BufReader::new(archive), bill_type, BillLimits::default(), |row| {
        let cents = match &row {
            BillRow::Trade(row) => row.total_amount.cents(),
            BillRow::Account(row) => row
                .income
                .cents()
                .checked_add(row.outgo.cents())
                .ok_or_else(|| BillError::consumer("an amount overflows"))?,
        };
        net = net.checked_add(cents).ok_or_else(|| BillError::consumer("the net total overflows 64 bits of cents"))?;
        let mut line = serde_json::to_vec(&row).map_err(BillError::consumer)?;
        line.push(b'\n');
        rows_file.write_all(&line).map_err(BillError::consumer)?;
        if json {
            stdout.write_all(&line).map_err(BillError::consumer)?;
        }
        Ok(())
    })
    .map_err(|error| failure_of(&error))?;
    rows_file.flush().map_err(|e| Failure::Input(format!("{}: {e}", rows_path.display())))?;
    let net_text = alipay_sdk::model::Amount::from_cents(net).to_string();
    let summary = serde_json::json!({
        "bill_type": bill_type.as_str(),
        "date": date,
        "rows": overview.rows,
        "net": net_text,
        "summary": overview.summary,
        "notes": overview.notes,
        "files": overview.files,
        "zip": zip_path,
        "zip_bytes": downloaded.unwrap_or_default(),
        "rows_file": rows_path,
    });
    let summary_path = path(".summary.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Failure::Input(e.to_string()))?;
    std::fs::write(&summary_path, &text).map_err(|e| Failure::Input(format!("{}: {e}", summary_path.display())))?;
    if json {
        let _ = writeln!(stdout, "{summary}");
    } else {
        let _ = writeln!(
            stdout,
            "{} bill {date}: {} rows, net {net_text}; archive {}, rows {}, summary {}",
            bill_type.as_str(),
            overview.rows,
            zip_path.display(),
            rows_path.display(),
            summary_path.display()
        );
    }
    Ok(())
}
