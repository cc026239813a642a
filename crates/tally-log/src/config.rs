//! Configuration: limits and group-commit sizing, each with a documented default.

use crate::checkpoint::CheckpointPolicy;

/// Limits on what one append may carry. Defaults are documented on each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Payload bytes of one event. Default 1 MiB.
    pub event_bytes_max: usize,
    /// Events in one append request. Default 4096.
    pub append_events_max: usize,
    /// Total payload bytes in one append request. Default 16 MiB.
    pub append_bytes_max: usize,
    /// Bytes of a stream id. Default 200 (the format allows 255).
    pub stream_id_bytes_max: usize,
    /// Bytes of an event type name. Default 100.
    pub event_type_bytes_max: usize,
    /// Bytes of the source and of the actor. Default 200.
    pub text_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            event_bytes_max: 1 << 20,
            append_events_max: 4096,
            append_bytes_max: 16 << 20,
            stream_id_bytes_max: 200,
            event_type_bytes_max: 100,
            text_bytes_max: 200,
        }
    }
}

/// How the log is opened and how its writer groups commits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signed checkpoints; `None` = the log cuts none (proofs and roots still work).
    pub checkpoints: Option<CheckpointPolicy>,
    /// Limits on appends.
    pub limits: Limits,
    /// Most events the writer puts in one fjall batch (one fdatasync). Default 8192.
    pub batch_events_max: usize,
    /// Most payload bytes in one fjall batch. Default 32 MiB.
    pub batch_bytes_max: usize,
    /// Append requests that may wait for the writer. Default 4096.
    pub append_queue_depth_max: usize,
    /// Frames at the tail that opening re-verifies against the head. Default 4096.
    pub recovery_tail_frames: u64,
    /// fjall block cache. Default 64 MiB.
    pub cache_bytes: u64,
    /// In-memory write buffer (memtable) of the log's frames; its four index keyspaces get a
    /// quarter of it each. A full one is sealed and flushed in the background; fjall holds
    /// writes while a keyspace has four sealed ones waiting, so the log's memtables never
    /// exceed 10 × this (as fjall counts bytes; a memtable's nodes weigh more). Default
    /// 64 MiB, fjall's own: 16 MiB saved 11 % of resident memory at 300 k events and left the
    /// log 60 % larger on disk when measured (`asofbench --log-memtable-mib`,
    /// benches/RESULTS.md).
    pub memtable_bytes: u64,
    /// Test-only injected storage faults (feature `fault-injection`). Default: none.
    #[cfg(feature = "fault-injection")]
    pub faults: crate::FaultInjector,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            checkpoints: None,
            limits: Limits::default(),
            batch_events_max: 8192,
            batch_bytes_max: 32 << 20,
            append_queue_depth_max: 4096,
            recovery_tail_frames: 4096,
            cache_bytes: 64 << 20,
            memtable_bytes: 64 << 20,
            #[cfg(feature = "fault-injection")]
            faults: crate::FaultInjector::default(),
        }
    }
}

/// Format maxima the limits may not exceed.
pub(crate) const TEXT_FORMAT_MAX: usize = u8::MAX as usize;
pub(crate) const PAYLOAD_FORMAT_MAX: usize = u32::MAX as usize;
