#![forbid(unsafe_code)]

use lambda_http::{run, service_fn, Error};
use patgate::service::TokenService;
use revoke_credentials::LeakReports;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let reports = LeakReports::new(TokenService::from_env().await?);
    run(service_fn(|request| async {
        Ok::<_, Error>(reports.handle(request, chrono::Utc::now()).await)
    }))
    .await
}
