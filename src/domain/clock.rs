//! The emulator's clock: wall time plus an offset tests can advance, handing out unique,
//! increasing microsecond stamps so that `from` cursors are exact.

use std::sync::atomic::{AtomicI64, Ordering};

/// A monotonic, adjustable microsecond clock.
#[derive(Debug, Default)]
pub struct Clock {
    offset_us: AtomicI64,
    last_us: AtomicI64,
}

impl Clock {
    /// Current time in microseconds since the epoch (wall clock plus offset).
    pub fn now_us(&self) -> i64 {
        chrono::Utc::now().timestamp_micros() + self.offset_us.load(Ordering::Relaxed)
    }

    /// A stamp later than every stamp this clock handed out before.
    pub fn unique_us(&self) -> i64 {
        let now = self.now_us();
        let mut last = self.last_us.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_us.compare_exchange_weak(
                last,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Moves the clock forward by `by_us` microseconds.
    pub fn advance(&self, by_us: i64) {
        self.offset_us.fetch_add(by_us, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_stamps_increase() {
        let clock = Clock::default();
        let mut prev = 0;
        for _ in 0..10_000 {
            let t = clock.unique_us();
            assert!(t > prev);
            prev = t;
        }
    }

    #[test]
    fn advance_moves_now() {
        let clock = Clock::default();
        let before = clock.now_us();
        clock.advance(3_600_000_000);
        assert!(clock.now_us() >= before + 3_600_000_000);
    }
}
