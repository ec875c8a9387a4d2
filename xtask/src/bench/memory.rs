//! Lambda's prices and CPU share, and the rule that picks each function's memory size.

/// us-east-1 list prices: Lambda arm64 per GB-second and per request, HTTP API per request.
pub(crate) const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;

pub(crate) const LAMBDA_PER_MILLION: f64 = 0.20;

pub(crate) const HTTP_API_PER_MILLION: f64 = 1.00;

/// Lambda gives a function one full vCPU at 1769 MB and a proportional share below.
pub(crate) const FULL_VCPU_MB: f64 = 1769.0;

/// Memory sizes considered, up to one full vCPU (the functions are single-threaded, more buys nothing).
pub(crate) const MEMORY_SIZES: [u64; 5] = [128, 256, 512, 1024, 1769];

/// Lambda's CPU share at `memory_mb` is proportional, one vCPU at 1769 MB. Stretching all CPU time
/// by it is the worst case (short bursts may run at full speed); the waiting part is unaffected.
pub(crate) fn p50_at(memory_mb: u64, wall_p50: f64, cpu: f64) -> f64 {
    let cpu = cpu.min(wall_p50);
    wall_p50 - cpu + cpu * (FULL_VCPU_MB / memory_mb as f64).max(1.0)
}

/// The smallest size at which the CPU share adds at most 10% (or 1 ms, if more) to the p50 measured
/// on a full core, with room for twice the peak RSS. Compute is billed at ~$0.017 per GB-hour
/// while every request also pays $1.20 per million to Lambda and the HTTP API, so buying latency
/// is cheap; beyond what the CPU needs it buys nothing.
///
/// The size already `configured` stays unless the measurement clears that line by a quarter of the
/// slack: functions whose stretch sits near it (get-me, get-product, logout) flipped between 512
/// and 1024 MB from one run to the next on this noisy machine, which churned the deploy config.
pub(crate) fn recommend_memory(wall_p50: f64, cpu: f64, peak_rss_mb: f64, configured: u64) -> u64 {
    let slack = (wall_p50 * 0.10).max(1.0);
    let fits = |m: u64, slack: f64| {
        p50_at(m, wall_p50, cpu) - wall_p50 <= slack && peak_rss_mb * 2.0 <= m as f64
    };
    let smallest = |slack: f64| MEMORY_SIZES.into_iter().find(|m| fits(*m, slack));
    if MEMORY_SIZES.contains(&configured) && fits(configured, slack * 1.25) {
        // Still good enough: move down only to a size that is clearly good enough too.
        smallest(slack * 0.75).map_or(configured, |m| m.min(configured))
    } else {
        smallest(slack).unwrap_or(FULL_VCPU_MB as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::recommend_memory;

    #[test]
    fn memory_is_the_smallest_size_whose_cpu_share_stays_within_the_slack() {
        // 0.5 ms of CPU in a 1 ms request: 512 MB adds 1.23 ms (over the 1 ms slack), 1024 MB 0.36 ms.
        assert_eq!(recommend_memory(1.0, 0.5, 6.0, 128), 1024);
        // Waiting-bound: 0.05 ms of CPU is fine even at 128 MB's share (0.64 ms more).
        assert_eq!(recommend_memory(5.0, 0.05, 6.0, 1024), 128);
        // Argon2: CPU is the whole request; even 1024 MB adds 22 ms, far over 10% of 30 ms.
        assert_eq!(recommend_memory(30.0, 30.0, 25.0, 512), 1769);
        // Peak RSS needs twice its size.
        assert_eq!(recommend_memory(5.0, 0.05, 100.0, 128), 256);
    }

    #[test]
    fn a_measurement_near_the_line_keeps_the_configured_size() {
        // 0.45 ms of CPU at 0.87 ms p50: 512 MB adds 1.10 ms, just over the 1 ms slack.
        assert_eq!(recommend_memory(0.87, 0.45, 6.0, 512), 512);
        assert_eq!(recommend_memory(0.87, 0.45, 6.0, 1024), 1024);
        // 0.40 ms: 512 MB adds 0.98 ms, just within it; neither configuration moves.
        assert_eq!(recommend_memory(0.87, 0.40, 6.0, 512), 512);
        assert_eq!(recommend_memory(0.87, 0.40, 6.0, 1024), 1024);
    }

    #[test]
    fn a_clear_measurement_moves_the_configured_size() {
        // 0.7 ms of CPU: 512 MB adds 1.72 ms, far over; move up.
        assert_eq!(recommend_memory(1.0, 0.7, 6.0, 512), 1024);
        // 0.2 ms of CPU: 512 MB adds 0.49 ms, well within; move down.
        assert_eq!(recommend_memory(1.0, 0.2, 6.0, 1024), 512);
        // A size outside the list is replaced by the rule's own pick.
        assert_eq!(recommend_memory(1.0, 0.2, 6.0, 700), 512);
    }
}
