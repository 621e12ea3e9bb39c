//! The `openserver` binary as the tests run it: started on an OS-chosen
//! port, read for the address it prints, killed (`kill -9`) when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_openserver");
pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/openserver.json");

/// Kills the child (SIGKILL) when dropped, however the test ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on an OS-chosen port; returns it and its base URL.
pub fn start(args: &[&str]) -> (Running, String) {
    start_with_env(args, &[])
}

/// [`start`] with environment variables set (and `OPENSERVER_STORE` unset
/// unless given).
pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--log", "off"])
        .args(args);
    spawn(command, env)
}

/// Starts the binary with no flag at all: everything from `env`.
pub fn start_from_env(env: &[(&str, &str)]) -> (Running, String) {
    spawn(Command::new(BIN), env)
}

fn spawn(mut command: Command, env: &[(&str, &str)]) -> (Running, String) {
    for name in [
        "OPENSERVER_STORE",
        "OPENSERVER_LISTEN",
        "OPENSERVER_CONFIG",
        "OPENSERVER_LOG",
        "OPENSERVER_PLAYGROUND",
    ] {
        command.env_remove(name);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("the binary starts");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("one line");
    let base = line
        .trim()
        .strip_prefix("openserver listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, base)
}

/// Runs the binary to its end: exit code, stdout, stderr.
pub fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("OPENSERVER_STORE")
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
