//! Command-line options.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
patgate-local: run patgate on this machine (DEVELOPMENT ONLY)

Usage: patgate-local [OPTIONS]
       patgate-local dynamodb [--port PORT] [--in-memory | --db-path DIR]

Options:
  --host ADDR                 Address to listen on [default: 127.0.0.1]
  --port PORT                 Port to listen on [default: 3000]
  --in-memory                 Run DynamoDB Local in memory (default: data kept in infra/.local/dynamodb)
  --dynamodb-port PORT        Port for the DynamoDB Local this starts [default: 8000]
  --dynamodb-endpoint URL     Reuse a DynamoDB Local already listening at URL instead of starting one
  --table-name NAME           Table name [default: patgate-local]
  --web-port PORT             Port of the web page's origin, on the same host [default: 3001];
                              0 turns it off
  --no-web                    Do not serve the web page
  --web-dir DIR               Static files of the web page [default: infra/web/dist]
  --web-origin ORIGIN         Web UI origin for CORS (parameter WebOrigin)
                              [default: http://127.0.0.1:WEB_PORT, or http://localhost:3000 without
                              the web page]
  --authorizer-cache-ttl SECS Authorizer policy cache TTL (parameter AuthorizerCacheTtlSeconds)
                              [default: the template's default]
  --management-port PORT      Port of the API Gateway management endpoint (authorizer cache
                              flushes, called by the revocations function) [default: a free port]
  --param NAME=VALUE          Override any template parameter (repeatable)
  --template PATH             template.yaml to serve [default: the repository's]
  --config PATH               Permission configuration the functions read (PATGATE_CONFIG_PATH)
                              [default: infra/config/permissions.json]
  --client-template PATH      Also serve a client API's SAM template (an Api or HttpApi whose
                              authorizer is patgate's, read from an SSM parameter), on its own
                              port; repeatable (e.g. infra/examples/client-http/template.yaml)
  --client-port PORT          Port of the first client template; the next ones count up
                              [default: 3002]
  --dev-clock-control         Enable GET/PUT /local/clock, which shifts the clock the functions
                              see (for end-to-end tests of expiry)
  --quiet                     Do not log one line per request
  -h, --help                  Print this help

patgate-local dynamodb: run DynamoDB Local alone, in the foreground, until SIGINT/SIGTERM
(infra/scripts/dynamodb-local.sh start runs it in the background)
  --port PORT                 Port to listen on [default: a free port]
  --in-memory                 Keep nothing (default: data in infra/.local/dynamodb)
  --db-path DIR               Keep the data in DIR
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub host: IpAddr,
    pub port: u16,
    pub in_memory: bool,
    pub dynamodb_port: u16,
    pub dynamodb_endpoint: Option<String>,
    pub table_name: String,
    /// Port of the web page's origin; `None` when it is off.
    pub web_port: Option<u16>,
    /// `None`: the repository's infra/web/dist.
    pub web_dir: Option<PathBuf>,
    /// `--web-origin`, else the web page's origin, else `http://localhost:3000`.
    pub web_origin: String,
    /// Port of the API Gateway management endpoint; 0: a free port.
    pub management_port: u16,
    /// Template parameter overrides, `--authorizer-cache-ttl` and `--web-origin` included.
    pub params: BTreeMap<String, String>,
    pub template: Option<PathBuf>,
    /// `None`: the repository's infra/config/permissions.json.
    pub config: Option<PathBuf>,
    /// Client API templates served beside patgate, on `client_port`, `client_port + 1`, ...
    pub client_templates: Vec<PathBuf>,
    pub client_port: u16,
    pub dev_clock_control: bool,
    pub quiet: bool,
}

/// `patgate-local dynamodb`'s options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamoDbOptions {
    pub port: Option<u16>,
    pub in_memory: bool,
    pub db_path: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Options>),
    DynamoDb(DynamoDbOptions),
    Help,
}

impl Options {
    /// The API's base URL, as a client on this machine reaches it.
    pub fn api_base(&self) -> String {
        self.base(self.port)
    }

    /// Each client template with the port it is served on.
    pub fn client_apis(&self) -> Vec<(PathBuf, u16)> {
        self.client_templates
            .iter()
            .zip(self.client_port..)
            .map(|(path, port)| (path.clone(), port))
            .collect()
    }

    /// The base URL a client API on `port` is reached at.
    pub fn client_base(&self, port: u16) -> String {
        self.base(port)
    }

    /// The web page's origin, when it is served.
    pub fn web_base(&self) -> Option<String> {
        self.web_port.map(|port| self.base(port))
    }

    fn base(&self, port: u16) -> String {
        let host = if self.host.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.host
        };
        format!("http://{}", std::net::SocketAddr::new(host, port))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 3000,
            in_memory: false,
            dynamodb_port: 8000,
            dynamodb_endpoint: None,
            table_name: "patgate-local".to_owned(),
            web_port: Some(3001),
            web_dir: None,
            web_origin: String::new(),
            management_port: 0,
            params: BTreeMap::new(),
            template: None,
            config: None,
            client_templates: Vec::new(),
            client_port: 3002,
            dev_clock_control: false,
            quiet: false,
        }
    }
}

/// One command-line flag and its value, read on demand (`--flag=value` or `--flag value`).
struct Flag<'a, I: Iterator<Item = String>> {
    name: String,
    inline: Option<String>,
    rest: &'a mut I,
}

impl<I: Iterator<Item = String>> Flag<'_, I> {
    fn value(&mut self) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| self.rest.next())
            .ok_or_else(|| format!("{} needs a value", self.name))
    }

    fn port(&mut self) -> Result<u16, String> {
        let raw = self.value()?;
        port(&raw, &self.name)
    }
}

/// Calls `apply` with each flag of `args`.
fn each_flag(
    args: impl IntoIterator<Item = String>,
    mut apply: impl FnMut(&mut Flag<'_, std::vec::IntoIter<String>>) -> Result<bool, String>,
) -> Result<bool, String> {
    let mut rest = args.into_iter().collect::<Vec<_>>().into_iter();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut flag = Flag {
            name,
            inline,
            rest: &mut rest,
        };
        if !apply(&mut flag)? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter().peekable();
    if args.peek().map(String::as_str) == Some("dynamodb") {
        args.next();
        return parse_dynamodb(args);
    }
    let mut options = Options::default();
    let mut cache_ttl = None;
    let complete = each_flag(args, |flag| apply(&mut options, &mut cache_ttl, flag))?;
    if !complete {
        return Ok(Parsed::Help);
    }
    if options.in_memory && options.dynamodb_endpoint.is_some() {
        return Err("--in-memory and --dynamodb-endpoint exclude each other".to_owned());
    }
    if options.web_origin.is_empty() {
        options.web_origin = options
            .web_base()
            .unwrap_or_else(|| "http://localhost:3000".to_owned());
    }
    // Dedicated flags win over --param for the same parameter.
    options
        .params
        .insert("WebOrigin".to_owned(), options.web_origin.clone());
    if let Some(ttl) = cache_ttl {
        options
            .params
            .insert("AuthorizerCacheTtlSeconds".to_owned(), ttl);
    }
    Ok(Parsed::Run(Box::new(options)))
}

/// Applies one flag of the stack's; `Ok(false)` for `--help`.
fn apply<I: Iterator<Item = String>>(
    options: &mut Options,
    cache_ttl: &mut Option<String>,
    flag: &mut Flag<'_, I>,
) -> Result<bool, String> {
    match flag.name.as_str() {
        "-h" | "--help" => return Ok(false),
        "--host" => {
            options.host = flag
                .value()?
                .parse()
                .map_err(|_| "--host must be an IP address".to_owned())?
        }
        "--port" => options.port = flag.port()?,
        "--in-memory" => options.in_memory = true,
        "--dynamodb-port" => options.dynamodb_port = flag.port()?,
        "--dynamodb-endpoint" => {
            let url = flag.value()?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err("--dynamodb-endpoint must be an http(s) URL".to_owned());
            }
            options.dynamodb_endpoint = Some(url);
        }
        "--table-name" => options.table_name = flag.value()?,
        "--web-origin" => options.web_origin = flag.value()?,
        "--web-port" => {
            let raw = flag.value()?;
            let port = raw.parse::<u16>().map_err(|_| {
                "--web-port must be a port number 1-65535, or 0 to turn the web page off".to_owned()
            })?;
            options.web_port = (port != 0).then_some(port);
        }
        "--no-web" => options.web_port = None,
        "--management-port" => {
            let raw = flag.value()?;
            options.management_port = raw.parse::<u16>().map_err(|_| {
                "--management-port must be a port number 1-65535, or 0 for a free port".to_owned()
            })?;
        }
        "--web-dir" => options.web_dir = Some(PathBuf::from(flag.value()?)),
        "--authorizer-cache-ttl" => {
            let raw = flag.value()?;
            raw.parse::<u64>().map_err(|_| {
                "--authorizer-cache-ttl must be a whole number of seconds".to_owned()
            })?;
            *cache_ttl = Some(raw);
        }
        "--param" => {
            let raw = flag.value()?;
            let (name, v) = raw.split_once('=').ok_or("--param needs NAME=VALUE")?;
            options.params.insert(name.to_owned(), v.to_owned());
        }
        "--template" => options.template = Some(PathBuf::from(flag.value()?)),
        "--config" => options.config = Some(PathBuf::from(flag.value()?)),
        "--client-template" => options.client_templates.push(PathBuf::from(flag.value()?)),
        "--client-port" => options.client_port = flag.port()?,
        "--dev-clock-control" => options.dev_clock_control = true,
        "--quiet" => options.quiet = true,
        other => return Err(format!("unknown argument {other} (see --help)")),
    }
    Ok(true)
}

fn parse_dynamodb(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut options = DynamoDbOptions::default();
    let complete = each_flag(args, |flag| {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(false),
            "--port" => options.port = Some(flag.port()?),
            "--in-memory" => options.in_memory = true,
            "--db-path" => options.db_path = Some(PathBuf::from(flag.value()?)),
            other => return Err(format!("dynamodb: unknown argument {other} (see --help)")),
        }
        Ok(true)
    })?;
    if !complete {
        return Ok(Parsed::Help);
    }
    if options.in_memory && options.db_path.is_some() {
        return Err("dynamodb: --in-memory and --db-path exclude each other".to_owned());
    }
    Ok(Parsed::DynamoDb(options))
}

fn port(raw: &str, flag: &str) -> Result<u16, String> {
    raw.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{flag} must be a port number 1-65535"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(options) => Ok(*options),
            Parsed::Help => Err("help".into()),
            Parsed::DynamoDb(_) => Err("dynamodb".into()),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&[]).unwrap();
        assert_eq!(
            (o.host.to_string().as_str(), o.port, o.dynamodb_port),
            ("127.0.0.1", 3000, 8000)
        );
        assert!(!o.in_memory && o.dynamodb_endpoint.is_none());
        assert_eq!(o.params["WebOrigin"], "http://127.0.0.1:3001");
        assert!(!o.params.contains_key("AuthorizerCacheTtlSeconds"));
        assert_eq!(o.web_base().as_deref(), Some("http://127.0.0.1:3001"));
        assert_eq!(o.api_base(), "http://127.0.0.1:3000");
    }

    #[test]
    fn the_web_origin_follows_the_web_page_unless_given() {
        let o = run(&["--web-port", "4001"]).unwrap();
        assert_eq!(o.params["WebOrigin"], "http://127.0.0.1:4001");
        for off in [&["--web-port", "0"][..], &["--no-web"][..]] {
            let o = run(off).unwrap();
            assert_eq!(o.web_port, None);
            assert_eq!(o.params["WebOrigin"], "http://localhost:3000");
        }
        let o = run(&[
            "--web-origin",
            "http://localhost:5173",
            "--web-dir",
            "/srv/web",
        ])
        .unwrap();
        assert_eq!(o.params["WebOrigin"], "http://localhost:5173");
        assert_eq!(
            (o.web_port, o.web_dir),
            (Some(3001), Some(PathBuf::from("/srv/web")))
        );
        assert!(run(&["--web-port", "http"]).is_err());
    }

    #[test]
    fn flags_with_and_without_equals() {
        let o = run(&[
            "--port=4000",
            "--in-memory",
            "--dynamodb-port",
            "8123",
            "--authorizer-cache-ttl",
            "0",
            "--param",
            "EnableDemoApi=false",
        ])
        .unwrap();
        assert_eq!((o.port, o.dynamodb_port, o.in_memory), (4000, 8123, true));
        assert_eq!(o.params["AuthorizerCacheTtlSeconds"], "0");
        assert_eq!(o.params["EnableDemoApi"], "false");
        let o = run(&[
            "--config",
            "/srv/permissions.json",
            "--client-template",
            "a.yaml",
            "--client-template=b.yaml",
            "--client-port",
            "4100",
        ])
        .unwrap();
        assert_eq!(o.config, Some(PathBuf::from("/srv/permissions.json")));
        assert_eq!(
            o.client_apis(),
            [
                (PathBuf::from("a.yaml"), 4100),
                (PathBuf::from("b.yaml"), 4101)
            ]
        );
        assert_eq!(o.client_base(4101), "http://127.0.0.1:4101");
        assert!(run(&["--client-port", "0"]).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(run(&["--port", "0"]).is_err());
        assert!(run(&["--port"]).is_err());
        assert!(run(&["--nope"]).is_err());
        assert!(run(&[
            "--in-memory",
            "--dynamodb-endpoint",
            "http://127.0.0.1:8000"
        ])
        .is_err());
        assert!(run(&["--authorizer-cache-ttl", "soon"]).is_err());
        assert_eq!(run(&["--help"]).unwrap_err(), "help");
    }

    #[test]
    fn the_dynamodb_subcommand_has_its_own_flags() {
        let parse = |args: &[&str]| parse(args.iter().map(|s| s.to_string()));
        assert_eq!(
            parse(&["dynamodb", "--port=8123", "--in-memory"]).unwrap(),
            Parsed::DynamoDb(DynamoDbOptions {
                port: Some(8123),
                in_memory: true,
                db_path: None
            })
        );
        assert!(parse(&["dynamodb", "--in-memory", "--db-path", "/tmp/x"]).is_err());
        assert!(parse(&["dynamodb", "--table-name", "x"]).is_err());
        assert_eq!(parse(&["dynamodb", "-h"]).unwrap(), Parsed::Help);
    }
}
