//! DynamoDB Local: started as a child process (or reused), the table created from
//! template.yaml's definition, demo users seeded.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use chrono_tz::Tz;
use patgate::store::TokenStore;
use patgate::user::{User, UserId};
use tokio::process::{Child, Command};

use crate::sam::TableDef;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A DynamoDB Local this process started, or one it was told to reuse.
pub struct DynamoLocal {
    pub endpoint: String,
    child: Option<Child>,
    pub description: String,
    /// DynamoDB Local's output; removed after a clean stop of an in-memory instance.
    log_to_remove: Option<PathBuf>,
}

impl DynamoLocal {
    /// Reuses a DynamoDB Local already listening at `endpoint`.
    pub fn external(endpoint: &str) -> Self {
        DynamoLocal {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            child: None,
            description: "reused; not started or stopped by this process".to_owned(),
            log_to_remove: None,
        }
    }

    /// Starts `java -jar DynamoDBLocal.jar` on `port` as a child of this process, with the
    /// flags infra/scripts/dynamodb-local.sh uses, and waits until it accepts connections.
    pub async fn start(repo_root: &Path, port: u16, in_memory: bool) -> Result<Self, BoxError> {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Err(format!(
                "port {port} is already in use; pass --dynamodb-endpoint http://127.0.0.1:{port} to reuse a DynamoDB Local \
                 listening there, or --dynamodb-port to start one elsewhere"
            )
            .into());
        }
        let jar_dir = jar_dir(repo_root).await?;
        let local_dir = repo_root.join("infra/.local");
        std::fs::create_dir_all(&local_dir)?;
        let log_path = local_dir.join(format!("dynamodb-{port}.log"));
        let log = std::fs::File::create(&log_path)?;

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
        let storage = if in_memory {
            command.arg("-inMemory");
            "in memory".to_owned()
        } else {
            let data = local_dir.join("dynamodb");
            std::fs::create_dir_all(&data)?;
            command.arg("-dbPath").arg(&data);
            format!("data in {}", data.display())
        };
        command
            .arg("-sharedDb")
            .arg("-disableTelemetry")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal reaches only this process,
            // which then stops DynamoDB Local itself (and sees no "unexpected" exit).
            .process_group(0)
            // Never outlive this process: killed when the Child is dropped, and (Linux)
            // when this process dies, even by SIGKILL.
            .kill_on_drop(true);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start java (is a Java runtime on PATH?): {e}"))?;
        let pid = child.id().unwrap_or_default();

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(format!(
                    "DynamoDB Local exited before becoming ready ({status}); see {}",
                    log_path.display()
                )
                .into());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "DynamoDB Local did not listen on port {port} within 30 s; see {}",
                    log_path.display()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(DynamoLocal {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            description: format!("pid {pid}, {storage}, log {}", log_path.display()),
            log_to_remove: in_memory.then_some(log_path),
        })
    }

    /// Whether this process started (and so stops) it.
    pub fn is_managed(&self) -> bool {
        self.child.is_some()
    }

    /// Resolves when the child exits by itself (never, for a reused instance).
    pub async fn exited(&mut self) -> String {
        match &mut self.child {
            Some(child) => match child.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => e.to_string(),
            },
            None => std::future::pending().await,
        }
    }

    /// Stops the child: SIGTERM, then SIGKILL after a grace period; waits for it.
    pub async fn stop(mut self) {
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
        if let Some(log) = self.log_to_remove.take() {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// `infra/scripts/dynamodb-local.sh jar-dir` (installs DynamoDB Local first if needed).
async fn jar_dir(repo_root: &Path) -> Result<PathBuf, BoxError> {
    let script = repo_root.join("infra/scripts/dynamodb-local.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg("jar-dir")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!("{} jar-dir failed ({})", script.display(), output.status).into());
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !dir.join("DynamoDBLocal.jar").is_file() {
        return Err(format!("no DynamoDBLocal.jar in {}", dir.display()).into());
    }
    Ok(dir)
}

/// What [`ensure_table`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum TableOutcome {
    Created,
    Existing,
}

/// Creates table `name` from the template's definition unless it exists; an existing
/// table must have the template's key schema. Enables TTL as the template does.
pub async fn ensure_table(
    client: &Client,
    name: &str,
    def: &TableDef,
) -> Result<TableOutcome, BoxError> {
    let outcome = match client.describe_table().table_name(name).send().await {
        Ok(described) => {
            let existing: Vec<(String, String)> = described
                .table()
                .map(|t| {
                    t.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.attribute_name().to_owned(),
                                k.key_type().as_str().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if existing != def.key_schema {
                return Err(format!(
                    "table {name} exists with key schema {existing:?} but template.yaml says {:?}; \
                     remove infra/.local/dynamodb or run with --in-memory",
                    def.key_schema
                )
                .into());
            }
            TableOutcome::Existing
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            create_table(client, name, def).await?;
            TableOutcome::Created
        }
        Err(err) => {
            return Err(format!("DescribeTable {name}: {}", DisplayErrorContext(&err)).into())
        }
    };
    if let Some(attribute) = def.ttl_attribute() {
        let current = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
        if !enabled {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
        }
    }
    Ok(outcome)
}

async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<(), BoxError> {
    let key = |(attribute, kind): &(String, String)| -> Result<KeySchemaElement, BoxError> {
        Ok(KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(KeyType::from(kind.as_str()))
            .build()?)
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    if def.billing_mode != "PAY_PER_REQUEST" {
        request = request.provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()?,
        );
    }
    for (attribute, kind) in &def.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for element in &def.key_schema {
        request = request.key_schema(key(element)?);
    }
    for index in &def.global_secondary_indexes {
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(index.projection_type.as_str()))
                    .set_non_key_attributes(
                        (!index.non_key_attributes.is_empty())
                            .then(|| index.non_key_attributes.clone()),
                    )
                    .build(),
            );
        for element in &index.key_schema {
            gsi = gsi.key_schema(key(element)?);
        }
        request = request.global_secondary_indexes(gsi.build()?);
    }
    request.send().await.map_err(|e| {
        let code = e.code().unwrap_or("error").to_owned();
        format!("CreateTable {name}: {code}: {}", DisplayErrorContext(&e))
    })?;
    Ok(())
}

/// A demo user the local stack seeds.
pub struct DemoUser {
    pub id: &'static str,
    pub roles: &'static [&'static str],
    pub time_zone: Option<Tz>,
    pub active: bool,
}

/// One active user per built-in role, plus a deactivated one.
pub fn demo_users() -> Vec<DemoUser> {
    vec![
        DemoUser {
            id: "demo-viewer",
            roles: &["Viewer"],
            time_zone: None,
            active: true,
        },
        DemoUser {
            id: "demo-user",
            roles: &["User"],
            time_zone: Some(chrono_tz::Europe::Paris),
            active: true,
        },
        DemoUser {
            id: "demo-manager",
            roles: &["Manager"],
            time_zone: Some(chrono_tz::America::New_York),
            active: true,
        },
        DemoUser {
            id: "demo-admin",
            roles: &["Admin"],
            time_zone: Some(chrono_tz::Asia::Kathmandu),
            active: true,
        },
        DemoUser {
            id: "demo-inactive",
            roles: &["User"],
            time_zone: None,
            active: false,
        },
    ]
}

/// Creates or updates every demo user through `TokenStore::put_user`.
pub async fn seed_users(store: &TokenStore, users: &[DemoUser]) -> Result<(), BoxError> {
    for demo in users {
        let id = UserId::parse(demo.id).ok_or_else(|| format!("bad demo user id {}", demo.id))?;
        let user = User {
            id,
            roles: demo.roles.iter().map(|r| (*r).to_owned()).collect(),
            time_zone: demo.time_zone,
            active: demo.active,
        };
        store
            .put_user(&user)
            .await
            .map_err(|e| format!("seeding {}: {e}", demo.id))?;
    }
    Ok(())
}
