//! Paths to fixtures shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root: the library's manifest folder, which the CLI and sandbox packages sit in.
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("testdata").exists() {
        manifest
    } else {
        manifest.parent().expect("a parent folder").to_path_buf()
    }
}

/// The project's own generated PKI (`testdata/gen.sh`).
pub(crate) fn pki(relative: &str) -> PathBuf {
    root().join("testdata/pki").join(relative)
}

/// The real public Alipay fixtures, vendored in `testdata/alipay-fixtures` (their provenance
/// is in `testdata/README.md`). A missing file fails the test: these known answers must
/// always run.
pub(crate) fn shared(relative: &str) -> PathBuf {
    let path = root().join("testdata/alipay-fixtures").join(relative);
    assert!(path.exists(), "fixture {} is missing from testdata/alipay-fixtures", path.display());
    path
}

/// The JDK oracle's answers for the generated certificates (`testdata/pki/expected-sn.jsonl`).
pub(crate) fn oracle() -> Vec<serde_json::Value> {
    std::fs::read_to_string(pki("expected-sn.jsonl"))
        .expect("expected-sn.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("oracle line is JSON"))
        .collect()
}

/// The oracle's answer for one file name.
pub(crate) fn oracle_for(file: &str) -> serde_json::Value {
    oracle().into_iter().find(|v| v["file"] == file).unwrap_or_else(|| panic!("no oracle value for {file}"))
}

pub(crate) mod bc;
pub(crate) mod node;
pub(crate) mod redis_server;
pub(crate) mod wire;
