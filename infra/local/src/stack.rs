//! The whole stack's life: DynamoDB Local started (or reused), the table and demo
//! users, the gateway (and one per client API template) and the web page served until
//! a signal, then everything stopped, DynamoDB Local included. Also `patgate-local
//! dynamodb`, DynamoDB Local alone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use patgate::config::{Settings, PATGATE_CONFIG_PATH};
use patgate::directory::Directory;
use patgate::permissions::PermissionConfig;
use patgate::service::TokenService;
use patgate::store::TokenStore;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::{DynamoDbOptions, Options};
use crate::dynamodb::{DynamoDbLocal, Launch, LaunchError, Output, Storage};
use crate::event::ApiIdentity;
use crate::functions::Functions;
use crate::gateway::{Gateway, GatewayOptions};
use crate::lifecycle::{Lifecycle, LoggedSink, REMINDER_INTERVAL};
use crate::local_routes::Clock;
use crate::management::Management;
use crate::sam::{self, LocalApi, LocalContext};
use crate::session::SessionKeys;
use crate::summary::{print_banner, print_summary};
use crate::table::{ensure_table, TableError, TableOutcome};
use crate::web::WebSite;
use crate::{demo, repo_root};
use revocations::stages::{ApiKind, Stage};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const API_ID: &str = "patgatelocal";
/// Client APIs' ids: this prefix and their position, 10 characters as API Gateway's are.
const CLIENT_API_ID_PREFIX: &str = "client";
/// How often the table is tried while DynamoDB Local settles.
const TABLE_ATTEMPTS: u32 = 20;

/// Runs the stack until a signal (exit 0) or DynamoDB Local's death (exit 1).
pub async fn run(options: Options) -> Result<ExitCode, BoxError> {
    let started = Instant::now();
    // Installed first, so that Ctrl-C at any point goes through the clean shutdown.
    let mut signals = Signals::install()?;
    print_banner(&options);
    let repo_root = repo_root();
    let template_path = options
        .template
        .clone()
        .unwrap_or_else(|| repo_root.join("template.yaml"));
    let context = LocalContext {
        table_name: options.table_name.clone(),
        ..LocalContext::default()
    };
    let api = sam::load(
        &template_path,
        &sam::local_parameters(&options.params),
        &context,
    )?;
    if api.table.is_none() {
        return Err(format!("{}: no AWS::DynamoDB::Table", template_path.display()).into());
    }
    let mut clients = Vec::new();
    for (path, port) in options.client_apis() {
        let client = sam::load(&path, &client_parameters(&path, &options)?, &context)?;
        let listener = listen(&options, port).await.map_err(|e| {
            format!(
                "{e} (the port of client template {}: --client-port PORT)",
                path.display()
            )
        })?;
        clients.push((path, client, listener));
    }
    let listener = listen(&options, options.port).await?;
    let management = listen(&options, options.management_port)
        .await
        .map_err(|e| {
            format!("{e} (the API Gateway management endpoint's port: --management-port PORT)")
        })?;
    let web = match options.web_port {
        Some(port) => {
            let dir = options
                .web_dir
                .clone()
                .unwrap_or_else(|| repo_root.join("infra/web/dist"));
            let site = Arc::new(WebSite::new(dir, &options.api_base()));
            let listener = listen(&options, port)
                .await
                .map_err(|e| format!("{e} (the web page's port: --web-port PORT, or --no-web)"))?;
            Some((listener, site))
        }
        None => None,
    };
    let mut dynamo = tokio::select! {
        dynamo = Dynamo::start(&repo_root, &options) => dynamo?,
        // Dropping the half-started child kills it (kill_on_drop).
        signal = signals.recv() => {
            println!("patgate-local: {signal} during start-up; stopped");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let client_apis = clients
        .iter()
        .map(|(path, api, _)| (path.clone(), api.clone()))
        .collect();
    let prepared = tokio::select! {
        prepared = prepare(dynamo.endpoint(), api, client_apis, &options, management) => prepared,
        signal = signals.recv() => {
            println!("patgate-local: {signal} during start-up; stopping");
            dynamo.stop().await;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let (gateway, client_gateways, table_outcome, management_url) = match prepared {
        Ok(ready) => ready,
        Err(err) => {
            dynamo.stop().await;
            return Err(err);
        }
    };
    let site = web.as_ref().map(|(_, site)| site.as_ref());
    let dynamo_note = dynamo.description();
    print_summary(
        &options,
        &template_path,
        &dynamo_note,
        table_outcome,
        &gateway,
        site,
    );
    println!("(start-up took {:.2} s)", started.elapsed().as_secs_f64());
    println!("API Gateway management endpoint (authorizer cache flushes) on {management_url}");
    println!("patgate local stack ready on {}", options.api_base());
    if let Some(web_base) = options.web_base() {
        println!("web page on {web_base}");
    }
    let mut sites = vec![(listener, Site::Api(gateway))];
    if let Some((listener, site)) = web {
        sites.push((listener, Site::Web(site)));
    }
    for ((path, _, listener), client) in clients.into_iter().zip(client_gateways) {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        println!(
            "client API of {} ({}, stage {}) on {}",
            path.display(),
            client.api().api_logical_id,
            client.api().stage,
            options.client_base(port)
        );
        sites.push((listener, Site::Api(client)));
    }
    let stop = serve(sites, &mut signals, &mut dynamo).await;
    shut_down(stop, dynamo).await
}

enum Stop {
    Signal(&'static str),
    DynamoExited(String),
}

async fn listen(options: &Options, port: u16) -> Result<TcpListener, BoxError> {
    let listener = TcpListener::bind((options.host, port))
        .await
        .map_err(|e| format!("cannot listen on {}:{port}: {e}", options.host))?;
    Ok(listener)
}

/// What a connection is served: the API (the gateway) or the web page.
#[derive(Clone)]
enum Site {
    Api(Arc<Gateway>),
    Web(Arc<WebSite>),
}

impl Site {
    async fn serve(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
        remote: SocketAddr,
    ) -> crate::response::HttpResponse {
        match self {
            Site::Api(gateway) => gateway.serve(request, remote).await,
            Site::Web(site) => {
                site.serve(request.method().as_str(), request.uri().path())
                    .await
            }
        }
    }
}

/// Accepts connections on every listener until a signal or DynamoDB Local's exit;
/// then closes them.
async fn serve(
    sites: Vec<(TcpListener, Site)>,
    signals: &mut Signals,
    dynamo: &mut Dynamo,
) -> Stop {
    let graceful = GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    let stop = loop {
        let accepts = sites.iter().map(|(listener, site)| {
            Box::pin(async move { (listener.accept().await, site.clone()) })
        });
        let ((accepted, site), _, _) = tokio::select! {
            accepted = futures::future::select_all(accepts) => accepted,
            signal = signals.recv() => break Stop::Signal(signal),
            status = dynamo.exited() => break Stop::DynamoExited(status),
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                let service = service_fn(move |request| {
                    let site = site.clone();
                    async move { Ok::<_, Infallible>(site.serve(request, remote).await) }
                });
                let connection =
                    graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            Err(err) => {
                eprintln!("patgate-local: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    drop(sites);
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
    stop
}

/// A client template's parameters: their defaults, with `--authorizer-cache-ttl` for
/// its `AuthorizerCacheTtlSeconds` when it declares one.
fn client_parameters(
    path: &Path,
    options: &Options,
) -> Result<std::collections::BTreeMap<String, String>, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read client template {}: {e}", path.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|e| format!("client template {}: invalid YAML: {e}", path.display()))?;
    let declares_ttl = yaml
        .get("Parameters")
        .and_then(|p| p.get(CACHE_TTL_PARAMETER))
        .is_some();
    let mut parameters = std::collections::BTreeMap::new();
    if let Some(ttl) = options
        .params
        .get(CACHE_TTL_PARAMETER)
        .filter(|_| declares_ttl)
    {
        parameters.insert(CACHE_TTL_PARAMETER.to_owned(), ttl.clone());
    }
    Ok(parameters)
}

const CACHE_TTL_PARAMETER: &str = "AuthorizerCacheTtlSeconds";

async fn shut_down(stop: Stop, mut dynamo: Dynamo) -> Result<ExitCode, BoxError> {
    let managed = dynamo.managed.is_some();
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

/// Table, demo users, the functions' cold-start state, and the gateway.
async fn prepare(
    endpoint: String,
    api: LocalApi,
    client_apis: Vec<(PathBuf, LocalApi)>,
    options: &Options,
    management: TcpListener,
) -> Result<(Arc<Gateway>, Vec<Arc<Gateway>>, TableOutcome, String), BoxError> {
    let Some(table) = api.table.clone() else {
        return Err("the template has no AWS::DynamoDB::Table".into());
    };
    let client = patgate::store::connect_local(&endpoint);
    let table_name = options.table_name.clone();
    let mut attempt = 1;
    let outcome = loop {
        match ensure_table(&client, &table_name, &table).await {
            Ok(outcome) => break outcome,
            Err(err) if err.is_transient() && attempt < TABLE_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => return Err(Box::<TableError>::new(err)),
        }
    };
    let store = TokenStore::new(client, table_name.clone());
    let events_file = repo_root().join("infra/.local/events.jsonl");
    if let Some(dir) = events_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let lifecycle = Arc::new(Lifecycle::new(
        store.clone(),
        LoggedSink::new(events_file, options.quiet),
    ));

    // The file the functions read at cold start: --config, else the demo file.
    let config_path = options
        .config
        .clone()
        .unwrap_or_else(|| repo_root().join(DEMO_CONFIG));
    let mut environment = api.environment.clone();
    environment.insert(
        PATGATE_CONFIG_PATH.to_owned(),
        config_path.display().to_string(),
    );
    let settings = Settings::from_lookup(|name| environment.get(name).cloned())?;
    let permissions = PermissionConfig::load(&settings.config_path)?;
    let authorizer = authorizer::Authorizer::new(&settings, store.clone(), permissions.clone());
    let service = TokenService::new(settings, store, permissions);
    let directory = Directory::new(service.clone());
    demo::seed_users(&directory, &demo::demo_users()).await?;
    let ttl = Arc::new(crate::ttl::TtlSweeper::new(
        directory.store().client().clone(),
        table_name.clone(),
        table.ttl_attribute().unwrap_or("delete_after").to_owned(),
    ));
    tokio::spawn(ttl.clone().run());
    let functions = Arc::new(Functions::new(service, directory, authorizer, lifecycle));
    let local = LocalContext::default();
    let identity = |api_id: String, api: &LocalApi| ApiIdentity {
        api_id,
        stage: api.stage.clone(),
        region: local.region.clone(),
        account_id: local.account_id.clone(),
        stage_variables: api.stage_variables.clone(),
    };
    let sessions = Arc::new(SessionKeys::random(format!(
        "http://{}:{}/local",
        options.host, options.port
    )));
    let clock = Arc::new(Clock::default());
    let gateway_options = |identity: ApiIdentity, local_routes: bool| GatewayOptions {
        identity,
        sessions: sessions.clone(),
        clock: clock.clone(),
        local_routes,
        clock_control: options.dev_clock_control,
        web_origin: options.web_origin.clone(),
        log_requests: !options.quiet,
    };
    let mut clients = Vec::new();
    for (i, (path, client)) in client_apis.into_iter().enumerate() {
        let id = format!("{CLIENT_API_ID_PREFIX}{:04}", i + 1);
        let gateway_options = gateway_options(identity(id, &client), false);
        let gateway = Gateway::new(client, functions.clone(), gateway_options)
            .map_err(|e| format!("client template {}: {e}", path.display()))?;
        clients.push(Arc::new(gateway));
    }
    let patgate_options = gateway_options(identity(API_ID.to_owned(), &api), true);
    let gateway = Arc::new(Gateway::new(api, functions, patgate_options)?);
    tokio::spawn(run_reminders_every_minute(gateway.clone()));
    // The revocations function flushes this API's stage through the management
    // endpoint, as it flushes every registered stage in the cloud.
    let management_url = format!("http://{}", management.local_addr()?);
    let stage = Stage {
        kind: ApiKind::Rest,
        api_id: API_ID.to_owned(),
        stage: gateway.api().stage.clone(),
    };
    let mut flush_api = Management::new();
    let flushed = gateway.clone();
    flush_api.register(&stage, Arc::new(move || flushed.authorizers().flush()));
    tokio::spawn(Arc::new(flush_api).serve(management));
    let flusher = crate::revocation::start(&management_url, vec![stage], gateway.clock())?;
    tokio::spawn(gateway.functions().lifecycle.clone().follow_stream(
        endpoint,
        table_name,
        gateway.functions().directory.clone(),
        ttl,
        (flusher, gateway.clock()),
    ));
    Ok((gateway, clients, outcome, management_url))
}

/// The demo permission configuration, the local stack's default.
pub const DEMO_CONFIG: &str = "infra/config/permissions.json";

/// The reminder job as the schedule runs it in the cloud, at the functions' clock.
async fn run_reminders_every_minute(gateway: Arc<Gateway>) {
    let mut ticks = tokio::time::interval(REMINDER_INTERVAL);
    loop {
        ticks.tick().await;
        let now = gateway.clock().now();
        if let Err(err) = gateway.functions().lifecycle.run_reminders(now).await {
            eprintln!("patgate-local: reminder run: {err}");
        }
    }
}

/// The stack's DynamoDB Local: started by it (`managed`), or one it was told to reuse.
struct Dynamo {
    endpoint: String,
    managed: Option<Managed>,
}

struct Managed {
    instance: DynamoDbLocal,
    storage: String,
    log: PathBuf,
    in_memory: bool,
}

impl Dynamo {
    async fn start(repo_root: &Path, options: &Options) -> Result<Self, BoxError> {
        if let Some(endpoint) = &options.dynamodb_endpoint {
            let endpoint = endpoint.trim_end_matches('/').to_owned();
            return Ok(Dynamo {
                endpoint,
                managed: None,
            });
        }
        let port = options.dynamodb_port;
        let local_dir = repo_root.join("infra/.local");
        let data = local_dir.join("dynamodb");
        let log = local_dir.join(format!("dynamodb-{port}.log"));
        let launch = Launch {
            port: Some(port),
            storage: if options.in_memory {
                Storage::InMemory
            } else {
                Storage::Directory(data.clone())
            },
            output: Output::File(log.clone()),
        };
        let instance = match DynamoDbLocal::start(repo_root, &launch).await {
            Ok(instance) => instance,
            Err(LaunchError::PortInUse(port)) => return Err(format!(
                "port {port} is already in use; pass --dynamodb-endpoint http://127.0.0.1:{port} to reuse a DynamoDB Local \
                 listening there, or --dynamodb-port to start one elsewhere"
            )
            .into()),
            Err(err) => return Err(err.into()),
        };
        let storage = match options.in_memory {
            true => "in memory".to_owned(),
            false => format!("data in {}", data.display()),
        };
        Ok(Dynamo {
            endpoint: instance.endpoint(),
            managed: Some(Managed {
                instance,
                storage,
                log,
                in_memory: options.in_memory,
            }),
        })
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn description(&self) -> String {
        match &self.managed {
            Some(managed) => format!(
                "{} (pid {}, {}, log {})",
                self.endpoint,
                managed.instance.pid(),
                managed.storage,
                managed.log.display()
            ),
            None => format!(
                "{} (reused; not started or stopped by this process)",
                self.endpoint
            ),
        }
    }

    /// Resolves when a started DynamoDB Local exits by itself (never for a reused one).
    async fn exited(&mut self) -> String {
        match &mut self.managed {
            Some(managed) => managed.instance.exited().await,
            None => std::future::pending().await,
        }
    }

    /// Stops a started DynamoDB Local; the log of an in-memory one goes with it.
    async fn stop(&mut self) {
        if let Some(managed) = &mut self.managed {
            managed.instance.stop().await;
            if managed.in_memory {
                let _ = std::fs::remove_file(&managed.log);
            }
        }
    }
}

/// `patgate-local dynamodb`: DynamoDB Local alone, until a signal or its own exit.
pub async fn run_dynamodb(options: DynamoDbOptions) -> Result<ExitCode, BoxError> {
    let mut signals = Signals::install()?;
    let repo_root = repo_root();
    let (storage, description) = match (&options.db_path, options.in_memory) {
        (_, true) => (Storage::InMemory, "in memory".to_owned()),
        (Some(dir), false) => (
            Storage::Directory(dir.clone()),
            format!("data in {}", dir.display()),
        ),
        (None, false) => {
            let dir = repo_root.join("infra/.local/dynamodb");
            let description = format!("data in {}", dir.display());
            (Storage::Directory(dir), description)
        }
    };
    let launch = Launch {
        port: options.port,
        storage,
        output: Output::Inherit,
    };
    let mut instance = tokio::select! {
        started = DynamoDbLocal::start(&repo_root, &launch) => started?,
        signal = signals.recv() => {
            eprintln!("patgate-local dynamodb: {signal} during start-up; stopped");
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!(
        "DynamoDB Local ready on {} (pid {}, {description})",
        instance.endpoint(),
        instance.pid()
    );
    let code = tokio::select! {
        _ = signals.recv() => ExitCode::SUCCESS,
        status = instance.exited() => {
            eprintln!("patgate-local dynamodb: DynamoDB Local exited unexpectedly ({status})");
            ExitCode::FAILURE
        }
    };
    instance.stop().await;
    println!("DynamoDB Local stopped on port {}", instance.port());
    Ok(code)
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
