//! The hello-world of `lambda_runtime`, as its documentation writes it: the baseline
//! `infra/scripts/lambda-init-bench.sh` and `infra/scripts/size-matrix.sh` compare every
//! patgate function with. It must stay minimal; a heavier baseline would flatter the
//! functions.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
