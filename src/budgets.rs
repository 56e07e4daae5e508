//! Per-caller budgets: calls per minute and rows per minute, keyed by a caller's name (an
//! MCP token id; a partner-listener principal, which is charged no rows).
//!
//! Each caller has two token buckets that refill continuously. A request takes one call from
//! the first before it runs; the rows an answer returns are charged to the second after it is
//! built, since only then is the count known, and may take the bucket below zero: the next
//! request waits until it is positive again. (A rate-limiter crate such as `governor` checks
//! capacity before the fact and cannot charge an amount after it, which is what the row budget
//! needs; the arithmetic here is a few lines.) A refusal says how long to wait, which the HTTP
//! layer sends as `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Budgets of every caller seen since start.
#[derive(Debug, Clone)]
pub struct Budgets {
    calls_per_minute: f64,
    rows_per_minute: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    calls: f64,
    rows: f64,
    at: Instant,
}

/// Why a request must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// Too many calls.
    Calls(Duration),
    /// Too many rows returned.
    Rows(Duration),
}

impl Exhausted {
    /// How long to wait.
    pub fn retry_after(self) -> Duration {
        match self {
            Self::Calls(d) | Self::Rows(d) => d,
        }
    }

    /// What ran out, for the message.
    pub fn what(self) -> &'static str {
        match self {
            Self::Calls(_) => "calls",
            Self::Rows(_) => "rows returned",
        }
    }
}

impl Budgets {
    /// Budgets of `calls_per_minute` and `rows_per_minute` for each token.
    pub fn new(calls_per_minute: u32, rows_per_minute: u32) -> Self {
        Self {
            calls_per_minute: f64::from(calls_per_minute.max(1)),
            rows_per_minute: f64::from(rows_per_minute.max(1)),
            buckets: Arc::default(),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let minutes = now.duration_since(bucket.at).as_secs_f64() / 60.0;
        bucket.calls = (bucket.calls + minutes * self.calls_per_minute).min(self.calls_per_minute);
        bucket.rows = (bucket.rows + minutes * self.rows_per_minute).min(self.rows_per_minute);
        bucket.at = now;
    }

    fn wait(missing: f64, per_minute: f64) -> Duration {
        Duration::from_secs_f64((missing / per_minute * 60.0).max(0.001))
            .max(Duration::from_secs(1))
    }

    /// Takes one call from `token`'s budget, or says how long to wait.
    pub fn take_call(&self, token: &str) -> Result<(), Exhausted> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(token.to_owned()).or_insert(Bucket {
            calls: self.calls_per_minute,
            rows: self.rows_per_minute,
            at: now,
        });
        self.refill(bucket, now);
        if bucket.rows < 0.0 {
            return Err(Exhausted::Rows(Self::wait(
                -bucket.rows,
                self.rows_per_minute,
            )));
        }
        if bucket.calls < 1.0 {
            return Err(Exhausted::Calls(Self::wait(
                1.0 - bucket.calls,
                self.calls_per_minute,
            )));
        }
        bucket.calls -= 1.0;
        Ok(())
    }

    /// Charges `rows` returned to `token`'s budget (it may go below zero).
    pub fn charge_rows(&self, token: &str, rows: u64) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(token) {
            self.refill(bucket, now);
            #[allow(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
            let rows = rows as f64;
            bucket.rows -= rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_run_out_and_other_tokens_are_unaffected() {
        let budgets = Budgets::new(3, 1000);
        for _ in 0..3 {
            assert_eq!(budgets.take_call("a"), Ok(()));
        }
        let refused = budgets.take_call("a").unwrap_err();
        assert!(matches!(refused, Exhausted::Calls(_)));
        assert!(refused.retry_after() >= Duration::from_secs(1));
        assert_eq!(budgets.take_call("b"), Ok(()));
    }

    #[test]
    fn rows_are_charged_after_the_fact() {
        let budgets = Budgets::new(100, 50);
        assert_eq!(budgets.take_call("a"), Ok(()));
        budgets.charge_rows("a", 80);
        let refused = budgets.take_call("a").unwrap_err();
        assert!(matches!(refused, Exhausted::Rows(_)));
        // 30 rows in debt at 50 a minute: about 36 s.
        assert!(refused.retry_after() >= Duration::from_secs(30));
    }
}
