//! `egov-fuzz [--seconds N] [target …]`: runs each fuzz target (all by
//! default) for N seconds (60 by default) and prints
//! `fuzz <target> <cases> cases <seconds> s <failures> failures`; a failing
//! input is written to fuzz/regressions/<target>-<n>.hex and the exit code
//! is 1. See the crate's documentation (src/lib.rs).

use egov_fuzz::{Context, Target, fuzz, regressions_dir, to_hex};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = match args.next().and_then(|s| s.parse().ok()) {
                Some(n) => n,
                None => return usage("--seconds takes a number"),
            };
        } else if let Some(target) = Target::parse(&arg) {
            targets.push(target);
        } else {
            return usage(&format!("no target {arg:?}"));
        }
    }
    if targets.is_empty() {
        targets = Target::ALL.to_vec();
    }
    let context = Context::new();
    let mut failed = false;
    for target in targets {
        let started = Instant::now();
        let run = fuzz(&context, target, Duration::from_secs(seconds));
        let failures = usize::from(run.failure.is_some());
        println!(
            "fuzz {} {} cases {:.0} s {failures} failures",
            target.name(),
            run.cases,
            started.elapsed().as_secs_f64()
        );
        if let Some((input, why)) = run.failure {
            failed = true;
            let path = (1..)
                .map(|n| regressions_dir().join(format!("{}-{n}.hex", target.name())))
                .find(|p| !p.exists())
                .expect("a free name");
            if let Err(e) = std::fs::write(&path, to_hex(&input)) {
                eprintln!("could not keep the input in {}: {e}", path.display());
            }
            eprintln!(
                "fuzz {}: {why}\n  input ({} bytes) kept in {}: a regression test now replays it",
                target.name(),
                input.len(),
                path.display()
            );
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "{problem}\nusage: egov-fuzz [--seconds N] [{}]",
        Target::ALL.map(Target::name).join(" | ")
    );
    ExitCode::from(2)
}
