//! Engine configuration, with documented defaults.

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The log's configuration (limits, group commit, checkpoints).
    pub log: tally_log::Config,
    /// Submissions that may wait for the writer. Default 8192.
    pub command_queue_depth_max: usize,
    /// Most commands decided per log append. Default 1024.
    pub batch_commands_max: usize,
    /// Most events per log append; a group stops growing past it. Default 16 384.
    pub batch_events_max: usize,
    /// Whether a runner thread keeps the views up to date after each append. Default true.
    /// (Off only to test recovery of views that fell behind.)
    pub run_projections: bool,
    /// How often the timer asks what the passing of time made due (lots past their removal
    /// date, holds past their SLA) and submits it; `None` turns the timer off. Default 60 s.
    pub timer_interval: Option<std::time::Duration>,
    /// Days of submission counters kept (outside the log, `crate::stats`), today included.
    /// Default [`crate::RETENTION_DAYS_DEFAULT`] (90); 1 to [`crate::RETENTION_DAYS_MAX`].
    pub submission_stats_retention_days: u32,
    /// Most closed (delivered or cancelled) orders the decision state holds; the least
    /// recently used beyond it are kept on disk beside the store (`spill/`, emptied at each
    /// open) and loaded back when a command names them (a return, a refund, a re-sent
    /// order). Each takes ~0.5–1 KiB in memory, so the default, 50 000, bounds them at
    /// ~50 MiB whatever the history; 0 keeps none in memory (tests).
    pub closed_orders_resident_max: usize,
    /// The wall clock (ms since the epoch) that dates submission counters and business time
    /// a submission does not give. Default the system clock; tests inject their own.
    pub clock_ms: fn() -> i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let mut log = tally_log::Config::default();
        // The engine appends a whole group of commands at once.
        log.limits.append_events_max = 1 << 16;
        log.limits.append_bytes_max = 256 << 20;
        Self {
            log,
            command_queue_depth_max: 8192,
            batch_commands_max: 1024,
            batch_events_max: 16_384,
            run_projections: true,
            timer_interval: Some(std::time::Duration::from_secs(60)),
            submission_stats_retention_days: crate::stats::RETENTION_DAYS_DEFAULT,
            closed_orders_resident_max: 50_000,
            clock_ms: crate::writer::now_ms,
        }
    }
}
