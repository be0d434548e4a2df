//! BouncyCastle (Debian's `libbcprov-java`, installed by `.ci/test`) and the JDK as the
//! independent SM2 / SM4 / AES_V2 implementation: `testdata/oracle/Sm2Oracle.java`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Where Debian puts BouncyCastle's provider.
const BCPROV: &str = "/usr/share/java/bcprov.jar";

/// Base64 of `bytes`, as the oracle's arguments are given.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Runs the oracle on `commands` (one JVM for all of them) and returns one answer per command.
/// A missing BouncyCastle fails the test: `.ci/test` installs it.
pub(crate) fn run(commands: &[String]) -> Vec<String> {
    use std::io::Write;
    assert!(
        std::path::Path::new(BCPROV).exists(),
        "{BCPROV} is missing: install Debian's libbcprov-java (.ci/test does)"
    );
    let mut child = std::process::Command::new("java")
        .args(["-cp", BCPROV])
        .arg(super::root().join("testdata/oracle/Sm2Oracle.java"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("a JDK is installed");
    child.stdin.take().unwrap().write_all((commands.join("\n") + "\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(answers.len(), commands.len(), "one answer per command: {answers:?}");
    answers
}
