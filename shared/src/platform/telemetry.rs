//! JSON logs, one object per line, which CloudWatch Logs Insights can query field by field.

use tracing::level_filters::LevelFilter;

use super::config::env;

pub fn init() {
    let level = std::env::var(env::LOG_LEVEL)
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    // try_init: tests and tools may call this more than once per process.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}
