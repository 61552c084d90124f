//! What the stack prints when it starts: the development-only banner, then what runs
//! where, the routes, the demo users and a few commands to try.

use std::path::Path;

use crate::cli::Options;
use crate::demo::demo_users;
use crate::gateway::Gateway;
use crate::sam::AuthorizerDef;
use crate::table::TableOutcome;
use crate::web::WebSite;

pub fn print_banner(options: &Options) {
    println!("==============================================================================");
    println!(" patgate-local: DEVELOPMENT ONLY - never expose it, never use real data.");
    println!(" POST /local/session hands a session for any demo user to anyone who asks;");
    println!(" it exists only in this binary, not in the functions template.yaml deploys.");
    println!("==============================================================================");
    if !options.host.is_loopback() {
        println!(
            "WARNING: listening on {}, not a loopback address: anyone who can reach it gets a session for any demo user.",
            options.host
        );
    }
}

pub fn print_summary(
    options: &Options,
    template_path: &Path,
    dynamo: &str,
    table: TableOutcome,
    gateway: &Gateway,
    web: Option<&WebSite>,
) {
    let api = gateway.api();
    let table_note = match table {
        TableOutcome::Created => "created from template.yaml",
        TableOutcome::Existing => "already there",
    };
    println!("API:         {}", options.api_base());
    match (options.web_base(), web) {
        (Some(base), Some(site)) if site.is_built() => {
            println!("Web page:    {base} (from {})", site.dir().display())
        }
        (Some(base), Some(site)) => println!(
            "Web page:    {base} ({} is not built: npm ci && npm run build in infra/web)",
            site.dir().display()
        ),
        _ => println!("Web page:    off"),
    }
    println!(
        "Template:    {} (API {}, stage {})",
        template_path.display(),
        api.api_logical_id,
        api.stage
    );
    let config = options
        .config
        .clone()
        .unwrap_or_else(|| crate::repo_root().join(crate::stack::DEMO_CONFIG));
    println!("Permissions: {}", config.display());
    println!("DynamoDB:    {dynamo}");
    println!(
        "Table:       {} ({table_note}; TTL attribute {})",
        options.table_name,
        api.table
            .as_ref()
            .and_then(|t| t.ttl_attribute())
            .unwrap_or("none")
    );
    println!(
        "CORS origin: {}",
        api.cors
            .as_ref()
            .map(|c| c.allow_origin.as_str())
            .unwrap_or("(none)")
    );
    println!();
    print_routes(options, gateway);
    println!();
    print_demo_users();
    println!();
    print_try_it(&options.api_base());
}

fn print_routes(options: &Options, gateway: &Gateway) {
    let api = gateway.api();
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
    let row = |method: &str, path: &str, by: &str, what: &str| {
        println!("  {method:<7} {path:<28} {by:<13} {what}");
    };
    row(
        "POST",
        "/local/session",
        "patgate-local",
        "development only: session for a demo user",
    );
    if options.dev_clock_control {
        row(
            "GET/PUT",
            "/local/clock",
            "patgate-local",
            "development only: shift the functions' clock",
        );
    }
    if api.cors.is_some() {
        row("OPTIONS", "(every path above)", "gateway", "CORS preflight");
    }
}

fn print_demo_users() {
    println!("Demo users (seeded):");
    for user in demo_users() {
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
}

fn print_try_it(base: &str) {
    let expires_on = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    println!("Try it (needs curl and jq):");
    println!("  S=$(curl -s -X POST {base}/local/session -d '{{\"userId\":\"demo-viewer\"}}' | jq -r .session)");
    println!(
        "  T=$(curl -s -X POST {base}/tokens -H \"Authorization: $S\" -d '{{\"name\":\"try-it\",\"expiresOn\":\"{expires_on}\"}}' | jq -r .token)"
    );
    println!("  curl -i {base}/catalog -H \"Authorization: Bearer $T\"            # 200, echoes who you are");
    println!("  curl -i -X POST {base}/catalog -H \"Authorization: Bearer $T\"    # 403, a Viewer cannot write");
    println!();
}
