//! Function processes: started under the benchmark's Runtime API, their CPU time and peak memory.

use super::*;

/// Nanoseconds a process's threads have run on a CPU (/proc/<pid>/task/*/schedstat, first field).
pub(crate) fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// An API Gateway HTTP API (v2) event, as `events/` has them.
pub(crate) fn event(
    method: &str,
    route: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Value {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| ("authorization", b))
        .into_iter()
        .collect();
    headers.extend_from_slice(extra);
    let origin = crate::api_event::Origin {
        host: "api.bench",
        api_id: "bench",
        source_ip: "127.0.0.1",
        user_agent: "bench",
        time: ("22/Nov/2026:10:00:00 +0000", 1_795_341_600_000),
    };
    let call = crate::api_event::Call {
        method,
        route,
        path,
        headers: &headers,
        body: body.as_ref(),
        request_id: &ulid::Ulid::new().to_string(),
    };
    crate::api_event::api_event(&origin, &call)
}

/// Starts `bin` as a Lambda under `runtime` and `share`; returns the process and the instant its
/// exec was released (where init starts).
///
/// A shell joins the cgroup first and waits; once it is blocked and a full quota period has
/// passed (a fresh sandbox starts with its whole share, not what the previous process left), it
/// is told to exec the binary in place. So init is timed from the exec: neither the cgroup
/// migration (a kernel RCU sync of about a millisecond) nor the shell's own start is in it.
pub(crate) async fn spawn_function(
    bin: &std::path::Path,
    env: &BTreeMap<String, String>,
    runtime: &RuntimeApi,
    memory: u64,
    share: &CpuShare,
) -> (Child, Instant) {
    use std::io::Write;
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "read go && exec \"$0\""]).arg(bin);
    share.apply(&mut cmd);
    let mut child = cmd
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", bin.file_name().unwrap())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        // BENCH_LOG_LEVEL=debug: the functions' own logs, to see where a request's time goes.
        .env(
            "LOG_LEVEL",
            std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "error".into()),
        )
        .stdin(Stdio::piped())
        .stdout(if std::env::var_os("BENCH_LOG_LEVEL").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .expect("/bin/sh starts");
    assert!(bin.exists(), "{} exists (run `make bench`)", bin.display());
    tokio::time::sleep(cgroup::PERIOD + Duration::from_millis(5)).await;
    let mut go = child.stdin.take().unwrap();
    let released = Instant::now();
    go.write_all(b"go\n")
        .expect("the launcher waits for its go");
    (child, released)
}

pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub(crate) fn status_of(body: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .unwrap_or(0)
}
