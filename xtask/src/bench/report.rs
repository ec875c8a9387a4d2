//! The report: per-function figures, the markdown and JSON written to docs/, and the latency chart.

use super::*;

/// Cold starts at one size: p50s of init, first request and their per-start sum.
#[derive(Serialize, Default, Clone)]
pub(crate) struct Cold {
    pub(crate) init_p50: f64,
    pub(crate) first_p50: f64,
    pub(crate) total_p50: f64,
    pub(crate) total_p99: f64,
    /// The floor's init, started alternately with the function.
    pub(crate) floor_p50: f64,
}

impl Cold {
    /// From each start's init and first request (their per-start sum is its cold total).
    pub(crate) fn of(inits: Vec<f64>, firsts: Vec<f64>, floors: Vec<f64>) -> Cold {
        let totals = sorted(inits.iter().zip(&firsts).map(|(i, f)| i + f).collect());
        Cold {
            floor_p50: percentile(&sorted(floors), 0.5),
            init_p50: percentile(&sorted(inits), 0.5),
            first_p50: percentile(&sorted(firsts), 0.5),
            total_p50: percentile(&totals, 0.5),
            total_p99: percentile(&totals, 0.99),
        }
    }
}

/// One warm run.
#[derive(Clone)]
pub(crate) struct Warm {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    /// CPU time per request (all threads), from the kernel's scheduler statistics.
    pub(crate) cpu_ms: f64,
    pub(crate) rss: f64,
    /// The twins and the same calls from this process.
    pub(crate) bare_p50: Option<f64>,
    pub(crate) account_twin_p50: Option<f64>,
    pub(crate) sdk_p50: Option<f64>,
}

/// A function at one memory size, under that size's CPU share.
#[derive(Serialize, Default, Clone)]
pub(crate) struct AtSize {
    pub(crate) memory_mb: u64,
    pub(crate) warm_p50_ms: f64,
    pub(crate) warm_p99_ms: f64,
    pub(crate) cpu_ms_per_request: f64,
    pub(crate) init_p50_ms: f64,
    pub(crate) floor_init_p50_ms: f64,
    pub(crate) first_request_p50_ms: f64,
    pub(crate) cold_total_p50_ms: f64,
    pub(crate) peak_rss_mb: f64,
    pub(crate) cost_per_million_usd: f64,
    pub(crate) cold_total_p99_ms: f64,
    /// Both connection modes.
    pub(crate) lazy: Cold,
    pub(crate) at_init: Cold,
    /// The twins at this size, and warm p50 over the one making the required calls, minus one.
    pub(crate) bare_p50_ms: Option<f64>,
    pub(crate) account_twin_p50_ms: Option<f64>,
    pub(crate) overhead_p50: Option<f64>,
    pub(crate) sdk_p50_ms: Option<f64>,
}

impl AtSize {
    /// `lazy` and `at_init`: the cold starts in each connection mode; the headline cold figures
    /// are the mode's the code keeps.
    pub(crate) fn of(memory_mb: u64, w: &Warm, lazy: Cold, at_init: Cold) -> AtSize {
        let c = if shop::config::CONNECT_AT_INIT_DEFAULT {
            &at_init
        } else {
            &lazy
        };
        AtSize {
            cold_total_p99_ms: c.total_p99,
            bare_p50_ms: w.bare_p50,
            account_twin_p50_ms: w.account_twin_p50,
            overhead_p50: w.account_twin_p50.or(w.bare_p50).map(|b| w.p50 / b - 1.0),
            sdk_p50_ms: w.sdk_p50,
            memory_mb,
            warm_p50_ms: w.p50,
            warm_p99_ms: w.p99,
            cpu_ms_per_request: w.cpu_ms,
            init_p50_ms: c.init_p50,
            floor_init_p50_ms: c.floor_p50,
            first_request_p50_ms: c.first_p50,
            cold_total_p50_ms: c.total_p50,
            peak_rss_mb: w.rss,
            cost_per_million_usd: cost_per_million(memory_mb, w.p50),
            // Last: `c` borrows one of them.
            lazy,
            at_init,
        }
    }
}

/// What a million warm requests cost at `memory_mb` taking `p50` ms each (Lambda bills whole ms).
pub(crate) fn cost_per_million(memory_mb: u64, p50: f64) -> f64 {
    1e6 * (p50.ceil().max(1.0) / 1000.0) * (memory_mb as f64 / 1024.0) * LAMBDA_GB_SECOND
        + LAMBDA_PER_MILLION
        + HTTP_API_PER_MILLION
}

#[derive(Serialize, Default, Clone)]
pub(crate) struct FunctionReport {
    pub(crate) function: String,
    /// Its route, or what else invokes it.
    pub(crate) trigger: String,
    /// The size chosen from this run (`recommend_memory`); every figure below is at it.
    pub(crate) memory_mb: u64,
    /// The size configured before this run.
    pub(crate) configured_memory_mb: u64,
    /// The do-nothing Lambda's init at the same CPU share.
    pub(crate) floor_init_ms: f64,
    /// Cold starts in the connection mode the code keeps.
    pub(crate) init_ms_median: f64,
    pub(crate) first_request_ms: f64,
    pub(crate) cold_total_ms: f64,
    pub(crate) cold_total_p99_ms: f64,
    /// Both connection modes.
    pub(crate) lazy: Cold,
    pub(crate) at_init: Cold,
    pub(crate) warm_p50_ms: f64,
    pub(crate) warm_p99_ms: f64,
    pub(crate) invocations: usize,
    pub(crate) cpu_ms_per_request: f64,
    /// The bare twin (the endpoint's own SDK calls as a minimal Lambda) and the twin that also
    /// makes the account lookup the way the endpoint does.
    pub(crate) bare_p50_ms: Option<f64>,
    pub(crate) account_twin_p50_ms: Option<f64>,
    /// Warm p50 over the twin making the required calls (with the account lookup where the
    /// endpoint needs one), minus one: the overhead budget.
    pub(crate) overhead_p50: Option<f64>,
    /// The same SDK call(s) made directly from the benchmark process.
    pub(crate) sdk_p50_ms: Option<f64>,
    pub(crate) peak_rss_mb: f64,
    pub(crate) zip_bytes: Option<u64>,
    pub(crate) recommended_memory_mb: u64,
    pub(crate) cost_per_million_usd: f64,
    /// 1769 MB: one full core.
    pub(crate) full_core: AtSize,
    pub(crate) sizes: Vec<AtSize>,
}

#[derive(Serialize)]
pub(crate) struct Report {
    pub(crate) generated_at: String,
    pub(crate) machine: String,
    pub(crate) zip_target: String,
    /// The do-nothing Lambda's init p50 at each memory size's CPU share (median over the functions'
    /// runs, where it alternates with their cold starts).
    pub(crate) floor_init_ms: BTreeMap<u64, f64>,
    pub(crate) functions: Vec<FunctionReport>,
    pub(crate) checkout_throughput: Vec<Value>,
    /// The order alone and the order with the caller's account, in every shape DynamoDB offers.
    pub(crate) second_read: Vec<Value>,
    pub(crate) budgets: Vec<Value>,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// Sizes of `target/lambda/<function>/bootstrap.zip`, built by `make bench` before this runs.
pub(crate) fn zip_sizes(root: &std::path::Path) -> (String, BTreeMap<String, u64>) {
    let target = std::env::var("BENCH_ZIP_TARGET").unwrap_or_else(|_| "unknown".into());
    let mut sizes = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(root.join("target/lambda")) {
        for e in entries.flatten() {
            if let Ok(m) = std::fs::metadata(e.path().join("bootstrap.zip")) {
                sizes.insert(e.file_name().to_string_lossy().to_string(), m.len());
            }
        }
    }
    (target, sizes)
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!(
        "{} x {} ({})",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        std::env::consts::ARCH
    )
}

pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    for section in [
        summary,
        connection_modes,
        memory_sizes,
        throughput,
        second_read,
        budgets,
    ] {
        section(&mut s, r);
    }
    s.push_str("\n![latency](benchmark-latency.svg)\n");
    s
}

/// How it was measured, and every function at its chosen memory.
fn summary(s: &mut String, r: &Report) {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.2} ms")).unwrap_or("—".into());
    s.push_str(&format!(
        "# Benchmark\n\nGenerated by `make bench` on {} ({}). Every function of the manifest is a release build (with `bench-tls`) running under a local Lambda Runtime API **in a cgroup whose CPU quota is its memory's share of one core** (memory / 1769 MB, Lambda's rule; 20 ms period), against DynamoDB Local **behind a TLS terminator** (a throwaway CA, a root / intermediate / leaf chain like DynamoDB's), so every cold start pays a real TLS handshake. Durations are what Lambda bills: event handed out to response received. moto (EventBridge, SES) and localstripe stay plain HTTP.\n\n",
        r.generated_at, r.machine
    ));
    s.push_str("**Cold total** = init (process start to its first poll of the Runtime API) + first request, summed per start, p50 of 20 fresh processes. **Floor** = the same init of `bench-floor`, a Lambda that does nothing but poll (the exec floor of this machine at that share), started alternately with each of the function's cold starts. **Twin** = a minimal Lambda making only the DynamoDB call(s) the endpoint needs, the account lookup included where the endpoint must check the caller (revocation, role), invoked alternately with the function under the same share; overhead = warm p50 over the twin's. \"full core\" is the 1769 MB run.\n\n");
    s.push_str("| function | trigger | memory (was) | floor | init p50 | first request | **cold total p50** | cold total, full core | warm p50 / p99 | warm p50, full core | twin p50 | overhead | CPU / request | peak RSS | zip | $ / 1M |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for f in &r.functions {
        s.push_str(&format!(
            "| `{}` | {} | {} MB ({}) | {:.2} ms | {:.2} ms | {:.2} ms | **{:.2} ms** | {:.2} ms | {:.2} / {:.2} ms | {:.2} ms | {} | {} | {:.3} ms | {:.1} MB | {} | {:.4} |\n",
            f.function,
            f.trigger,
            f.memory_mb,
            f.configured_memory_mb,
            f.floor_init_ms,
            f.init_ms_median,
            f.first_request_ms,
            f.cold_total_ms,
            f.full_core.cold_total_p50_ms,
            f.warm_p50_ms,
            f.warm_p99_ms,
            f.full_core.warm_p50_ms,
            opt(f.account_twin_p50_ms.or(f.bare_p50_ms)),
            f.overhead_p50.map(|v| format!("{:+.1}%", v * 100.0)).unwrap_or("—".into()),
            f.cpu_ms_per_request,
            f.peak_rss_mb,
            f.zip_bytes.map(|z| format!("{:.2} MB", z as f64 / 1e6)).unwrap_or("—".into()),
            f.cost_per_million_usd
        ));
    }
    s.push_str(&format!(
        "\nZips: `cargo lambda build --release --output-format zip` for {}. Floor init per size: {}.\n\n",
        r.zip_target,
        r.floor_init_ms
            .iter()
            .map(|(m, v)| format!("{m} MB {v:.2} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

/// Cold starts connecting lazily and at init.
fn connection_modes(s: &mut String, r: &Report) {
    s.push_str("## Connecting at init or on the first request\n\nAt each function's chosen memory: the DynamoDB connection (TCP + TLS) opened lazily by the first request, or during init by one cheap read (`CONNECT_AT_INIT=true`). The code keeps the mode with the lower cold totals (`shop::config::CONNECT_AT_INIT_DEFAULT`, a budget below).\n\n| function | lazy: init / first / **total** | at init: init / first / **total** |\n|---|---:|---:|\n");
    for f in &r.functions {
        s.push_str(&format!(
            "| `{}` | {:.2} / {:.2} / **{:.2} ms** | {:.2} / {:.2} / **{:.2} ms** |\n",
            f.function,
            f.lazy.init_p50,
            f.lazy.first_p50,
            f.lazy.total_p50,
            f.at_init.init_p50,
            f.at_init.first_p50,
            f.at_init.total_p50
        ));
    }
}

/// Every size measured, and the one chosen.
fn memory_sizes(s: &mut String, r: &Report) {
    s.push_str("\n## Memory sizes\n\nEvery size measured under its own CPU share: warm p50, cold total p50, and the cost of a million warm requests (Lambda arm64 $0.0000133334 per GB-second at 1 ms granularity + $0.20 per million requests, plus the HTTP API's $1.00 per million; DynamoDB request units are extra and the same at any size). The chosen size (**bold**; every figure in the first table is at it, and the budgets are checked there) is the smallest whose warm p50 stays within 10% (or 1 ms) of the full core's, whose cold total meets the budget (password-hashing functions excepted), where the overhead and init budgets hold, and that holds twice the peak RSS; the configured size stays unless a run clears that line by a quarter of the slack either way, so noise near it does not churn the configuration. `scripts/sync-memory.py` writes the choice, with these figures, into the manifest.\n\n| function |");
    for m in MEMORY_SIZES {
        s.push_str(&format!(" {m} MB: p50 / cold / $ per 1M |"));
    }
    s.push_str(" chosen |\n|---|");
    for _ in MEMORY_SIZES {
        s.push_str("---:|");
    }
    s.push_str("---:|\n");
    for f in &r.functions {
        s.push_str(&format!("| `{}` |", f.function));
        for z in &f.sizes {
            let cell = format!(
                "{:.2} / {:.1} ms / {:.3}",
                z.warm_p50_ms, z.cold_total_p50_ms, z.cost_per_million_usd
            );
            if z.memory_mb == f.recommended_memory_mb {
                s.push_str(&format!(" **{cell}** |"));
            } else {
                s.push_str(&format!(" {cell} |"));
            }
        }
        s.push_str(&format!(" {} MB |\n", f.recommended_memory_mb));
    }
}

/// Concurrent checkouts of one product.
fn throughput(s: &mut String, r: &Report) {
    s.push_str("\n## Checkout throughput (no oversell)\n\n| concurrency | attempts | orders | 409 | stock left | oversold | orders/s |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for t in &r.checkout_throughput {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} |\n",
            t["concurrency"],
            t["attempts"],
            t["orders"],
            t["refused_409"],
            t["stock_left"],
            t["oversold"],
            t["orders_per_second"].as_f64().unwrap_or(0.0)
        ));
    }
}

/// What a second item read costs.
fn second_read(s: &mut String, r: &Report) {
    s.push_str("\n## What a second item read costs on DynamoDB Local\n\nThe same reads made directly from the benchmark process, interleaved (p50 of 2,000 rounds after 200 to warm up): get-order's own read, then that read plus the caller's account in each shape DynamoDB offers. The cheapest shape is the floor under the overhead of an endpoint whose own data is one item but that must also check that the token was not revoked.\n\n| reads | p50 | over one GetItem |\n|---|---:|---:|\n");
    for r in &r.second_read {
        s.push_str(&format!(
            "| {} | {:.3} ms | {:+.1}% |\n",
            r["reads"].as_str().unwrap_or(""),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["over_one_get_item"].as_f64().unwrap_or(0.0) * 100.0
        ));
    }
}

/// Every budget and whether it holds.
fn budgets(s: &mut String, r: &Report) {
    s.push_str("\n## Budgets\n\n");
    for b in &r.budgets {
        s.push_str(&format!(
            "- {} {}: {}\n",
            if b["ok"] == true { "✅" } else { "❌" },
            b["budget"].as_str().unwrap_or(""),
            b["value"]
        ));
    }
}

/// Two panels per function at its chosen memory: warm p50 / p99, and cold total (init +
/// first request) beside the 30 ms budget line.
pub(crate) fn svg(fns: &[FunctionReport]) -> String {
    let (row, left, width, gap) = (22.0, 190.0, 330.0, 70.0);
    let warm_max = fns.iter().map(|f| f.warm_p99_ms).fold(1.0, f64::max);
    // Scaled to the budgeted functions; the password hashers' longer bars are cut (value shown).
    let cold_max = fns
        .iter()
        .filter(|f| !super::HASHING.contains(&f.function.as_str()))
        .map(|f| f.cold_total_ms)
        .fold(super::COLD_BUDGET_MS * 1.2, f64::max);
    let right = left + width + gap;
    let height = 50.0 + row * fns.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        right + width + 80.0
    );
    s.push_str(&format!("<text x=\"10\" y=\"18\" font-weight=\"bold\">At each function's memory and CPU share: warm p50 (dark) / p99 (light), ms</text>\n<text x=\"{right}\" y=\"36\" font-weight=\"bold\">cold total p50 (init + first request, TLS), ms</text>\n"));
    let budget_x = right + width * super::COLD_BUDGET_MS / cold_max;
    s.push_str(&format!(
        "<line x1=\"{budget_x:.1}\" y1=\"40\" x2=\"{budget_x:.1}\" y2=\"{height}\" stroke=\"#b00\" stroke-dasharray=\"4 3\"/>\n"
    ));
    for (i, f) in fns.iter().enumerate() {
        let y = 42.0 + row * i as f64;
        let w99 = width * f.warm_p99_ms / warm_max;
        let w50 = width * f.warm_p50_ms / warm_max;
        let wc = (width * f.cold_total_ms / cold_max).min(width);
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y + 14.0,
            f.function
        ));
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{}\" width=\"{w99:.1}\" height=\"16\" fill=\"#e0a96d\"/>\n<rect x=\"{left}\" y=\"{}\" width=\"{w50:.1}\" height=\"16\" fill=\"#8a4b22\"/>\n",
            y + 2.0,
            y + 2.0
        ));
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{:.1} / {:.1}</text>\n",
            left + w99 + 6.0,
            y + 14.0,
            f.warm_p50_ms,
            f.warm_p99_ms
        ));
        s.push_str(&format!(
            "<rect x=\"{right}\" y=\"{}\" width=\"{wc:.1}\" height=\"16\" fill=\"#3b6ea5\"/>\n<text x=\"{}\" y=\"{}\">{:.1}</text>\n",
            y + 2.0,
            right + wc + 6.0,
            y + 14.0,
            f.cold_total_ms
        ));
    }
    s.push_str("</svg>\n");
    s
}
