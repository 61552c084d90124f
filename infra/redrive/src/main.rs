#![forbid(unsafe_code)]

use patgate::events::eventbridge::EventBridgeSink;
use patgate_redrive::{parse_args, redrive, EventsHandler, USAGE};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("{err}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let Ok(bus) = std::env::var("EVENT_BUS_NAME") else {
        eprintln!("set EVENT_BUS_NAME to the stack's EventBusName parameter (default: default)");
        return std::process::ExitCode::from(2);
    };
    let config = patgate::sdk_config::load().await;
    // An endpoint of its own (AWS_ENDPOINT_URL_S3, a local S3) takes path-style addresses.
    let local = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(local)
            .build(),
    );
    let target = EventsHandler {
        sink: EventBridgeSink::from_env(bus).await,
    };
    match redrive(&s3, &target, &options).await {
        Ok(report) => {
            println!("{}", report.summary());
            if report.left.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("{err}");
            std::process::ExitCode::FAILURE
        }
    }
}
