//! The S3 emulator (npm `s3rver`), started once per test process with the images bucket.

use std::{process::Command, sync::OnceLock, time::Duration};

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

pub const IMAGES_BUCKET: &str = "shop-images";

/// `s3rver` on a free port with data in a temporary folder; returns its endpoint URL.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let port = process_lifetime_service(|| {
                let port = free_port();
                let dir = std::env::temp_dir().join(format!("shop-s3-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                let bin = repo_root().join(".cache/node/node_modules/s3rver/bin/s3rver.js");
                let child = spawn_tied(
                    Command::new("node")
                        .arg(bin)
                        .arg("--directory")
                        .arg(&dir)
                        .args(["--address", "127.0.0.1", "--silent", "--port"])
                        .arg(port.to_string())
                        .args(["--configure-bucket", IMAGES_BUCKET])
                        .stdout(std::process::Stdio::null()),
                )
                .expect("node is installed");
                assert!(
                    wait_for_port(port, Duration::from_secs(30)),
                    "s3rver did not start"
                );
                (port, child)
            });
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}
