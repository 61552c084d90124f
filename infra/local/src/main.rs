//! patgate-local: the whole service on one machine, for development only.
//!
//! Starts DynamoDB Local (child process), creates the table from template.yaml, seeds
//! demo users, and serves a local API Gateway whose routes and authorizers come from
//! template.yaml, calling the real handler and authorizer functions in-process. Stops
//! cleanly on Ctrl-C / SIGTERM, DynamoDB Local included.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use patgate::config::Settings;
use patgate::permissions::PermissionConfig;
use patgate::service::TokenService;
use patgate::store::TokenStore;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

use patgate_local::cli::{self, Options, Parsed, USAGE};
use patgate_local::dynamo::{self, DynamoLocal, TableOutcome};
use patgate_local::event::ApiIdentity;
use patgate_local::functions::Functions;
use patgate_local::gateway::{Gateway, GatewayOptions};
use patgate_local::sam::{self, AuthorizerDef, LocalContext};
use patgate_local::session::SessionKeys;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const API_ID: &str = "patgatelocal";

#[tokio::main]
async fn main() -> ExitCode {
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => *options,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("patgate-local: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("patgate-local: error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<ExitCode, BoxError> {
    let started = Instant::now();
    // Installed first, so that Ctrl-C at any point goes through the clean shutdown.
    let mut signals = Signals::install()?;
    print_banner();
    if !options.host.is_loopback() {
        println!(
            "WARNING: listening on {}, not a loopback address: anyone who can reach it gets a session for any demo user.",
            options.host
        );
    }

    let repo_root = repo_root();
    let template_path = options
        .template
        .clone()
        .unwrap_or_else(|| repo_root.join("template.yaml"));
    let parameters = sam::local_parameters(&options.params);
    let context = LocalContext {
        table_name: options.table_name.clone(),
        ..LocalContext::default()
    };
    let api = sam::load(&template_path, &parameters, &context)?;

    let listener = TcpListener::bind((options.host, options.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;

    let mut dynamo = match &options.dynamodb_endpoint {
        Some(endpoint) => DynamoLocal::external(endpoint),
        None => tokio::select! {
            started = DynamoLocal::start(&repo_root, options.dynamodb_port, options.in_memory) => started?,
            // Dropping the half-started child kills it (kill_on_drop).
            signal = signals.recv() => {
                println!("patgate-local: {signal} during start-up; stopped");
                return Ok(ExitCode::SUCCESS);
            }
        },
    };

    let prepared = tokio::select! {
        prepared = prepare(dynamo.endpoint.clone(), api, &options) => Some(prepared),
        signal = signals.recv() => {
            println!("patgate-local: {signal} during start-up; stopping");
            None
        }
    };
    let (gateway, table_outcome) = match prepared {
        Some(Ok(ready)) => ready,
        Some(Err(err)) => {
            dynamo.stop().await;
            return Err(err);
        }
        None => {
            dynamo.stop().await;
            return Ok(ExitCode::SUCCESS);
        }
    };

    print_summary(&options, &template_path, &dynamo, table_outcome, &gateway);
    let shown_host = if options.host.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        options.host.to_string()
    };
    println!("(start-up took {:.2} s)", started.elapsed().as_secs_f64());
    println!(
        "patgate local stack ready on http://{shown_host}:{}",
        options.port
    );

    let graceful = GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    let stop = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let gateway = gateway.clone();
                    let service = service_fn(move |request| {
                        let gateway = gateway.clone();
                        async move { Ok::<_, Infallible>(gateway.serve(request, remote).await) }
                    });
                    let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                Err(err) => {
                    eprintln!("patgate-local: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            signal = signals.recv() => break Stop::Signal(signal),
            status = dynamo.exited() => break Stop::DynamoExited(status),
        }
    };
    drop(listener);
    match &stop {
        Stop::Signal(signal) => println!("patgate-local: {signal} received, shutting down"),
        Stop::DynamoExited(status) => {
            eprintln!("patgate-local: DynamoDB Local exited unexpectedly ({status}); shutting down")
        }
    }
    if tokio::time::timeout(Duration::from_secs(3), graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("patgate-local: some connections were still open after 3 s; closing them");
    }
    let managed = dynamo.is_managed();
    dynamo.stop().await;
    if managed {
        println!("patgate-local: DynamoDB Local stopped");
    }
    println!("patgate-local: stopped");
    Ok(match stop {
        Stop::Signal(_) => ExitCode::SUCCESS,
        Stop::DynamoExited(_) => ExitCode::FAILURE,
    })
}

enum Stop {
    Signal(&'static str),
    DynamoExited(String),
}

/// Table, demo users, the functions' cold-start state, and the gateway.
async fn prepare(
    endpoint: String,
    api: sam::LocalApi,
    options: &Options,
) -> Result<(Arc<Gateway>, TableOutcome), BoxError> {
    let client = patgate::store::connect_local(&endpoint);
    let table_name = options.table_name.clone();
    // DynamoDB Local may accept connections a moment before it answers requests.
    let mut attempt = 0;
    let outcome = loop {
        match dynamo::ensure_table(&client, &table_name, &api.table).await {
            Ok(outcome) => break outcome,
            Err(err) if attempt < 20 && !err.to_string().contains("key schema") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => return Err(err),
        }
    };
    let store = TokenStore::new(client, table_name);
    dynamo::seed_users(&store, &dynamo::demo_users()).await?;

    let settings = Settings::from_lookup(|name| api.environment.get(name).cloned())?;
    let permissions = PermissionConfig::bundled()?;
    let authorizer = authorizer::Authorizer::new(&settings, store.clone(), permissions);
    let functions = Functions {
        service: TokenService::new(settings, store),
        authorizer,
    };
    let identity = ApiIdentity {
        api_id: API_ID.to_owned(),
        stage: api.stage.clone(),
        region: LocalContext::default().region,
        account_id: LocalContext::default().account_id,
    };
    let issuer = format!("http://{}:{}/local", options.host, options.port);
    let gateway_options = GatewayOptions {
        identity,
        sessions: SessionKeys::random(issuer),
        clock_control: options.dev_clock_control,
        web_origin: options.web_origin.clone(),
        log_requests: !options.quiet,
    };
    let gateway = Gateway::new(api, functions, gateway_options)?;
    Ok((Arc::new(gateway), outcome))
}

struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next shutdown signal (cancel-safe).
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

/// The repository this binary was built from (for template.yaml and infra/).
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn print_banner() {
    println!("==============================================================================");
    println!(" patgate-local: DEVELOPMENT ONLY - never expose it, never use real data.");
    println!(" POST /local/session hands a session for any demo user to anyone who asks;");
    println!(" it exists only in this binary, not in the functions template.yaml deploys.");
    println!("==============================================================================");
}

fn print_summary(
    options: &Options,
    template_path: &Path,
    dynamo: &DynamoLocal,
    table: TableOutcome,
    gateway: &Gateway,
) {
    let api = gateway.api();
    let table_note = match table {
        TableOutcome::Created => "created from template.yaml",
        TableOutcome::Existing => "already there",
    };
    println!(
        "Template:    {} (API {}, stage {})",
        template_path.display(),
        api.api_logical_id,
        api.stage
    );
    println!("DynamoDB:    {} ({})", dynamo.endpoint, dynamo.description);
    println!(
        "Table:       {} ({table_note}; TTL attribute {})",
        options.table_name,
        api.table.ttl_attribute().unwrap_or("none")
    );
    println!(
        "CORS origin: {}",
        api.cors
            .as_ref()
            .map(|c| c.allow_origin.as_str())
            .unwrap_or("(none)")
    );
    println!();
    println!("Routes (from template.yaml):");
    for route in gateway.routes() {
        let auth = match route
            .authorizer
            .as_deref()
            .map(|name| (name, api.authorizers.get(name)))
        {
            None => "no authorizer".to_owned(),
            Some((name, Some(AuthorizerDef::Lambda { ttl_seconds, .. }))) => {
                format!("{name} (bearer token; policy cache {ttl_seconds} s)")
            }
            Some((name, Some(AuthorizerDef::CognitoUserPool { .. }))) => {
                format!("{name} (local session)")
            }
            Some((name, None)) => name.to_owned(),
        };
        println!(
            "  {:<7} {:<28} {:<13} {auth}",
            route.method, route.path, route.binary
        );
    }
    println!(
        "  {:<7} {:<28} {:<13} development only: session for a demo user",
        "POST", "/local/session", "patgate-local"
    );
    if options.dev_clock_control {
        println!(
            "  {:<7} {:<28} {:<13} development only: shift the functions' clock",
            "GET/PUT", "/local/clock", "patgate-local"
        );
    }
    if api.cors.is_some() {
        println!(
            "  {:<7} {:<28} {:<13} CORS preflight",
            "OPTIONS", "(every path above)", "gateway"
        );
    }
    println!();
    println!("Demo users (seeded):");
    for user in dynamo::demo_users() {
        let zone = user
            .time_zone
            .map(|z| z.name().to_owned())
            .unwrap_or_else(|| "(no zone: UTC)".to_owned());
        let state = if user.active { "" } else { "  deactivated" };
        println!(
            "  {:<14} {:<8} {zone}{state}",
            user.id,
            user.roles.join(",")
        );
    }
    let host = if options.host.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        options.host.to_string()
    };
    let base = format!(
        "http://{}",
        SocketAddr::new(host.parse().unwrap_or(options.host), options.port)
    );
    let expires_on = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    println!();
    println!("Try it (needs curl and jq):");
    println!("  S=$(curl -s -X POST {base}/local/session -d '{{\"userId\":\"demo-viewer\"}}' | jq -r .session)");
    println!(
        "  T=$(curl -s -X POST {base}/tokens -H \"Authorization: $S\" -d '{{\"name\":\"try-it\",\"expiresOn\":\"{expires_on}\"}}' | jq -r .token)"
    );
    println!("  curl -i {base}/catalog -H \"Authorization: Bearer $T\"            # 200, echoes who you are");
    println!("  curl -i -X POST {base}/catalog -H \"Authorization: Bearer $T\"    # 403, a Viewer cannot write");
    println!();
}
