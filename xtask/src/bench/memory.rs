//! Lambda's prices and CPU share, and the rule that picks each function's memory size.

/// us-east-1 list prices: Lambda arm64 per GB-second and per request, HTTP API per request.
pub(crate) const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;

pub(crate) const LAMBDA_PER_MILLION: f64 = 0.20;

pub(crate) const HTTP_API_PER_MILLION: f64 = 1.00;

/// Lambda gives a function one full vCPU at 1769 MB and a proportional share below.
pub(crate) const FULL_VCPU_MB: f64 = 1769.0;

/// Memory sizes considered, up to one full vCPU (the functions are single-threaded, more buys nothing).
pub(crate) const MEMORY_SIZES: [u64; 5] = [128, 256, 512, 1024, 1769];

/// The figures of the full-core size (1769 MB), if it was measured.
pub(crate) fn full_core(sizes: &[super::AtSize]) -> Option<&super::AtSize> {
    sizes.iter().find(|s| s.memory_mb == FULL_VCPU_MB as u64)
}

/// The size whose measured figures (`sizes`, each run under its own CPU share) are good enough
/// for the least money: the smallest whose warm p50 is within 10% (or 1 ms, if more) of the full
/// core's, whose cold total p50 meets the cold budget (`hashing` functions are exempt: argon2 at
/// OWASP cost cannot), where the overhead and init budgets hold, and that holds twice the peak
/// RSS. Compute is billed at ~$0.017 per GB-hour while every request also pays $1.20 per million
/// to Lambda and the HTTP API, so buying latency is cheap; beyond what the CPU needs it buys
/// nothing.
///
/// The size already `configured` stays unless the run clears that line by a quarter of the slack
/// either way: sizes near it would otherwise flip from one run to the next on a noisy machine and
/// churn the deploy configuration.
pub(crate) fn recommend_memory(
    sizes: &[super::AtSize],
    peak_rss_mb: f64,
    configured: u64,
    cold_budget_ms: Option<f64>,
) -> u64 {
    let full_core = full_core(sizes);
    let full = full_core.map_or(f64::MAX, |s| s.warm_p50_ms);
    let slack = (full * 0.10).max(1.0);
    // A small share throttles the tail before the median: at 256 MB get-me kept its p50 within
    // 0.4 ms of a full core's while its p99 went from 1.3 to 15.7 ms.
    let full_p99 = full_core.map_or(f64::MAX, |s| s.warm_p99_ms);
    // `margin` scales the line: 1.25 keeps a size that is nearly good enough, 0.75 asks a
    // smaller size to be clearly good enough (for the cold budget, never looser than itself).
    let fits = |s: &super::AtSize, margin: f64| {
        s.warm_p50_ms - full <= slack * margin
            && s.warm_p99_ms <= full_p99 * 2.0 + 1.0
            && cold_budget_ms.is_none_or(|b| s.cold_total_p50_ms <= b * margin.min(1.0))
            && peak_rss_mb * 2.0 <= s.memory_mb as f64
            // The other budgets hold at the size chosen, measured there.
            && s
                .overhead_p50
                .is_none_or(|o| o <= super::OVERHEAD_BUDGET * margin.min(1.0))
            && s.init_p50_ms <= s.floor_init_p50_ms + super::INIT_OVER_FLOOR_BUDGET_MS
    };
    let smallest = |margin: f64| {
        sizes
            .iter()
            .filter(|s| fits(s, margin))
            .map(|s| s.memory_mb)
            .min()
    };
    match sizes.iter().find(|s| s.memory_mb == configured) {
        // Still good enough: move down only to a size that is clearly good enough too.
        Some(s) if fits(s, 1.25) => smallest(0.75).map_or(configured, |m| m.min(configured)),
        _ => smallest(1.0).unwrap_or(FULL_VCPU_MB as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::{super::AtSize, recommend_memory};

    const COLD: Option<f64> = Some(super::super::COLD_BUDGET_MS);

    /// Sizes 128..1769 MB with these warm p50s and cold totals (ms).
    fn sizes(p50: [f64; 5], cold: [f64; 5]) -> Vec<AtSize> {
        super::MEMORY_SIZES
            .iter()
            .zip(p50.iter().zip(cold))
            .map(|(m, (p, c))| AtSize {
                memory_mb: *m,
                warm_p50_ms: *p,
                cold_total_p50_ms: c,
                ..AtSize::default()
            })
            .collect()
    }

    const QUICK_COLD: [f64; 5] = [20.0, 12.0, 8.0, 7.0, 6.0];

    #[test]
    fn memory_is_the_smallest_size_within_the_slack_of_a_full_core() {
        // Waiting-bound: 128 MB is as fast as a full core (within 1 ms).
        let s = sizes([5.6, 5.2, 5.1, 5.0, 5.0], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 6.0, 1024, COLD), 128);
        // CPU-bound: only 1024 MB stays within 1 ms of the full core's 1.0 ms.
        let s = sizes([9.0, 4.5, 2.3, 1.4, 1.0], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 6.0, 128, COLD), 1024);
        // Argon2: only a full core is within 10% of itself.
        let s = sizes(
            [560.0, 280.0, 140.0, 70.0, 40.0],
            [600.0, 300.0, 150.0, 80.0, 45.0],
        );
        assert_eq!(recommend_memory(&s, 25.0, 512, None), 1769);
        // Peak RSS needs twice its size.
        let s = sizes([5.0; 5], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 100.0, 128, COLD), 256);
    }

    #[test]
    fn the_cold_budget_rules_out_sizes_whose_cold_start_is_too_slow() {
        // Warm p50 is fine everywhere, but the handshake at 128 and 256 MB's share is not.
        let s = sizes([5.0; 5], [90.0, 45.0, 20.0, 10.0, 6.0]);
        assert_eq!(recommend_memory(&s, 6.0, 1024, COLD), 512);
        // A password-hashing function is exempt from it.
        assert_eq!(recommend_memory(&s, 6.0, 1024, None), 128);
    }

    #[test]
    fn a_size_whose_tail_is_throttled_is_not_chosen() {
        // The p50 is fine at 256 MB, but its p99 is many times the full core's.
        let mut s = sizes([1.2, 1.2, 1.0, 0.9, 0.9], QUICK_COLD);
        for (z, p99) in s.iter_mut().zip([20.0, 15.7, 2.0, 1.4, 1.3]) {
            z.warm_p99_ms = p99;
        }
        assert_eq!(recommend_memory(&s, 6.0, 1024, COLD), 512);
    }

    #[test]
    fn a_measurement_near_the_line_keeps_the_configured_size() {
        // 512 MB is 1.05 ms over the full core's 1 ms p50: just over the slack, within 1.25x.
        let s = sizes([4.0, 3.0, 2.05, 1.5, 1.0], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 6.0, 512, COLD), 512);
        assert_eq!(recommend_memory(&s, 6.0, 1024, COLD), 1024);
    }

    #[test]
    fn a_clear_measurement_moves_the_configured_size() {
        // 512 MB is 2 ms over: far out; move up.
        let s = sizes([6.0, 4.0, 3.0, 1.2, 1.0], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 6.0, 512, COLD), 1024);
        // 512 MB is 0.2 ms over: well within; move down.
        let s = sizes([6.0, 4.0, 1.2, 1.1, 1.0], QUICK_COLD);
        assert_eq!(recommend_memory(&s, 6.0, 1024, COLD), 512);
        // A size outside the list is replaced by the rule's own pick.
        assert_eq!(recommend_memory(&s, 6.0, 700, COLD), 512);
    }
}
