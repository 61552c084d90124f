#![forbid(unsafe_code)]

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    run(service_fn(|request| async move {
        Ok::<_, Error>(demo_echo::handle(&request))
    }))
    .await
}
