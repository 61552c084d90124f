use patgate::config::Settings;
use patgate::directory::Directory;
use patgate::permissions::PermissionConfig;
use patgate::service::TokenService;
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
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return std::process::ExitCode::from(2);
        }
    };
    // The file the stack's functions read (its layer's /opt/patgate/config.json): the
    // directory's drift follows the same roles.
    let permissions = match PermissionConfig::load(&settings.config_path) {
        Ok(permissions) => permissions,
        Err(err) => {
            eprintln!(
                "{err}\nset PATGATE_CONFIG_PATH to the permission configuration the stack was built with (e.g. infra/config/permissions.json)"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let store = TokenStore::new(connect().await, table);
    let directory = Directory::new(TokenService::new(settings, store, permissions));
    match patgate_users::execute(&directory, command).await {
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
