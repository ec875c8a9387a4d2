//! Lambda's CPU share, for real: each function process runs in a cgroup whose CPU quota is its
//! memory's share of one core (memory / 1769 MB, Lambda's rule), from exec on.

use std::{
    io::Write,
    os::{fd::AsRawFd, unix::process::CommandExt},
    path::PathBuf,
    process::Command,
};

use super::memory::FULL_VCPU_MB;

/// The quota's accounting period. Lambda does not publish its own; 20 ms is short enough that a
/// request of a few milliseconds meets the quota (a longer period lets short bursts run free) and
/// long enough that 128 MB's share (1.45 ms) stays above the kernel's 1 ms minimum.
const PERIOD_US: u64 = 20_000;
pub(crate) const PERIOD: std::time::Duration = std::time::Duration::from_micros(PERIOD_US);

/// One cgroup at one CPU share; removed on drop (its processes must be gone by then).
pub(crate) struct CpuShare {
    dir: Option<PathBuf>,
    /// The cgroup's process list, opened once (close-on-exec): a child writes "0" to it.
    procs: Option<std::fs::File>,
}

/// Where the CPU controller is mounted: cgroup v1's `cpu` hierarchy, or the unified v2 tree.
fn controller() -> Option<(PathBuf, bool)> {
    let v1 = PathBuf::from("/sys/fs/cgroup/cpu");
    if v1.join("cpu.cfs_quota_us").exists() {
        return Some((v1, false));
    }
    let v2 = PathBuf::from("/sys/fs/cgroup");
    std::fs::read_to_string(v2.join("cgroup.controllers"))
        .ok()
        .filter(|c| c.split_whitespace().any(|c| c == "cpu"))
        .map(|_| (v2, true))
}

impl CpuShare {
    /// A cgroup limited to `memory_mb`'s share of one core; at 1769 MB and above, a full core
    /// (no cgroup at all). Panics when the share cannot be set: figures measured without it
    /// would be reported as if they had been.
    pub(crate) fn new(name: &str, memory_mb: u64) -> CpuShare {
        if memory_mb as f64 >= FULL_VCPU_MB {
            return CpuShare {
                dir: None,
                procs: None,
            };
        }
        let (root, v2) = controller().expect(
            "a cgroup CPU controller (the benchmark runs as root to emulate Lambda's CPU share)",
        );
        let dir = root.join(format!(
            "shop-bench-{}-{name}-{memory_mb}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a cgroup of our own");
        let quota = (PERIOD_US as f64 * memory_mb as f64 / FULL_VCPU_MB).round() as u64;
        let set = |file: &str, value: String| {
            std::fs::write(dir.join(file), &value)
                .unwrap_or_else(|e| panic!("{}/{file} = {value}: {e}", dir.display()))
        };
        if v2 {
            set("cpu.max", format!("{quota} {PERIOD_US}"));
        } else {
            set("cpu.cfs_period_us", PERIOD_US.to_string());
            set("cpu.cfs_quota_us", quota.to_string());
            if dir.join("cpu.cfs_burst_us").exists() {
                // No banking of unused quota: Lambda's share does not accumulate either.
                set("cpu.cfs_burst_us", "0".into());
            }
        }
        let procs = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .expect("the cgroup's process list");
        CpuShare {
            dir: Some(dir),
            procs: Some(procs),
        }
    }

    /// Makes `cmd`'s process join this cgroup between fork and exec, so its init runs under the
    /// quota too.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        let Some(procs) = &self.procs else {
            return;
        };
        let fd = procs.as_raw_fd();
        // SAFETY: the closure only makes one async-signal-safe call on an fd that outlives it.
        unsafe {
            cmd.pre_exec(move || {
                // Only async-signal-safe calls between fork and exec.
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            self.procs = None;
            // Processes are reaped by now; a cgroup with none left can be removed.
            for _ in 0..50 {
                if std::fs::remove_dir(&dir).is_ok() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = std::io::stderr().write_all(
                format!("bench: could not remove cgroup {}\n", dir.display()).as_bytes(),
            );
        }
    }
}
