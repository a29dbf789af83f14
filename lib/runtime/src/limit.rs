//! A token bucket per key (a sender, a client's IP address): `burst`
//! requests at once, then `per_second` on average. The gateway limits each
//! sender's messages with it, the portal and the intake each address's
//! logins (issue 14 point 5).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many keys are remembered; past it, the keys whose bucket
/// has refilled (idle ones) are forgotten, so a flood of addresses cannot
/// grow the map without bound.
const MAX_KEYS: usize = 10_000;

pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// `per_second` must be above zero and `burst` at least 1.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter<K> {
        RateLimiter {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`; when there is none, how long until there is.
    pub fn allow(&self, key: &K) -> Result<(), Duration> {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| refill(b, now, per_second, burst) < burst);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refill(bucket, now, self.per_second, self.burst);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }
}

/// Logins per client address: `per_minute` a minute after a burst of as
/// many; none for 0 (no limit).
pub fn logins_per_minute(per_minute: u32) -> Option<RateLimiter<std::net::IpAddr>> {
    (per_minute > 0).then(|| RateLimiter::new(f64::from(per_minute) / 60.0, per_minute))
}

/// Whether a login from `peer` may be tried now; when not, in how many
/// seconds it may (rounded up).
pub fn check_login(
    limiter: Option<&RateLimiter<std::net::IpAddr>>,
    peer: Option<std::net::SocketAddr>,
) -> Result<(), u64> {
    match (limiter, peer) {
        (Some(limiter), Some(peer)) => limiter
            .allow(&peer.ip())
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64),
        _ => Ok(()),
    }
}

fn refill(bucket: &Bucket, now: Instant, per_second: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_per_key() {
        let limiter = RateLimiter::new(2.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.allow_at(&"portal", start).is_ok());
        }
        let wait = limiter.allow_at(&"portal", start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another key has its own bucket.
        assert!(limiter.allow_at(&"intake", start).is_ok());
        // Half a second later, one more; not two.
        let later = start + Duration::from_millis(500);
        assert!(limiter.allow_at(&"portal", later).is_ok());
        assert!(limiter.allow_at(&"portal", later).is_err());
        // Idle long enough, the whole burst again, never more.
        let idle = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.allow_at(&"portal", idle).is_ok());
        }
        assert!(limiter.allow_at(&"portal", idle).is_err());
    }
}
