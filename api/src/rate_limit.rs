//! Per-API-key rate limiting: a token bucket per key (`RATE_LIMIT_PER_SECOND` refill,
//! `RATE_LIMIT_BURST` capacity), with `RateLimit-*` headers on every public response and
//! `Retry-After` on 429. Buckets live in each API process: N replicas allow N times the rate.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use uuid::Uuid;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Uuid, (f64, Instant)>>,
}

#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Seconds until the next request would be allowed (when refused).
    pub retry_after: u64,
}

impl Decision {
    /// A refusal as the contract's 429 (with `Retry-After`).
    pub fn into_result(self) -> Result<(), domain::Error> {
        if self.allowed {
            Ok(())
        } else {
            Err(domain::Error::RateLimited {
                retry_after_secs: self.retry_after,
            })
        }
    }
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: per_second as f64,
            burst: burst as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: per_minute as f64 / 60.0,
            burst: burst as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: Uuid) -> Decision {
        self.take(key, 1)
    }

    /// Takes `cost` tokens at once (a batch counts each of its messages); refused whole when the
    /// bucket holds fewer. A cost above the burst is refused with the wait for a full bucket.
    pub fn take(&self, key: Uuid, cost: u32) -> Decision {
        let cost = (cost.max(1) as f64).min(self.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() > 100_000 {
            // Idle buckets are full anyway; dropping them loses nothing.
            let idle = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, t)| now.duration_since(*t) < idle);
        }
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        let allowed = *tokens >= cost;
        if allowed {
            *tokens -= cost;
        }
        Decision {
            allowed,
            limit: self.burst as u32,
            remaining: tokens.floor() as u32,
            reset: ((self.burst - *tokens) / self.per_second).ceil() as u64,
            retry_after: if allowed {
                0
            } else {
                ((cost - *tokens) / self.per_second).ceil().max(1.0) as u64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_retry_time() {
        let r = RateLimiter::new(1, 3);
        let k = Uuid::now_v7();
        let d: Vec<_> = (0..4).map(|_| r.check(k)).collect();
        assert!(d[..3].iter().all(|d| d.allowed));
        assert_eq!(d[2].remaining, 0);
        assert!(!d[3].allowed);
        assert_eq!(d[3].retry_after, 1);
        assert!(
            r.check(Uuid::now_v7()).allowed,
            "keys have their own buckets"
        );
    }

    #[test]
    fn a_batch_counts_each_of_its_messages() {
        let r = RateLimiter::new(10, 100);
        let k = Uuid::now_v7();
        assert!(r.take(k, 60).allowed);
        let d = r.take(k, 60);
        assert!(!d.allowed, "40 left, 60 asked");
        assert_eq!(d.retry_after, 2);
        assert!(r.take(k, 40).allowed);
    }
}
