//! The coverage map's evidence: a scenario that drove an application down
//! one branch of one diagram, and asserted where it ended, records the walk
//! (`walk <regulation> <diagram> <branch> <test>`) in its own file under
//! `target/tmp/walks/`. `egovctl regulations coverage target/tmp/walks`
//! (run by `make test` after the tests) turns the walks into the elements
//! passed, from the regulation data, prints `coverage <regulation>
//! <diagram> <covered>/<total>` per diagram and fails on an element no
//! test passed.
//!
//! A test records only after its assertions about the outcome held, so a
//! failed scenario covers nothing.

use egov_regulations::{Branch, Channel, Diagram, Registry, Regulation, Walk};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Where the walks go: beside cargo's other test scratch files.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("walks")
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::embedded().expect("the built-in regulations"))
}

/// Every regulation with a diagram of `channel`, and that diagram.
pub fn diagrams_of(channel: Channel) -> Vec<(&'static Regulation, &'static Diagram)> {
    registry()
        .iter()
        .flat_map(|r| {
            r.diagrams
                .iter()
                .filter(move |d| d.channel == channel)
                .map(move |d| (r, d))
        })
        .collect()
}

/// Whether `diagram` has condition `number` with a "no" branch.
pub fn has_branch(diagram: &Diagram, number: u32) -> bool {
    diagram.branches().contains(&Branch::No(number))
}

/// Records that the running test drove an application of `regulation`
/// down `branch` of its diagram `diagram`. Panics where the regulation has
/// no such diagram or branch: a test citing the regulation wrongly.
pub fn record(regulation: &str, diagram: u32, branch: Branch) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .replace("::", ".");
    let walk = Walk {
        regulation: regulation.to_owned(),
        diagram,
        branch,
        test: test.clone(),
    };
    egov_regulations::coverage(registry(), std::slice::from_ref(&walk))
        .unwrap_or_else(|e| panic!("{walk}: {e}"));
    // The first walk of a test in this run replaces what an earlier run left.
    static STARTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = STARTED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(test.clone());
    let dir = dir();
    std::fs::create_dir_all(&dir).expect("the walks' directory");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(!first)
        .truncate(first)
        .open(dir.join(format!("{test}.walks")))
        .expect("the test's walks file");
    writeln!(file, "{walk}").expect("record the walk");
}
