//! `patgate-config`: checks permission configuration files and generates route tables
//! from OpenAPI documents (infra/docs/deploying.md, "Permission configuration").
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

use patgate_config::{check, openapi_routes, replace_routes, routes_of};

const USAGE: &str = "\
usage:
  patgate-config check FILE...
      Checks each permission configuration file as the functions read it at cold
      start; every problem names its entry and line. Exit 1 on any problem.
  patgate-config openapi SPEC --api NAME [--into FILE | --check FILE]
      The routes of table NAME from SPEC's operations carrying x-patgate-permission:
      printed as JSON; with --into, written into FILE's table NAME (the rest of the
      file kept) and FILE checked; with --check, exit 1 unless FILE's table NAME
      lists exactly those routes, in that order (for CI).
  patgate-config time FILE... [--runs N]
      The median time to read and check each file as a function's cold start does
      (PermissionConfig::load), over N loads (default 200).";

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new(path)).map_err(|e| format!("{path}: {e}"))
}

fn check_files(files: &[String]) -> Result<(), String> {
    if files.is_empty() {
        return Err(USAGE.to_owned());
    }
    let mut failed = false;
    for file in files {
        let text = read(file)?;
        match check(&text) {
            Ok(config) => {
                let tables: Vec<String> = config
                    .tables()
                    .map(|t| format!("{} ({} routes)", t.name, t.routes().len()))
                    .collect();
                println!(
                    "{file}: OK: {} permissions, APIs {}",
                    config.catalogue().len(),
                    tables.join(", ")
                );
            }
            Err(problems) => {
                failed = true;
                for problem in problems {
                    eprintln!("{file}: {problem}");
                }
            }
        }
    }
    if failed {
        Err("the configuration has problems (above)".to_owned())
    } else {
        Ok(())
    }
}

fn openapi(args: &[String]) -> Result<(), String> {
    let (spec, rest) = args.split_first().ok_or(USAGE)?;
    let mut api = None;
    let mut into = None;
    let mut against = None;
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--api" => api = Some(value.clone()),
            "--into" => into = Some(value.clone()),
            "--check" => against = Some(value.clone()),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let api = api.ok_or(USAGE)?;
    let routes = openapi_routes(&read(spec)?).map_err(|problems| {
        problems
            .iter()
            .map(|p| format!("{spec}: {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    match (into, against) {
        (Some(_), Some(_)) => Err(USAGE.to_owned()),
        (None, None) => {
            let text = serde_json::to_string_pretty(&routes).map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
        (Some(file), None) => {
            let updated = replace_routes(&read(&file)?, &api, &routes)?;
            check(&updated)
                .map_err(|problems| format!("{file} would be invalid:\n{}", problems.join("\n")))?;
            std::fs::write(&file, updated).map_err(|e| format!("{file}: {e}"))?;
            println!(
                "{file}: table {api} now lists the {} routes of {spec}",
                routes.len()
            );
            Ok(())
        }
        (None, Some(file)) => {
            let written = routes_of(&read(&file)?, &api)?;
            if written == routes {
                println!(
                    "{file}: table {api} lists exactly the {} routes of {spec}",
                    routes.len()
                );
                Ok(())
            } else {
                Err(format!(
                    "{file}: table {api} differs from the x-patgate-permission operations of {spec}; \
                     run: patgate-config openapi {spec} --api {api} --into {file}"
                ))
            }
        }
    }
}

fn time(args: &[String]) -> Result<(), String> {
    let mut runs = 200usize;
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--runs" {
            runs = it
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or(USAGE)?;
        } else {
            files.push(arg.clone());
        }
    }
    if files.is_empty() {
        return Err(USAGE.to_owned());
    }
    for file in files {
        let path = Path::new(&file);
        let mut micros = Vec::with_capacity(runs);
        let mut routes = 0;
        for _ in 0..runs {
            let started = std::time::Instant::now();
            let config = patgate::permissions::PermissionConfig::load(path)
                .map_err(|e| format!("{file}: {e}"))?;
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            routes = config.tables().map(|t| t.routes().len()).sum();
        }
        micros.sort_by(f64::total_cmp);
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{file}: load and check p50 {:.0} us, p90 {:.0} us ({bytes} bytes, {routes} routes with the built-in ones, {runs} runs)",
            micros[runs / 2],
            micros[runs * 9 / 10]
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.split_first() {
        Some((command, rest)) if command == "check" => check_files(rest),
        Some((command, rest)) if command == "openapi" => openapi(rest),
        Some((command, rest)) if command == "time" => time(rest),
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
