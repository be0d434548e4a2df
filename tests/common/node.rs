//! The official Alipay Node.js SDK (npm `alipay-sdk`), installed by the test on first use into
//! the target directory, as an independent implementation to check against.

use std::path::PathBuf;
use std::process::Command;

/// The pinned version, so results do not change under us.
pub(crate) const VERSION: &str = "4.14.0";

/// Installs the SDK (once per process: the interop tests run in parallel, and concurrent
/// `npm install`s into one folder undo each other) and returns the folder holding `node_modules`.
pub(crate) fn install() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(install_now).clone()
}

fn install_now() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("node-alipay-sdk-{VERSION}"));
    let marker = dir.join("node_modules/alipay-sdk/package.json");
    if !marker.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new("npm")
            .args(["install", &format!("alipay-sdk@{VERSION}"), "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&dir)
            .output()
            .expect("npm must be installed: the Node SDK interop tests need it");
        assert!(
            output.status.success() && marker.exists(),
            "npm install alipay-sdk@{VERSION} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir
}

/// Runs `script` (JavaScript) with node inside the install folder, passing `input` as JSON in
/// argv[2]; returns the JSON the script prints on its last line.
pub(crate) fn run(script: &str, input: &serde_json::Value, tz: &str) -> serde_json::Value {
    let dir = install();
    let file = dir.join(format!("script-{}-{}.js", std::process::id(), rand_suffix()));
    std::fs::write(&file, script).unwrap();
    let output =
        Command::new("node").arg(&file).arg(input.to_string()).env("TZ", tz).output().expect("node must be installed");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("node printed no JSON:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    serde_json::from_str(last).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
