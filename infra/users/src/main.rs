use patgate::store::{connect, TokenStore};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match patgate_users::parse_args(&args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("{err}\n{}", patgate_users::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let Ok(table) = std::env::var("TABLE_NAME") else {
        eprintln!("set TABLE_NAME to the patgate table (the stack's TokensTableName output)");
        return std::process::ExitCode::from(2);
    };
    let store = TokenStore::new(connect().await, table);
    match patgate_users::execute(&store, command).await {
        Ok(message) => {
            println!("{message}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            std::process::ExitCode::FAILURE
        }
    }
}
