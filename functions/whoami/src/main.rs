#![forbid(unsafe_code)]

use lambda_http::{run, service_fn, Error};
use patgate::api::ResponseHeaders;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    // Token callers are scripts, not the web UI: no CORS origin.
    let headers = ResponseHeaders::new(None);
    let headers = &headers;
    run(service_fn(move |request| async move {
        Ok::<_, Error>(whoami::handle(headers, &request))
    }))
    .await
}
