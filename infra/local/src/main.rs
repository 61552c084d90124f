//! patgate-local: the whole service on one machine, for development only.
//!
//! Starts DynamoDB Local (child process), creates the table from template.yaml, seeds
//! demo users, and serves a local API Gateway whose routes and authorizers come from
//! template.yaml, calling the real handler and authorizer functions in-process. Stops
//! cleanly on Ctrl-C / SIGTERM, DynamoDB Local included. `patgate-local dynamodb`
//! runs DynamoDB Local alone.

use std::process::ExitCode;

use patgate_local::cli::{self, Parsed, USAGE};
use patgate_local::stack;

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match cli::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => stack::run(*options).await,
        Ok(Parsed::DynamoDb(options)) => stack::run_dynamodb(options).await,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("patgate-local: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("patgate-local: error: {err}");
            ExitCode::FAILURE
        }
    }
}
