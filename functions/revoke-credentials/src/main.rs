#![forbid(unsafe_code)]

use lambda_http::{run, service_fn, Error};
use patgate::service::TokenService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let service = TokenService::from_env().await?;
    run(service_fn(|request| async {
        Ok::<_, Error>(revoke_credentials::handle(&service, request, chrono::Utc::now()).await)
    }))
    .await
}
