#![forbid(unsafe_code)]

use lambda_http::{run, service_fn, Error};
use patgate::directory::Directory;
use patgate::service::TokenService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let directory = Directory::new(TokenService::from_env().await?);
    run(service_fn(|request| async {
        Ok::<_, Error>(admin::handle(&directory, request, chrono::Utc::now()).await)
    }))
    .await
}
