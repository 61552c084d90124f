use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|request| async move {
        Ok::<_, Error>(demo_echo::handle(&request))
    }))
    .await
}
