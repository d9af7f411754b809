//! Per-API-key rate limiting: a token bucket per key (`RATE_LIMIT_PER_SECOND` refill,
//! `RATE_LIMIT_BURST` capacity), with `RateLimit-*` headers on every public response and
//! `Retry-After` on 429. Buckets live in each API process: N replicas allow N times the rate.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

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

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: per_second as f64,
            burst: burst as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: Uuid) -> Decision {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            // Idle buckets are full anyway; dropping them loses nothing.
            let idle = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, t)| now.duration_since(*t) < idle);
        }
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        Decision {
            allowed,
            limit: self.burst as u32,
            remaining: tokens.floor() as u32,
            reset: ((self.burst - *tokens) / self.per_second).ceil() as u64,
            retry_after: if allowed {
                0
            } else {
                ((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64
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
}
