//! The provider's workstation (ЭҮАШ АЖО / ЭҮӨШ АЖО, АРМ РШЭП): where every
//! application ends — the local executive body's education department. It
//! registers the electronic document in its journal, runs the staff
//! procedure of the regulation (office clerk, head, specialist, responsible
//! person) with the working calendar's due times, checks the documents
//! against the Standard, and answers with a result signed with the head's
//! EDS or a reasoned refusal, through the gateway to where the application
//! came from, with a status at each step (DESIGN.md, system `workstation`).
//!
//! # Layout
//! - [`startup`]: `Application::build` / `address` / `run_until_stopped`;
//! - [`handler`]: the inbox — submissions from the portal and the State
//!   Corporation, unclaimed results;
//! - [`engine`]: registration and the tasks, one transaction each, with the
//!   messages they cause (validation, drafting and status texts inside);
//! - [`journal`]: the storage of applications, tasks and results — all
//!   their SQL; [`model`]: their states, origins and decisions as enums;
//!   [`codes`]: strict decoding of stored codes; [`convert`]: channel and
//!   stage to proto;
//! - [`procedure`]: a regulation's steps and stages as tasks with due times;
//!   the document rules and refusal grounds;
//! - [`documents`]: result documents, their fields, the head's signature;
//! - [`role`]: who does a task; [`staff`]: the employees and their storage;
//!   [`passwords`]: password hashes; [`sessions`]: logins and sessions;
//!   [`enrolment`]: the staff from settings, their EDS certificates and keys;
//! - [`autopilot`]: the staff tasks done by rules;
//! - [`office`]: the provider's own office channel (ЖТ МДБ look-up);
//! - [`api`] and [`views`]: the employees' gRPC API;
//! - [`settings`] and [`error`].
//!
//! # Decisions, and why
//!
//! **The procedure is data.** Tasks are the (step, stage) pairs of the
//! regulation's `[[steps]]`, in order, each by the step's actor, except the
//! signature, always the head's ("signed with the EDS of the provider's
//! authorised person": seed 002 Rules p.10; seed 003 §11 process 8; seed 001
//! p.6): seed 004 folds it into the specialist's step and seed 002 has a
//! single specialist step, so the stage, not the step, says who signs. No
//! service is named in code. A regulation with no staff steps (seed 000:
//! "not rendered through the provider's structural units", §7 step 4 being
//! the workstation's) gets the workstation's own procedure — examine by the
//! rules, sign with the provider's EDS, issue — done whether or not the
//! autopilot is on. See [`procedure`].
//!
//! **Registration is the electronic document's (diagram 2 process 6,
//! diagram 1 process 7), then the clerk registers it for the staff.** The
//! inbox writes the journal entry (number `YYYY-NNNNNN`, time) at once and
//! sends the first status, "accepted, the result is expected on <date and
//! time>" (seed 002 Rules p.7); the register stage of the regulation's first
//! step is the office clerk's (or responsible person's) task that passes the
//! application to the head.
//!
//! **Due times** are the regulation's deadline plan (`egov_regulations::plan`
//! on the Provider schedule), counted from the registration: the provider
//! counts "from the moment it received the documents" (seed 002 Rules p.8).
//! A task is due when its step is due; the stages of one step share its due
//! time. The time the applicant is told is the channel's deadline, or where
//! the regulation states none (seed 004: "not stated"), the end of the staff
//! steps. Overdue = not done by its due time (`ListOverdue`, any moment).
//!
//! **One transaction per task.** Each act locks the application's row,
//! requires the named task to be the current one (`task_not_current`
//! otherwise, so a retried or concurrent act is done once), checks the role
//! (`wrong_role`), writes the step log and the new state, and puts the
//! status — and at the issue, the result — into the bus outbox in the same
//! transaction. A crash loses or doubles nothing: after a restart the
//! application is at the task it had reached, and the autopilot (woken by a
//! PostgreSQL NOTIFY sent at commit, and by a sweep) goes on.
//!
//! **Statuses** carry a per-application `sequence` (1 = "accepted"), as
//! messages of one conversation may be handled out of order by a receiver
//! with parallel handlers; the outbox sends them in the order written.
//!
//! **Signatures.** The head's private key is held by the workstation (from
//! `workstation.staff[].private_key`, a stand-in for the NCA token) and used
//! only on the head's own sign action (or, for the workstation's own
//! results, the `workstation.signer`'s). The signature is over the exact
//! bytes of the serialized `ResultDocument` that travel in
//! `SignedDocument.content`, and the head's certificate travels with it.
//!
//! **Refusal grounds** come from the regulation's `[[refusal_grounds]]`
//! (seed 002 has six). Seed 002 p.9 and most diagrams also refuse an
//! incomplete package ("violations in the recipient's documents"), for which
//! no regulation lists a ground code: the mesh names it
//! `incomplete_package`, citing the regulation's `[refusal_to_accept]` or
//! the diagram's document check; the office channel's failed condition 2 is
//! `applicant_data_not_confirmed` (seed 003 §11 diagram 3). A missing
//! document refuses on the ground whose `documents` name it, or on the
//! incomplete package; documents obtained through the gateway or required
//! only under a condition are not asked of the rules.
//!
//! **Passwords** are PBKDF2-HMAC-SHA256 through `ring` (no new dependency),
//! per-user random salt, `workstation.password_iterations` (100 000 by
//! default); sessions keep only the SHA-256 of the bearer token.
//!
//! **Staff come from settings** (`[[workstation.staff]]`), enrolled at start:
//! the certificate must be the mesh CA's, valid, not revoked, an employee's
//! with the provider's BIN; it is checked again at every signature.
//!
//! # Limits
//!
//! - The rules check which documents are attached, not what they say; a
//!   document needed only under a condition, or obtained through the
//!   gateway, is left to the specialist.
//! - Most regulations' result forms are not in the seeds ("App. 1 to the
//!   Standard (not in the seed)"): their results carry the fields the
//!   specialist gives, besides the journal, provider, applicant and signer.
//! - The office channel's look-up runs inside the employee's call
//!   (`workstation.lookup_deadline`); nothing is registered when ЖТ МДБ does
//!   not answer (`registry_unavailable`: try again).
//! - A number taken by a registration that turned out to be a resend is not
//!   reused: the journal may have gaps.
//!
//! # Errors
//!
//! Every refusal has a stable code ([`error::ApiCode`]), the field at fault
//! and words: over gRPC as the message "<code>: <field>: <words>" with
//! `google.rpc.ErrorInfo` (reason = code, domain `workstation.egov-mesh`,
//! metadata `field`); to a submission as a KIND_REJECT
//! `Rejection { code, message, field }`. The codes and their gRPC statuses
//! are listed in the README ("What the workstation refuses"), which a test
//! keeps equal to the enum.

pub mod api;
pub mod autopilot;
pub mod codes;
pub mod convert;
pub mod documents;
pub mod engine;
pub mod enrolment;
pub mod error;
pub mod handler;
pub mod journal;
pub mod model;
pub mod office;
pub mod passwords;
pub mod procedure;
pub mod role;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod startup;
pub mod views;

pub use settings::Settings;
pub use startup::Application;
