//! Command-line options.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
patgate-local: run patgate on this machine (DEVELOPMENT ONLY)

Usage: patgate-local [OPTIONS]

Options:
  --host ADDR                 Address to listen on [default: 127.0.0.1]
  --port PORT                 Port to listen on [default: 3000]
  --in-memory                 Run DynamoDB Local in memory (default: data kept in infra/.local/dynamodb)
  --dynamodb-port PORT        Port for the DynamoDB Local this starts [default: 8000]
  --dynamodb-endpoint URL     Reuse a DynamoDB Local already listening at URL instead of starting one
  --table-name NAME           Table name [default: patgate-local]
  --web-origin ORIGIN         Web UI origin for CORS (parameter WebOrigin) [default: http://localhost:3000]
  --authorizer-cache-ttl SECS Authorizer policy cache TTL (parameter AuthorizerCacheTtlSeconds)
                              [default: the template's default]
  --param NAME=VALUE          Override any template parameter (repeatable)
  --template PATH             template.yaml to serve [default: the repository's]
  --dev-clock-control         Enable GET/PUT /local/clock, which shifts the clock the functions
                              see (for end-to-end tests of expiry)
  --quiet                     Do not log one line per request
  -h, --help                  Print this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub host: IpAddr,
    pub port: u16,
    pub in_memory: bool,
    pub dynamodb_port: u16,
    pub dynamodb_endpoint: Option<String>,
    pub table_name: String,
    pub web_origin: String,
    /// Template parameter overrides, `--authorizer-cache-ttl` and `--web-origin` included.
    pub params: BTreeMap<String, String>,
    pub template: Option<PathBuf>,
    pub dev_clock_control: bool,
    pub quiet: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Options>),
    Help,
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
            web_origin: "http://localhost:3000".to_owned(),
            params: BTreeMap::new(),
            template: None,
            dev_clock_control: false,
            quiet: false,
        }
    }
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut options = Options::default();
    let mut cache_ttl = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--host" => {
                options.host = value("--host")?
                    .parse()
                    .map_err(|_| "--host must be an IP address".to_owned())?
            }
            "--port" => options.port = port(&value("--port")?, "--port")?,
            "--in-memory" => options.in_memory = true,
            "--dynamodb-port" => {
                options.dynamodb_port = port(&value("--dynamodb-port")?, "--dynamodb-port")?
            }
            "--dynamodb-endpoint" => {
                let url = value("--dynamodb-endpoint")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err("--dynamodb-endpoint must be an http(s) URL".to_owned());
                }
                options.dynamodb_endpoint = Some(url);
            }
            "--table-name" => options.table_name = value("--table-name")?,
            "--web-origin" => options.web_origin = value("--web-origin")?,
            "--authorizer-cache-ttl" => {
                let raw = value("--authorizer-cache-ttl")?;
                raw.parse::<u64>().map_err(|_| {
                    "--authorizer-cache-ttl must be a whole number of seconds".to_owned()
                })?;
                cache_ttl = Some(raw);
            }
            "--param" => {
                let raw = value("--param")?;
                let (name, v) = raw.split_once('=').ok_or("--param needs NAME=VALUE")?;
                options.params.insert(name.to_owned(), v.to_owned());
            }
            "--template" => options.template = Some(PathBuf::from(value("--template")?)),
            "--dev-clock-control" => options.dev_clock_control = true,
            "--quiet" => options.quiet = true,
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    if options.in_memory && options.dynamodb_endpoint.is_some() {
        return Err("--in-memory and --dynamodb-endpoint exclude each other".to_owned());
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
        assert_eq!(o.params["WebOrigin"], "http://localhost:3000");
        assert!(!o.params.contains_key("AuthorizerCacheTtlSeconds"));
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
}
