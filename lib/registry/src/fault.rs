//! Outages on demand: the registry's current fault mode and what it means
//! for the next request, the same for both registries.
//!
//! The switch is set through the admin API (`egov.registry.v1.RegistryAdmin`)
//! and read in two places: the server's supervisor watches it (`subscribe`)
//! to stop consuming while `down`, and the inbox's fault gate
//! ([`crate::lookup::admit`]) calls `before_request` before
//! answering, which adds the latency of `slow` (the simulated outage itself)
//! and draws the failures of `error` and `flaky` from a seeded generator.

use egov_population::rng::Rng;
use egov_proto::registry as proto;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultMode {
    /// Normal service.
    None,
    /// Stops consuming: asynchronous messages wait in the queue, synchronous
    /// calls expire.
    Down,
    /// Each request is answered `latency` later.
    Slow { latency: Duration },
    /// That share of requests (0..=1) is answered with a technical failure.
    Error { fraction: f64 },
    /// A random mix per request; see [`FLAKY_MIX`].
    Flaky,
}

/// What `flaky` does to each request, drawn independently: out of 100
/// requests about 60 are answered normally, 25 slowed by a uniform
/// 100-2000 ms, 10 answered with a technical failure, and 5 left unanswered
/// as if the registry went down for that one message.
pub const FLAKY_MIX: FlakyMix = FlakyMix {
    normal: 0.60,
    slow: 0.25,
    error: 0.10,
    no_answer: 0.05,
    slow_min: Duration::from_millis(100),
    slow_max: Duration::from_millis(2000),
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlakyMix {
    pub normal: f64,
    pub slow: f64,
    pub error: f64,
    pub no_answer: f64,
    pub slow_min: Duration,
    pub slow_max: Duration,
}

/// The longest `slow` latency accepted: beyond it every synchronous call
/// would expire anyway, which is what `down` is for.
pub const MAX_LATENCY: Duration = Duration::from_secs(600);

/// What the handler does with the request in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer normally. `delay` is the latency already added (slept).
    Proceed { delay: Duration },
    /// Answer with a technical failure (`Refusal::registry_failure`).
    Fail,
    /// Do not answer: the registry is down for this request. A synchronous
    /// caller's deadline passes; the consumer should not be taking messages
    /// while `down` at all (see [`FaultSwitch::subscribe`]).
    NoAnswer,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultModeError {
    #[error("the error fraction must be between 0 and 1, got {0}")]
    Fraction(f64),
    #[error("the latency must be at most {}s, got {}ms", MAX_LATENCY.as_secs(), .0.as_millis())]
    Latency(Duration),
    #[error("unknown fault mode {0:?}: use none, down, slow <ms>, error <fraction> or flaky")]
    Unknown(String),
    #[error("{0}")]
    Argument(String),
}

impl FaultMode {
    pub fn validate(self) -> Result<FaultMode, FaultModeError> {
        match self {
            FaultMode::Error { fraction } if !(0.0..=1.0).contains(&fraction) => {
                Err(FaultModeError::Fraction(fraction))
            }
            FaultMode::Slow { latency } if latency > MAX_LATENCY => {
                Err(FaultModeError::Latency(latency))
            }
            mode => Ok(mode),
        }
    }
}

/// The forms `egovctl fault` takes: "none", "down", "slow 250" (ms, "ms"
/// suffix allowed), "error 0.3", "flaky".
impl FromStr for FaultMode {
    type Err = FaultModeError;

    fn from_str(text: &str) -> Result<FaultMode, FaultModeError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mode = match words.as_slice() {
            ["none"] => FaultMode::None,
            ["down"] => FaultMode::Down,
            ["flaky"] => FaultMode::Flaky,
            ["slow", ms] => {
                let ms = ms.strip_suffix("ms").unwrap_or(ms);
                let ms: u64 = ms.parse().map_err(|_| {
                    FaultModeError::Argument(format!("slow takes milliseconds, got {ms:?}"))
                })?;
                FaultMode::Slow {
                    latency: Duration::from_millis(ms),
                }
            }
            ["error", fraction] => FaultMode::Error {
                fraction: fraction.parse().map_err(|_| {
                    FaultModeError::Argument(format!(
                        "error takes a fraction between 0 and 1, got {fraction:?}"
                    ))
                })?,
            },
            _ => return Err(FaultModeError::Unknown(text.to_owned())),
        };
        mode.validate()
    }
}

impl fmt::Display for FaultMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultMode::None => f.write_str("none"),
            FaultMode::Down => f.write_str("down"),
            FaultMode::Slow { latency } => write!(f, "slow {}ms", latency.as_millis()),
            FaultMode::Error { fraction } => write!(f, "error {fraction}"),
            FaultMode::Flaky => f.write_str("flaky"),
        }
    }
}

impl From<FaultMode> for proto::FaultMode {
    fn from(mode: FaultMode) -> proto::FaultMode {
        let (kind, latency_ms, error_fraction) = match mode {
            FaultMode::None => (proto::FaultKind::None, 0, 0.0),
            FaultMode::Down => (proto::FaultKind::Down, 0, 0.0),
            FaultMode::Slow { latency } => (
                proto::FaultKind::Slow,
                u32::try_from(latency.as_millis()).unwrap_or(u32::MAX),
                0.0,
            ),
            FaultMode::Error { fraction } => (proto::FaultKind::Error, 0, fraction),
            FaultMode::Flaky => (proto::FaultKind::Flaky, 0, 0.0),
        };
        proto::FaultMode {
            kind: kind as i32,
            latency_ms,
            error_fraction,
        }
    }
}

impl TryFrom<&proto::FaultMode> for FaultMode {
    type Error = FaultModeError;

    fn try_from(mode: &proto::FaultMode) -> Result<FaultMode, FaultModeError> {
        let mode = match proto::FaultKind::try_from(mode.kind) {
            Ok(proto::FaultKind::None) => FaultMode::None,
            Ok(proto::FaultKind::Down) => FaultMode::Down,
            Ok(proto::FaultKind::Slow) => FaultMode::Slow {
                latency: Duration::from_millis(u64::from(mode.latency_ms)),
            },
            Ok(proto::FaultKind::Error) => FaultMode::Error {
                fraction: mode.error_fraction,
            },
            Ok(proto::FaultKind::Flaky) => FaultMode::Flaky,
            Ok(proto::FaultKind::Unspecified) | Err(_) => {
                return Err(FaultModeError::Unknown(format!("kind {}", mode.kind)));
            }
        };
        mode.validate()
    }
}

/// The registry's current fault mode, shared by its admin API, its inbox
/// consumer and its handlers.
pub struct FaultSwitch {
    system: String,
    /// Holds the mode; receivers are woken on every change so the consumer
    /// can pause on `down` and resume on anything else.
    mode: watch::Sender<FaultMode>,
    since: Mutex<chrono::DateTime<chrono::Utc>>,
    /// Seeded, so a test run's failures repeat.
    rng: Mutex<Rng>,
}

impl FaultSwitch {
    /// A switch in mode `none` for `system` ("individuals" or "notary").
    pub fn new(system: impl Into<String>, seed: u64) -> FaultSwitch {
        FaultSwitch {
            system: system.into(),
            mode: watch::Sender::new(FaultMode::None),
            since: Mutex::new(chrono::Utc::now()),
            rng: Mutex::new(Rng::for_stream(seed, 0xFA17)),
        }
    }

    pub fn set(&self, mode: FaultMode) -> Result<(), FaultModeError> {
        let mode = mode.validate()?;
        *self.since.lock().expect("fault switch lock") = chrono::Utc::now();
        self.mode.send_replace(mode);
        tracing::info!(system = %self.system, mode = %mode, "Fault mode set.");
        Ok(())
    }

    pub fn get(&self) -> FaultMode {
        *self.mode.borrow()
    }

    /// The registry's system name ("individuals" or "notary").
    pub fn system(&self) -> &str {
        &self.system
    }

    /// A receiver that sees every change of mode.
    pub fn subscribe(&self) -> watch::Receiver<FaultMode> {
        self.mode.subscribe()
    }

    /// The admin API's answer: system, mode and since when.
    pub fn state(&self) -> proto::FaultState {
        let since = *self.since.lock().expect("fault switch lock");
        proto::FaultState {
            system: self.system.clone(),
            mode: Some(self.get().into()),
            since: Some(egov_proto::prost_types::Timestamp {
                seconds: since.timestamp(),
                nanos: since.timestamp_subsec_nanos() as i32,
            }),
        }
    }

    /// Applies the current mode to one request: sleeps the latency of `slow`
    /// (and of `flaky`'s slow share), and decides failures and silences.
    pub async fn before_request(&self) -> FaultAction {
        match self.get() {
            FaultMode::None => FaultAction::Proceed {
                delay: Duration::ZERO,
            },
            FaultMode::Down => FaultAction::NoAnswer,
            FaultMode::Slow { latency } => {
                tokio::time::sleep(latency).await;
                FaultAction::Proceed { delay: latency }
            }
            FaultMode::Error { fraction } => {
                if self.draw() < fraction {
                    FaultAction::Fail
                } else {
                    FaultAction::Proceed {
                        delay: Duration::ZERO,
                    }
                }
            }
            FaultMode::Flaky => {
                let roll = self.draw();
                let mix = FLAKY_MIX;
                if roll < mix.normal {
                    FaultAction::Proceed {
                        delay: Duration::ZERO,
                    }
                } else if roll < mix.normal + mix.slow {
                    let delay = self.flaky_latency();
                    tokio::time::sleep(delay).await;
                    FaultAction::Proceed { delay }
                } else if roll < mix.normal + mix.slow + mix.error {
                    FaultAction::Fail
                } else {
                    FaultAction::NoAnswer
                }
            }
        }
    }

    fn draw(&self) -> f64 {
        self.rng.lock().expect("fault switch lock").next_f64()
    }

    fn flaky_latency(&self) -> Duration {
        let (low, high) = (
            FLAKY_MIX.slow_min.as_millis() as u64,
            FLAKY_MIX.slow_max.as_millis() as u64,
        );
        Duration::from_millis(
            self.rng
                .lock()
                .expect("fault switch lock")
                .between(low, high),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(actions: &[FaultAction], wanted: fn(&FaultAction) -> bool) -> usize {
        actions.iter().filter(|a| wanted(a)).count()
    }

    async fn draw_many(switch: &FaultSwitch, n: usize) -> Vec<FaultAction> {
        let mut actions = Vec::with_capacity(n);
        for _ in 0..n {
            actions.push(switch.before_request().await);
        }
        actions
    }

    #[tokio::test]
    async fn none_lets_every_request_through_at_once() {
        let switch = FaultSwitch::new("individuals", 1);
        let actions = draw_many(&switch, 100).await;
        assert!(actions.iter().all(|a| *a
            == FaultAction::Proceed {
                delay: Duration::ZERO
            }));
    }

    #[tokio::test]
    async fn error_fails_about_its_fraction_of_requests() {
        let switch = FaultSwitch::new("individuals", 7);
        switch.set(FaultMode::Error { fraction: 0.3 }).unwrap();
        let actions = draw_many(&switch, 5_000).await;
        let failed = count(&actions, |a| *a == FaultAction::Fail) as f64 / 5_000.0;
        // Binomial(5000, 0.3): the standard deviation is 0.0065; 0.02 is three.
        assert!((failed - 0.3).abs() < 0.02, "failed share {failed}");
        assert_eq!(
            count(&actions, |a| matches!(a, FaultAction::Proceed { .. })),
            5_000 - count(&actions, |a| *a == FaultAction::Fail)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_sleeps_and_returns_its_latency() {
        let switch = FaultSwitch::new("notary", 1);
        switch
            .set(FaultMode::Slow {
                latency: Duration::from_millis(250),
            })
            .unwrap();
        let started = tokio::time::Instant::now();
        let action = switch.before_request().await;
        assert_eq!(
            action,
            FaultAction::Proceed {
                delay: Duration::from_millis(250)
            }
        );
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn down_answers_nothing_and_subscribers_see_the_changes() {
        let switch = FaultSwitch::new("individuals", 1);
        let mut watcher = switch.subscribe();
        switch.set(FaultMode::Down).unwrap();
        watcher.changed().await.unwrap();
        assert_eq!(*watcher.borrow_and_update(), FaultMode::Down);
        assert_eq!(switch.before_request().await, FaultAction::NoAnswer);
        switch.set(FaultMode::None).unwrap();
        watcher.changed().await.unwrap();
        assert_eq!(*watcher.borrow_and_update(), FaultMode::None);
    }

    #[tokio::test(start_paused = true)]
    async fn flaky_mixes_the_outcomes_in_the_documented_shares() {
        let switch = FaultSwitch::new("individuals", 3);
        switch.set(FaultMode::Flaky).unwrap();
        let actions = draw_many(&switch, 4_000).await;
        let share = |wanted: fn(&FaultAction) -> bool| count(&actions, wanted) as f64 / 4_000.0;
        let normal = share(|a| {
            *a == FaultAction::Proceed {
                delay: Duration::ZERO,
            }
        });
        let slow = share(|a| matches!(a, FaultAction::Proceed { delay } if !delay.is_zero()));
        let failed = share(|a| *a == FaultAction::Fail);
        let silent = share(|a| *a == FaultAction::NoAnswer);
        assert!((normal - FLAKY_MIX.normal).abs() < 0.03, "normal {normal}");
        assert!((slow - FLAKY_MIX.slow).abs() < 0.03, "slow {slow}");
        assert!((failed - FLAKY_MIX.error).abs() < 0.02, "failed {failed}");
        assert!(
            (silent - FLAKY_MIX.no_answer).abs() < 0.015,
            "silent {silent}"
        );
        assert!(actions.iter().all(|a| match a {
            FaultAction::Proceed { delay } =>
                delay.is_zero() || (FLAKY_MIX.slow_min..=FLAKY_MIX.slow_max).contains(delay),
            _ => true,
        }));
    }

    #[test]
    fn modes_parse_from_the_command_line_form_and_print_back() {
        for text in ["none", "down", "slow 250ms", "error 0.3", "flaky"] {
            let mode: FaultMode = text.parse().unwrap();
            assert_eq!(mode.to_string(), text);
        }
        assert_eq!(
            "slow 40".parse::<FaultMode>().unwrap(),
            FaultMode::Slow {
                latency: Duration::from_millis(40)
            }
        );
        assert_eq!(
            "error 1.5".parse::<FaultMode>(),
            Err(FaultModeError::Fraction(1.5))
        );
        assert!(matches!(
            "slow fast".parse::<FaultMode>(),
            Err(FaultModeError::Argument(_))
        ));
        assert!(matches!(
            "broken".parse::<FaultMode>(),
            Err(FaultModeError::Unknown(_))
        ));
    }

    #[test]
    fn modes_round_trip_through_the_admin_contract() {
        for mode in [
            FaultMode::None,
            FaultMode::Down,
            FaultMode::Slow {
                latency: Duration::from_millis(1500),
            },
            FaultMode::Error { fraction: 0.25 },
            FaultMode::Flaky,
        ] {
            let wire: proto::FaultMode = mode.into();
            assert_eq!(FaultMode::try_from(&wire).unwrap(), mode);
        }
        let unspecified = proto::FaultMode::default();
        assert!(FaultMode::try_from(&unspecified).is_err());
        let switch = FaultSwitch::new("notary", 1);
        switch.set(FaultMode::Down).unwrap();
        let state = switch.state();
        assert_eq!(state.system, "notary");
        assert_eq!(state.mode.unwrap().kind, proto::FaultKind::Down as i32);
        assert!(state.since.is_some());
    }
}
