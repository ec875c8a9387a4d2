//! `make bench`: measures what Lambda bills for every function and checks the budgets.
//!
//! For each function binary (release build): init time (process start until its first poll of the
//! runtime API, SDK clients built; median of 20 starts), first-request latency, warm p50/p99 against
//! DynamoDB Local next to the bare SDK call(s) the endpoint needs (made by a minimal Lambda through
//! the same Runtime API, and from this process), peak RSS, and a cost line. Plus the
//! release zip sizes, checkout throughput at concurrency 1/8/32 with no oversell, and what reading a
//! second item costs on DynamoDB Local in each shape (the floor under the account lookup). Writes
//! docs/benchmark.md, docs/benchmark.json and docs/benchmark-latency.svg; exits 1 when a budget is missed.

mod fixture;
mod memory;
mod probes;
mod process;
mod report;
mod runtime;
mod twins;
use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{
    KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use fixture::*;
use memory::*;
use probes::*;
use process::*;
use report::*;
use runtime::RuntimeApi;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop::{App, config::Config, types::Role};
use shop_tests::{dynamodb, env_for, free_port, repo_root, s3};
use twins::*;
pub use twins::{bare_lambda_requested, run_bare_lambda};

const INIT_BUDGET_MS: f64 = 5.0;

const ZIP_BUDGET_BYTES: u64 = 2_500_000;

const OVERHEAD_BUDGET: f64 = 0.10;

const INIT_STARTS: usize = 20;

/// `cargo xtask bench`
pub fn run() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    let warm: usize = std::env::var("BENCH_WARM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let argon_warm = 20usize;
    let root = repo_root();
    // BENCH_BIN_DIR: profile other builds of the functions (e.g. with symbols) under the same load.
    let bin_dir = std::env::var_os("BENCH_BIN_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/release"));
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let meta = &manifest["workspace"]["metadata"];
    let mut routes: Vec<(String, String, String, u64)> = Vec::new();
    for (path, rs) in meta["lambda"]["watch"]["router"].as_table().unwrap() {
        for r in rs.as_array().unwrap() {
            let f = r["function"].as_str().unwrap().to_string();
            let mem = meta["shop"]["functions"][&f]["memory"]
                .as_integer()
                .unwrap() as u64;
            routes.push((
                f,
                r["method"].as_str().unwrap().to_string(),
                path.clone(),
                mem,
            ));
        }
    }
    routes.sort();
    let unmeasured: Vec<String> = routes
        .iter()
        .filter(|r| fixture::WITHOUT_FIXTURE.contains(&r.0.as_str()))
        .map(|r| r.0.clone())
        .collect();
    if !unmeasured.is_empty() {
        eprintln!(
            "bench: not measured yet (no fixture): {}",
            unmeasured.join(", ")
        );
    }
    routes.retain(|r| !unmeasured.contains(&r.0));
    // BENCH_ONLY=get-me,login: a quick look at a few functions (the report then covers only those).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        routes.retain(|r| only.split(',').any(|f| f == r.0));
    }

    let db_port = free_port();
    let mut db = dynamodb::spawn(db_port, None);
    let mut env: BTreeMap<String, String> =
        env_for("bench", &format!("http://127.0.0.1:{db_port}"))
            .into_iter()
            .collect();
    env.insert("S3_ENDPOINT".into(), s3::endpoint());
    env.insert("IMAGES_BUCKET".into(), s3::IMAGES_BUCKET.into());
    let app = App::leaked(Config::from_lookup(|k| env.get(k).cloned()).unwrap());
    shop::create_tables(&app.dynamo, &app.config.tables)
        .await
        .unwrap();
    let fx = fixture(app, warm).await;

    let zips = zip_sizes(&root);
    let self_exe = std::env::current_exe().unwrap();
    let mut reports = Vec::new();
    for (function, method, path, memory) in &routes {
        let bin = bin_dir.join(function);
        let runtime = RuntimeApi::start().await;
        let mut inits = Vec::new();
        for _ in 0..INIT_STARTS {
            runtime.reset();
            let started = Instant::now();
            let mut child = spawn_function(&bin, &env, &runtime, *memory);
            let polled = runtime.first_poll().await;
            inits.push(ms(polled - started));
            child.kill().ok();
            child.wait().ok();
        }
        runtime.reset();
        let mut child = spawn_function(&bin, &env, &runtime, *memory);
        let n = if matches!(function.as_str(), "login" | "register") {
            argon_warm
        } else {
            warm
        };
        let first = runtime
            .invoke(serde_json::to_vec(&event_for(function, path, &fx, 0)).unwrap())
            .await;
        assert!(
            !first.error && status_of(&first.body) < 400,
            "{function}: {}",
            String::from_utf8_lossy(&first.body)
        );
        // The twins: the same SDK calls (with and without the account lookup) as minimal Lambdas,
        // each on its own Runtime API.
        let mut twins = Vec::new();
        for twin in [Twin::Bare, Twin::WithAccount] {
            if twin.calls(function, app, &fx, 0).is_none() {
                continue;
            }
            let twin_runtime = RuntimeApi::start().await;
            let spec = root.join(format!("target/bench/twin-{twin:?}.json"));
            std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
            std::fs::write(&spec, serde_json::to_vec(&(function, &fx, twin)).unwrap()).unwrap();
            let mut twin_env = env.clone();
            twin_env.insert(BARE_ENV.into(), spec.display().to_string());
            let process = spawn_function(&self_exe, &twin_env, &twin_runtime, *memory);
            twin_runtime.first_poll().await;
            // Connection set-up, like the function's first request (call 0).
            let first = twin_runtime
                .invoke(serde_json::to_vec(&event_for(function, path, &fx, 0)).unwrap())
                .await;
            assert!(
                !first.error,
                "{function} {twin:?}: {}",
                String::from_utf8_lossy(&first.body)
            );
            twins.push((twin, twin_runtime, process, ms(first.duration), Vec::new()));
        }
        let bare = twins.iter().any(|t| t.0 == Twin::Bare);
        if bare {
            // And the bare call(s) from this process, for the Runtime API's share.
            baseline(function, app, &fx, 0).unwrap().await;
        }
        // The function's requests and the twins' alternate, so all meet DynamoDB Local in the
        // same state (its JIT keeps warming up during a run).
        let (mut durations, mut sdk) = (Vec::new(), Vec::new());
        let cpu_before = cpu_ns(child.id());
        for i in 1..=n {
            let out = runtime
                .invoke(serde_json::to_vec(&event_for(function, path, &fx, i)).unwrap())
                .await;
            assert!(
                !out.error && status_of(&out.body) < 400,
                "{function} #{i}: {}",
                String::from_utf8_lossy(&out.body)
            );
            durations.push(ms(out.duration));
            for (twin, twin_runtime, _, _, took) in &mut twins {
                // Same event size as the function's, so both pay the same to receive it.
                let b = twin_runtime
                    .invoke(serde_json::to_vec(&event_for(function, path, &fx, i)).unwrap())
                    .await;
                assert!(!b.error, "{function} {twin:?} #{i}");
                took.push(ms(b.duration));
            }
            if bare {
                let started = Instant::now();
                baseline(function, app, &fx, i).unwrap().await;
                sdk.push(ms(started.elapsed()));
            }
        }
        let cpu_ms = (cpu_ns(child.id()) - cpu_before) as f64 / 1e6 / n as f64;
        let rss = peak_rss_mb(child.id());
        child.kill().ok();
        child.wait().ok();
        let mut twin_stats = BTreeMap::new();
        for (twin, _, mut process, first, took) in twins {
            process.kill().ok();
            process.wait().ok();
            let took = sorted(took);
            twin_stats.insert(
                format!("{twin:?}"),
                (first, percentile(&took, 0.5), percentile(&took, 0.99)),
            );
        }
        let bare = twin_stats.get("Bare").copied();
        let account_twin_p50 = twin_stats.get("WithAccount").map(|t| t.1);

        let (warm_sorted, sdk_sorted, init_sorted) =
            (sorted(durations), sorted(sdk), sorted(inits));
        let p50 = percentile(&warm_sorted, 0.5);
        let bare_p50 = bare.map(|t| t.1);
        let sdk_p50 = (!sdk_sorted.is_empty()).then(|| percentile(&sdk_sorted, 0.5));
        let at_memory = p50_at(*memory, p50, cpu_ms);
        let billed_ms = at_memory.ceil().max(1.0);
        let r = FunctionReport {
            function: function.clone(),
            route: format!("{method} {path}"),
            memory_mb: *memory,
            init_ms_median: percentile(&init_sorted, 0.5),
            first_request_ms: ms(first.duration),
            warm_p50_ms: p50,
            warm_p99_ms: percentile(&warm_sorted, 0.99),
            invocations: n,
            bare_first_request_ms: bare.map(|t| t.0),
            bare_p50_ms: bare_p50,
            bare_p99_ms: bare.map(|t| t.2),
            overhead_p50: bare_p50.map(|b| p50 / b - 1.0),
            sdk_p50_ms: sdk_p50,
            sdk_p99_ms: (!sdk_sorted.is_empty()).then(|| percentile(&sdk_sorted, 0.99)),
            overhead_vs_sdk_p50: sdk_p50.map(|b| p50 / b - 1.0),
            account_twin_p50_ms: account_twin_p50,
            overhead_over_account_twin_p50: account_twin_p50.map(|b| p50 / b - 1.0),
            peak_rss_mb: rss,
            zip_bytes: zips.1.get(function).copied(),
            cpu_ms_per_request: cpu_ms,
            p50_at_memory_ms: at_memory,
            recommended_memory_mb: recommend_memory(p50, cpu_ms, rss, *memory),
            cost_per_million_usd: 1e6
                * (billed_ms / 1000.0)
                * (*memory as f64 / 1024.0)
                * LAMBDA_GB_SECOND
                + LAMBDA_PER_MILLION
                + HTTP_API_PER_MILLION,
        };
        eprintln!(
            "{:<20} init {:>6.2} ms  first {:>7.2} ms  p50 {:>6.2} ms  p99 {:>6.2} ms  bare p50 {:>6}  sdk p50 {:>6}  rss {:>5.1} MB  cpu {:.3} ms  memory {} MB (measured: {} MB)",
            r.function,
            r.init_ms_median,
            r.first_request_ms,
            r.warm_p50_ms,
            r.warm_p99_ms,
            r.bare_p50_ms
                .map(|v| format!("{v:.2}"))
                .unwrap_or("-".into()),
            r.sdk_p50_ms
                .map(|v| format!("{v:.2}"))
                .unwrap_or("-".into()),
            r.peak_rss_mb,
            r.cpu_ms_per_request,
            r.memory_mb,
            r.recommended_memory_mb
        );
        reports.push(r);
    }

    let throughput = checkout_throughput(app, &fx).await;
    let second_read = second_read(app, &fx).await;
    let login_p50 = reports
        .iter()
        .find(|r| r.function == "login")
        .map(|r| r.p50_at_memory_ms)
        .unwrap_or(0.0);

    let mut budgets = Vec::new();
    for r in &reports {
        budgets.push(json!({"budget": format!("{} init <= {INIT_BUDGET_MS} ms", r.function), "value": r.init_ms_median, "ok": r.init_ms_median <= INIT_BUDGET_MS}));
        if let Some(z) = r.zip_bytes {
            budgets.push(json!({"budget": format!("{} zip <= 2.5 MB", r.function), "value": z, "ok": z <= ZIP_BUDGET_BYTES}));
        }
        if let Some(o) = r.overhead_p50 {
            budgets.push(json!({"budget": format!("{} warm overhead <= 10% at p50", r.function), "value": o, "ok": o <= OVERHEAD_BUDGET}));
        }
    }
    for t in &throughput {
        budgets.push(json!({"budget": format!("no oversell at concurrency {}", t["concurrency"]), "value": t["oversold"], "ok": t["oversold"] == 0}));
    }
    let report = Report {
        generated_at: shop::types::now_rfc3339(),
        machine: machine(),
        zip_target: zips.0,
        functions: reports,
        checkout_throughput: throughput,
        login_p50_at_configured_memory_ms: login_p50,
        second_read,
        budgets,
    };
    // A partial run (BENCH_ONLY) must not replace the committed report.
    let docs = if std::env::var("BENCH_ONLY").is_ok() {
        root.join("target/bench")
    } else {
        root.join("docs")
    };
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("benchmark.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(docs.join("benchmark.md"), markdown(&report)).unwrap();
    std::fs::write(docs.join("benchmark-latency.svg"), svg(&report.functions)).unwrap();
    db.kill().ok();
    db.wait().ok();
    let missed: Vec<&Value> = report.budgets.iter().filter(|b| b["ok"] != true).collect();
    eprintln!(
        "report written to {} ({} budgets, {} missed)",
        docs.join("benchmark.md").display(),
        report.budgets.len(),
        missed.len()
    );
    for m in &missed {
        eprintln!("MISSED: {} (measured {})", m["budget"], m["value"]);
    }
    if !missed.is_empty() {
        std::process::exit(1);
    }
}
