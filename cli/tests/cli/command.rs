//! Running the `alipay` binary in CLI tests (included only by them: it needs the binary).

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `alipay ARGS` with `stdin` on its standard input.
pub(crate) fn alipay(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading stdin (usage errors): a broken pipe is expected then.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}
