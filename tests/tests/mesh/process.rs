//! One system of the mesh as an OS process of its built binary: its output
//! (plain log lines) appended to a file of the scenario's log directory, its
//! gRPC address read from its own log line, killed with SIGKILL and reaped
//! when the scenario ends, whether it passed or panicked.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The cargo target directory's `debug` profile: `CARGO_TARGET_DIR` if set,
/// else `target/` beside the workspace's Cargo.toml.
pub fn binary_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    };
    target.join("debug")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The path of a built binary; fails, saying how to build it, if missing.
pub fn binary(name: &str) -> PathBuf {
    let path = binary_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: the scenarios run the built binaries of every system. \
         Run `cargo build --workspace --bins` first (`make test` does).",
        path.display()
    );
    path
}

/// `cargo test` does not rebuild another package's binaries: a binary
/// older than the newest source file is named in a warning (shown with a
/// failed test's output).
pub fn warn_if_stale(binary: &Path) {
    if let (Ok(built), Some((changed, source))) = (
        std::fs::metadata(binary).and_then(|m| m.modified()),
        newest_source(),
    ) && built < *changed
    {
        eprintln!(
            "warning: {} is older than {}: run `cargo build --workspace --bins`",
            binary.display(),
            source.display()
        );
    }
}

/// The most recently changed source file of the systems (found once).
fn newest_source() -> Option<&'static (SystemTime, PathBuf)> {
    static NEWEST: OnceLock<Option<(SystemTime, PathBuf)>> = OnceLock::new();
    NEWEST
        .get_or_init(|| {
            let root = workspace_root();
            let mut newest = None;
            let mut dirs: Vec<PathBuf> =
                ["lib", "services", "gateway", "cli", "proto", "regulations"]
                    .iter()
                    .map(|d| root.join(d))
                    .collect();
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    let Ok(meta) = entry.metadata() else { continue };
                    if meta.is_dir() {
                        if !path.ends_with("tests") {
                            dirs.push(path);
                        }
                    } else if let Ok(modified) = meta.modified()
                        && newest.as_ref().is_none_or(|(t, _)| modified > *t)
                    {
                        newest = Some((modified, path));
                    }
                }
            }
            newest
        })
        .as_ref()
}

/// A started (or killed) system.
pub struct Process {
    pub name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// Where this run's lines start in the log file (a restart appends).
    from: u64,
    pub address: Option<SocketAddr>,
}

impl Process {
    /// Starts `program args…`, its stdout and stderr appended to `log`.
    pub fn spawn(name: &'static str, program: PathBuf, args: Vec<String>, log: PathBuf) -> Process {
        let mut process = Process {
            name,
            program,
            args,
            log,
            child: None,
            from: 0,
            address: None,
        };
        process.start();
        process
    }

    fn start(&mut self) {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log.display()));
        writeln!(
            file,
            "=== {} {}",
            self.program.display(),
            self.args.join(" ")
        )
        .expect("write the log");
        self.from = file.metadata().expect("log metadata").len();
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        // The process reads its settings from its file only: nothing of the
        // test's own environment (EGOV…, RUST_LOG) leaks into it.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("EGOV") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        let child = command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program.display()));
        self.child = Some(child);
        self.address = None;
    }

    /// From now on, `to` for the argument `from` (a port chosen by the
    /// system on the first run, kept for the next).
    pub fn replace_argument(&mut self, from: &str, to: &str) {
        for arg in &mut self.args {
            if arg == from {
                *arg = to.to_owned();
            }
        }
    }

    /// Starts it again with the same command line and settings.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        self.start();
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL (no graceful shutdown), then reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.address = None;
    }

    /// Fails (with its log) if the process has exited.
    pub fn check_alive(&mut self) {
        let Some(child) = self.child.as_mut() else {
            panic!("{} is not running", self.name)
        };
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{} exited ({status}) before it was ready; its log:\n{}",
                self.name,
                self.tail(60)
            );
        }
    }

    /// This run's gRPC address, from the runner's line
    /// `<Name> gRPC API listening. address=…` (lib/runtime/src/service.rs).
    pub fn logged_address(&mut self) -> Result<SocketAddr, String> {
        self.logged("gRPC API listening.")
    }

    /// This run's metrics address (`<Name> metrics listening. address=…`).
    pub fn logged_metrics_address(&mut self) -> Result<SocketAddr, String> {
        self.logged("metrics listening.")
    }

    fn logged(&mut self, what: &str) -> Result<SocketAddr, String> {
        self.check_alive();
        let text = self.read_from(self.from);
        // Complete lines only: the last one may be half written.
        let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        complete
            .lines()
            .filter(|line| line.contains(what))
            .find_map(|line| {
                line.split_whitespace()
                    .find_map(|field| field.strip_prefix("address="))
                    .and_then(|address| address.parse().ok())
            })
            .ok_or_else(|| format!("{} has not logged its address yet", self.name))
    }

    /// The TCP port this run listens on, read from /proc (for a process
    /// that does not log the port it was given: `egovctl pki serve` prints
    /// the address it was asked for, 127.0.0.1:0, not the one it bound).
    pub fn listening_port(&mut self) -> Result<u16, String> {
        self.check_alive();
        let pid = self.pid().expect("running");
        listening_port(pid).ok_or_else(|| format!("{} is not listening yet", self.name))
    }

    fn read_from(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.seek(SeekFrom::Start(offset));
            let mut bytes = Vec::new();
            let _ = file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }

    /// The last `lines` lines of its log (every run).
    pub fn tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The port of a listening TCP socket (IPv4) the process `pid` holds:
/// its socket inodes (/proc/<pid>/fd) matched against /proc/net/tcp's
/// LISTEN rows (state 0A), as proc(5) describes them.
fn listening_port(pid: u32) -> Option<u16> {
    let mut inodes = HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if let Ok(link) = std::fs::read_link(entry.path()) {
            let link = link.to_string_lossy().into_owned();
            if let Some(inode) = link
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                inodes.insert(inode.to_owned());
            }
        }
    }
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|row| {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let columns: Vec<&str> = row.split_whitespace().collect();
        if columns.len() > 9 && columns[3] == "0A" && inodes.contains(columns[9]) {
            let (_, port) = columns[1].rsplit_once(':')?;
            u16::from_str_radix(port, 16).ok()
        } else {
            None
        }
    })
}
