//! Where time stamps come from.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use graph_core::Timestamp;

/// A source of time stamps for `created_at` and `updated_at`.
///
/// Injectable so tests are deterministic: two stores given equal
/// [`ManualClock`]s and the same operations hold identical records.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock, in microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Timestamp(micros)
    }
}

/// A clock that advances by a fixed step each time it is read.
#[derive(Debug)]
pub struct ManualClock {
    next: AtomicI64,
    step: i64,
}

impl ManualClock {
    /// A clock whose first reading is `start`, advancing by `step` per read.
    pub fn new(start: i64, step: i64) -> Self {
        ManualClock {
            next: AtomicI64::new(start),
            step,
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.next.fetch_add(self.step, Ordering::Relaxed))
    }
}
