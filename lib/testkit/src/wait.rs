//! Waiting for what a test waits for — a status in a database, a stage in a
//! cabinet — in one place: the condition is asked again on every tick until
//! it holds, and the test fails naming it once `patience` is spent. No test
//! sleeps a fixed time and then asserts.

use std::future::Future;
use std::time::Duration;

/// How often a condition is asked again.
const TICK: Duration = Duration::from_millis(50);

/// Waits until `check` gives `Some`, and returns it; panics naming `what`
/// (and the last thing `check` saw, via `last`) after `patience`.
pub async fn until<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    let mut ticks = tokio::time::interval(TICK);
    loop {
        ticks.tick().await;
        match check().await {
            Ok(done) => return done,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not within {patience:?} (last seen: {last})")
            }
            Err(_) => {}
        }
    }
}
