//! What a bench section cost the machine, from the operating system's own
//! accounting (/proc): the CPU time of the bench process (the mesh's systems
//! run in it), of RabbitMQ (`beam.smp`) and of PostgreSQL (every `postgres`
//! process), per operation; and the memory each holds at the end (issue 15
//! point 1). A ratio of CPU costs holds on any machine, where a ratio of
//! rates depends on how many cores the three share.
//!
//! PostgreSQL's backends come and go: a backend that exits during the
//! section is reaped by the postmaster, whose "children" time then holds
//! its whole life, so a process gone by the end is counted by its parent's
//! children time less what it had used before the section began.

use std::collections::HashMap;

/// Linux's USER_HZ: /proc counts CPU time in 1/100 s on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Group {
    Bench,
    Broker,
    Postgres,
}

const GROUPS: [(Group, &str); 3] = [
    (Group::Bench, "bench"),
    (Group::Broker, "broker"),
    (Group::Postgres, "postgres"),
];

/// One process's CPU ticks: its own, and its reaped children's.
#[derive(Clone, Copy)]
struct Ticks {
    group: Group,
    own: u64,
    children: u64,
}

static RECORDED: std::sync::Mutex<Option<HashMap<String, f64>>> = std::sync::Mutex::new(None);

/// The CPU per operation a finished section cost, by its name.
pub fn recorded(name: &str) -> Option<f64> {
    RECORDED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()?
        .get(name)
        .copied()
}

pub struct Meter {
    start: HashMap<u32, Ticks>,
}

impl Meter {
    pub fn start() -> Meter {
        Meter { start: snapshot() }
    }

    /// Prints `bench <name>.cpu_us_per_op`, its split by process group, and
    /// each group's memory now (`bench <name>.rss_mib.<group>`).
    pub fn finish(self, name: &str, operations: usize) {
        let end = snapshot();
        let mut spent: HashMap<Group, f64> = HashMap::new();
        for (pid, now) in &end {
            let before = self.start.get(pid);
            let own = now.own - before.map_or(0, |b| b.own.min(now.own));
            let children = now.children - before.map_or(0, |b| b.children.min(now.children));
            *spent.entry(now.group).or_default() += (own + children) as f64;
        }
        for (pid, before) in &self.start {
            if !end.contains_key(pid) {
                // Its whole life is in its parent's children time now.
                *spent.entry(before.group).or_default() -= before.own as f64;
            }
        }
        let per_op =
            |ticks: f64| ticks.max(0.0) / TICKS_PER_SECOND * 1e6 / operations.max(1) as f64;
        let total: f64 = spent.values().sum();
        crate::line(&format!("{name}.cpu_us_per_op"), per_op(total), "us");
        RECORDED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(name.to_owned(), per_op(total));
        for (group, label) in GROUPS {
            let ticks = spent.get(&group).copied().unwrap_or(0.0);
            crate::line(
                &format!("{name}.cpu_us_per_op.{label}"),
                per_op(ticks),
                "us",
            );
        }
        for (group, label) in GROUPS {
            let kib: u64 = end
                .iter()
                .filter(|(_, t)| t.group == group)
                .map(|(pid, _)| resident_kib(*pid, group))
                .sum();
            crate::line(
                &format!("{name}.rss_mib.{label}"),
                kib as f64 / 1024.0,
                "MiB",
            );
        }
    }
}

fn snapshot() -> HashMap<u32, Ticks> {
    let me = std::process::id();
    let mut all = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let command = &stat[open + 1..close];
        let group = match command {
            _ if pid == me => Group::Bench,
            "beam.smp" => Group::Broker,
            "postgres" => Group::Postgres,
            _ => continue,
        };
        // Fields after the name: state is field 3; utime 14, stime 15,
        // cutime 16, cstime 17 (1-based, as proc(5) numbers them).
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        all.insert(
            pid,
            Ticks {
                group,
                own: field(14) + field(15),
                children: field(16) + field(17),
            },
        );
    }
    all
}

/// The process's memory: its proportional share (Pss) for the broker and
/// PostgreSQL, whose processes share pages (summing their RSS would count
/// PostgreSQL's shared buffers once per backend); resident size for the
/// bench process.
fn resident_kib(pid: u32, group: Group) -> u64 {
    let (file, key) = match group {
        Group::Bench => ("status", "VmRSS:"),
        _ => ("smaps_rollup", "Pss:"),
    };
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
