//! The regulations of the public services as data: the files in
//! `regulations/`, their loader and validation, and the deadline plan of one
//! application.
//!
//! This crate is responsible for turning each regulation act of the seeds
//! (`../shared/seeds/`) into checked data that the workstation, the portal
//! and the State Corporation's intake run: who does what, in which order, in
//! how long, with which documents, on which grounds a refusal is given, what
//! the result looks like, and which diagram element each system performs. It
//! does not know the calendar's rules (`egov-calendar` does) nor run any flow.
//!
//! # The file format
//!
//! One TOML file per act, `regulations/<code>.toml`, codes `000`, `001`,
//! `002`, `003`, `004-01` … `004-11`. Every step, deadline, document, ground,
//! form, diagram and element carries `source = "seed 003 §5, line 31"`: the
//! seed, the point and the 1-based line of the seed file, so a reader can
//! check the file against the seed line by line.
//!
//! - `code`; `[act]`: `seed_file`, `kind` (`regulation` | `rules`),
//!   `paragraph` (which part of the seed), `source`.
//! - `[names]`: `kk`, `ru`, `en`, and `ru_origin` (`translation`, or the seed
//!   line the Russian name comes from).
//! - `[provider]`: `kk`, optional `ru`, `en`.
//! - `[[channels]]`: `channel` (`portal` | `state_corporation` |
//!   `provider_office`), `intake`, `issues_result`, `deadline` (a duration or
//!   `"not stated"`), `intake_day_counts`, and `[[channels.limits]]` (`what`,
//!   `duration`, optional `code`) for waiting, processing and storage
//!   times, and `[channels.issue]` (`to`, optional `against`, `text_kk`):
//!   on what the channel hands the result over.
//! - `[[steps]]`: the provider's staff procedure in order: `number` (1, 2, 3 …
//!   without gaps), `actor` (a code of [`Actor`]), `actor_kk`, `action`,
//!   `action_kk`, `duration`, `stages` (of [`Stage`]: register, assign,
//!   examine, sign, issue), `result` (what the step produces).
//! - `[[documents]]`: `code`, names, `items` (per channel, the item in the
//!   seed's list), optional `condition`, `via_gateway` and `from_system` for
//!   what the provider obtains through the gateway instead.
//! - `[[refusal_grounds]]`: `code`, names, optional `documents` it concerns;
//!   `[refusal_to_accept]`: who refuses an incomplete package, when, receipt.
//! - `[[results]]`: `code`, `kind` (certificate, decision, resolution, order,
//!   agreement, conclusion, referral, notification, refusal), names, `form`
//!   (a `[[forms]]` code or where the form is), `channels`, `delivery`.
//! - `[[forms]]` with `[[forms.fields]]` (`name`, `type`, labels): the
//!   seed's forms (application, receipts, decision).
//! - `[[diagrams]]`: `number` (mesh numbering: 1 via the State Corporation,
//!   2 via the portal, 3 via the provider), `channel`, names, `seed_label`,
//!   and `[[diagrams.elements]]`: `kind` (prestep, process, condition, step),
//!   `number`, `system` (the performer, a DESIGN.md system id),
//!   `system_stated` (false where the seed does not name it), optional
//!   `actor`, `to` (systems messaged), `on_no` (a condition's failure branch).
//! - `[[complaints]]`: `to` (a code: `provider`, `quality_authority`),
//!   `to_kk`, optional `to_ru`, `to_en`, `term` (a duration), `counted_from`.
//! - `[[notes]]`: `kind` (`silent` | `contradiction` | `choice`), optional
//!   `about` (a field path), `text`, and for a contradiction `readings` and
//!   `mesh_uses`.
//!
//! Where the seed is silent about a required value the file says
//! `"not stated"` and a silent note about that field explains it; the loader
//! refuses one without the other.
//!
//! # Refinements of the agreed format, and why
//!
//! - `stages` on each step: the seeds fold the head's signature into the
//!   specialist's step (seed 004) or split review and signature (seed 003);
//!   the workstation needs to know which step examines, signs and issues
//!   whatever the wording. Exactly one step examines; stages never go back.
//! - `[[results]]` is a list: seed 004 services 3, 7 and 9 have several
//!   results (three certificates; an agreement at the office but a
//!   notification on the portal), and a reasoned refusal is a result too.
//! - `[[forms]]` holds the seed's forms with typed fields (seed 002's
//!   application, refusal receipt and decision; seed 003's acceptance
//!   receipt); a result or the refusal to accept points at a form by code.
//! - `[refusal_to_accept]` is apart from `[[refusal_grounds]]`: refusing an
//!   incomplete package at the counter is not a refusal of the service.
//! - `[[channels.limits]]` keeps the seeds' other times (waiting, courier,
//!   one month of storage) without mixing them with the deadline. A limit
//!   may be calendar months ("1 calendar month": the same date of the next
//!   month, the last day of a shorter one), which only limits allow; a
//!   limit a system runs has a `code` (`unclaimed_storage`,
//!   `unclaimed_resend`).
//! - `[channels.issue]`: the State Corporation hands a result over on the
//!   recipient's identity or to a representative with a notarised power of
//!   attorney, against the receipt (seeds 002, 003, 004).
//! - `[[complaints]]`: seed 002 p.13's terms for examining a complaint.
//! - Diagram elements have `system_stated` (many seeds do not say who forms a
//!   refusal message) and the kinds `prestep` (portal registration before
//!   process 1) and `step` (numbered sequences with no processes: seed 000
//!   §7, seed 003 §9). Diagrams are numbered as DESIGN.md cites them (1 State
//!   Corporation, 2 portal) even where the seed leaves them unnumbered.
//! - Actors `state_corporation_courier` (seed 003 §9 step 5) and
//!   `state_corporation_accumulation_sector` (§9 step 4) join the set;
//!   the legal-entities registry (ЗТ МДБ, seed 004) is not a system: the
//!   files note why.
//!
//! # The deadline plan
//!
//! [`plan`] chains the staff steps on the provider's schedule from the intake
//! time (the first step honours the channel's "day of intake not counted")
//! and counts the channel's deadline from intake on the channel's schedule
//! (portal, State Corporation, provider), using `egov-calendar`.

mod attachments;
mod duration;
mod error;
mod fields;
mod forms;
mod model;
mod plan;
mod validate;
mod walks;

use std::collections::BTreeMap;
use std::path::Path;

pub use attachments::{Attachment, AttachmentLimits, AttachmentProblem, check_attachment};
pub use duration::{
    Period, Span, Unit, add_calendar_months, parse as parse_duration, parse_period,
};
pub use error::LoadError;
pub use fields::check_value;
pub use forms::{FieldType, Form, FormField};
pub use model::*;
pub use plan::{
    DeadlinePlan, PlanError, PlannedStep, actor_schedule, channel_schedule, check_calendar, plan,
};
pub use walks::{Branch, DiagramCoverage, Walk, coverage};

/// The files compiled into the binary, so it works from any directory.
const EMBEDDED: [(&str, &str); 15] = [
    ("000.toml", include_str!("../../../regulations/000.toml")),
    ("001.toml", include_str!("../../../regulations/001.toml")),
    ("002.toml", include_str!("../../../regulations/002.toml")),
    ("003.toml", include_str!("../../../regulations/003.toml")),
    (
        "004-01.toml",
        include_str!("../../../regulations/004-01.toml"),
    ),
    (
        "004-02.toml",
        include_str!("../../../regulations/004-02.toml"),
    ),
    (
        "004-03.toml",
        include_str!("../../../regulations/004-03.toml"),
    ),
    (
        "004-04.toml",
        include_str!("../../../regulations/004-04.toml"),
    ),
    (
        "004-05.toml",
        include_str!("../../../regulations/004-05.toml"),
    ),
    (
        "004-06.toml",
        include_str!("../../../regulations/004-06.toml"),
    ),
    (
        "004-07.toml",
        include_str!("../../../regulations/004-07.toml"),
    ),
    (
        "004-08.toml",
        include_str!("../../../regulations/004-08.toml"),
    ),
    (
        "004-09.toml",
        include_str!("../../../regulations/004-09.toml"),
    ),
    (
        "004-10.toml",
        include_str!("../../../regulations/004-10.toml"),
    ),
    (
        "004-11.toml",
        include_str!("../../../regulations/004-11.toml"),
    ),
];

/// All loaded regulations, by code.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    regulations: BTreeMap<String, Regulation>,
}

impl Registry {
    /// The regulations compiled into this binary.
    pub fn embedded() -> Result<Registry, LoadError> {
        Registry::from_files(EMBEDDED.iter().map(|(name, text)| (*name, *text)))
    }

    /// Loads `(file name, text)` pairs; the first bad file stops the load.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Registry, LoadError> {
        let mut regulations = BTreeMap::new();
        for (file, text) in files {
            let regulation = parse(file, text)?;
            regulations.insert(regulation.code.clone(), regulation);
        }
        Ok(Registry { regulations })
    }

    pub fn get(&self, code: &str) -> Option<&Regulation> {
        self.regulations.get(code)
    }

    /// In code order.
    pub fn iter(&self) -> impl Iterator<Item = &Regulation> {
        self.regulations.values()
    }

    pub fn len(&self) -> usize {
        self.regulations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regulations.is_empty()
    }
}

/// Loads every `*.toml` directly in `dir` (subdirectories, such as the
/// calendar's, are not regulations).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Registry, LoadError> {
    let dir = dir.as_ref();
    let unreadable =
        |problem: String| LoadError::new(&dir.display().to_string(), "(file)", problem);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(e.to_string()))? {
        let path = entry.map_err(|e| unreadable(e.to_string()))?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "toml") {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::new(&name, "(file)", e.to_string()))?;
            files.push((name, text));
        }
    }
    files.sort();
    Registry::from_files(
        files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str())),
    )
}

/// Parses and validates one regulation file named `file` (e.g. `003.toml`).
pub fn parse(file: &str, text: &str) -> Result<Regulation, LoadError> {
    let raw = toml::Value::Table(
        toml::from_str::<toml::Table>(text).map_err(|e| error::from_toml(file, text, &e))?,
    );
    let regulation: Regulation =
        toml::from_str(text).map_err(|e| error::from_toml(file, text, &e))?;
    validate::regulation(file, &raw, &regulation)?;
    Ok(regulation)
}
