//! The serde types of one regulation file. Field by field they follow the
//! format described in the crate documentation; the closed sets (channels,
//! actors, systems, stages, kinds, field types) are enums, so an unknown code
//! is a load error.

use crate::forms::Form;
use serde::{Deserialize, Serialize};

/// One regulation act, as written in `regulations/<code>.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regulation {
    /// `000`, `001`, `002`, `003`, `004-01` … `004-11`; equals the file stem.
    pub code: String,
    pub act: Act,
    pub names: Names,
    pub provider: Provider,
    pub channels: Vec<ChannelRule>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub documents: Vec<Document>,
    #[serde(default)]
    pub refusal_grounds: Vec<RefusalGround>,
    #[serde(default)]
    pub refusal_to_accept: Option<RefusalToAccept>,
    pub results: Vec<ResultDocument>,
    #[serde(default)]
    pub forms: Vec<Form>,
    #[serde(default)]
    pub diagrams: Vec<Diagram>,
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Where a complaint goes and in how long it is examined.
    #[serde(default)]
    pub complaints: Vec<Complaint>,
}

/// A complaint about the provider's decision or action (seed 002 p.13).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    /// Stable code of the addressee (`provider`, `quality_authority`).
    pub to: String,
    /// The addressee as the seed names it.
    pub to_kk: String,
    #[serde(default)]
    pub to_ru: Option<String>,
    pub to_en: String,
    /// How long the complaint is examined, a duration ("5 working days").
    pub term: String,
    /// What the term counts from ("registration of the complaint").
    pub counted_from: String,
    pub source: String,
}

/// Where in the seeds the regulation comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Act {
    /// File name in `../shared/seeds/`.
    pub seed_file: String,
    /// `regulation` (регламент) or `rules` (правила / қағидалар).
    pub kind: ActKind,
    /// Which part of the seed file this act is.
    pub paragraph: String,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActKind {
    Regulation,
    Rules,
}

/// The service's name in the three languages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub kk: String,
    pub ru: String,
    /// `translation` when the mesh translated the name, otherwise the seed
    /// and line the Russian name is taken from (`seed 002, line 1`).
    pub ru_origin: String,
    pub en: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub kk: String,
    #[serde(default)]
    pub ru: Option<String>,
    pub en: String,
    pub source: String,
}

/// The three ways a service is applied for and its result collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Portal,
    StateCorporation,
    ProviderOffice,
}

impl Channel {
    pub const ALL: [Channel; 3] = [
        Channel::Portal,
        Channel::StateCorporation,
        Channel::ProviderOffice,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::StateCorporation => "state_corporation",
            Channel::ProviderOffice => "provider_office",
        }
    }

    pub fn from_code(code: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A channel of one regulation: what it is for and its deadline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRule {
    pub channel: Channel,
    /// The application is accepted through this channel.
    pub intake: bool,
    /// The result is handed out through this channel.
    pub issues_result: bool,
    /// A duration ("30 calendar days") or "not stated" (with a silent note).
    pub deadline: String,
    /// False where the seed says the day of intake is not counted.
    pub intake_day_counts: bool,
    /// Other time limits of the channel (waiting, processing, storage).
    #[serde(default)]
    pub limits: Vec<Limit>,
    /// How the channel hands the result over, where the seed says.
    #[serde(default)]
    pub issue: Option<IssueRule>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// A code a system looks the limit up by, for the limits systems run
    /// (`unclaimed_storage`, `unclaimed_resend`).
    #[serde(default)]
    pub code: Option<String>,
    pub what: String,
    /// A duration, or calendar months ("1 calendar month").
    pub duration: String,
    pub source: String,
}

/// To whom, and on what, a channel hands the result over.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRule {
    /// Who may take the result, and on which document.
    pub to: String,
    /// The document the hand-over is made against, if the seed names one.
    #[serde(default)]
    pub against: Option<String>,
    /// The rule as the seed words it.
    pub text_kk: String,
    pub source: String,
}

/// Who does a step or takes part in a diagram element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// кеңсе қызметкері / сотрудник канцелярии (also "the provider's office").
    OfficeClerk,
    /// басшы / руководитель (head of the provider or of its department).
    Head,
    /// маман, қызметкер / исполнитель, специалист.
    Specialist,
    /// жауапты тұлға / ответственное лицо, where a regulation names one.
    ResponsiblePerson,
    /// Мемлекеттік корпорация операторы (қызметкері) / ХҚО операторы.
    StateCorporationOperator,
    /// Мемлекеттік корпорацияның курьері (seed 003 §9).
    StateCorporationCourier,
    /// Мемлекеттік корпорацияның жинақтау секторы (seed 003 §9 4)).
    StateCorporationAccumulationSector,
    /// көрсетілетін қызметті алушы / услугополучатель.
    Recipient,
}

impl Actor {
    pub fn code(self) -> &'static str {
        match self {
            Actor::OfficeClerk => "office_clerk",
            Actor::Head => "head",
            Actor::Specialist => "specialist",
            Actor::ResponsiblePerson => "responsible_person",
            Actor::StateCorporationOperator => "state_corporation_operator",
            Actor::StateCorporationCourier => "state_corporation_courier",
            Actor::StateCorporationAccumulationSector => "state_corporation_accumulation_sector",
            Actor::Recipient => "recipient",
        }
    }

    /// Staff of the service provider work on the provider's schedule.
    pub fn is_provider_staff(self) -> bool {
        matches!(
            self,
            Actor::OfficeClerk | Actor::Head | Actor::Specialist | Actor::ResponsiblePerson
        )
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The mesh's information systems (DESIGN.md's system ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Portal,
    Gateway,
    Workstation,
    Intake,
    Individuals,
    Notary,
}

impl System {
    pub fn code(self) -> &'static str {
        match self {
            System::Portal => "portal",
            System::Gateway => "gateway",
            System::Workstation => "workstation",
            System::Intake => "intake",
            System::Individuals => "individuals",
            System::Notary => "notary",
        }
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The stages of the provider's staff procedure a step covers, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Intake and registration of the application.
    Register,
    /// The head's resolution (бұрыштама) assigning the case.
    Assign,
    /// Conformity check of the documents; draft result or reasoned refusal.
    Examine,
    /// Signature of the result.
    Sign,
    /// Handing the result out (to the recipient or the State Corporation).
    Issue,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::Register => "register",
            Stage::Assign => "assign",
            Stage::Examine => "examine",
            Stage::Sign => "sign",
            Stage::Issue => "issue",
        }
    }
}

/// One staff step of the provider's procedure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 1, 2, 3 … without gaps; stable, cited by the workstation.
    pub number: u32,
    pub actor: Actor,
    /// The actor as the seed names it.
    pub actor_kk: String,
    pub action: String,
    /// The action as the seed words it.
    pub action_kk: String,
    /// A duration such as "30 min" or "28 calendar days".
    pub duration: String,
    pub stages: Vec<Stage>,
    /// What the step produces (the basis for the next step).
    pub result: String,
    pub source: String,
}

/// A document of the Standard's item 9 (or of the seed's document list).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Stable code a refusal ground or a missing-document check can cite.
    pub code: String,
    #[serde(default)]
    pub ru: Option<String>,
    pub kk: String,
    pub en: String,
    /// Per channel, the item number in the seed's list for that channel. A
    /// document with no items is not asked of the applicant at all.
    #[serde(default)]
    pub items: std::collections::BTreeMap<String, String>,
    /// Only needed in this case (otherwise always required).
    #[serde(default)]
    pub condition: Option<String>,
    /// The provider (or the State Corporation) obtains it through the
    /// gateway instead of from the applicant.
    #[serde(default)]
    pub via_gateway: bool,
    /// The registry it comes from, when the mesh runs one.
    #[serde(default)]
    pub from_system: Option<System>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalGround {
    /// Stable code, cited by a reasoned refusal.
    pub code: String,
    #[serde(default)]
    pub ru: Option<String>,
    pub kk: String,
    pub en: String,
    /// Documents the ground is about, by code.
    #[serde(default)]
    pub documents: Vec<String>,
    pub source: String,
}

/// Refusal to accept an incomplete package (not a refusal of the service).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalToAccept {
    pub by: Actor,
    pub when: String,
    pub receipt: String,
    /// The code of the receipt's form, when the seed has it.
    #[serde(default)]
    pub form: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    Certificate,
    Decision,
    Resolution,
    Order,
    Agreement,
    Conclusion,
    Referral,
    Notification,
    Refusal,
}

impl ResultKind {
    pub fn code(self) -> &'static str {
        match self {
            ResultKind::Certificate => "certificate",
            ResultKind::Decision => "decision",
            ResultKind::Resolution => "resolution",
            ResultKind::Order => "order",
            ResultKind::Agreement => "agreement",
            ResultKind::Conclusion => "conclusion",
            ResultKind::Referral => "referral",
            ResultKind::Notification => "notification",
            ResultKind::Refusal => "refusal",
        }
    }
}

/// A possible result of the service (a regulation may have several).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultDocument {
    pub code: String,
    pub kind: ResultKind,
    pub kk: String,
    #[serde(default)]
    pub ru: Option<String>,
    pub en: String,
    /// Where the form is: the code of a `[[forms]]` entry, or a reference
    /// to the Standard when the seed does not include it.
    #[serde(default)]
    pub form: Option<String>,
    /// The channels through which this result is given.
    pub channels: Vec<Channel>,
    pub delivery: String,
    pub source: String,
}

/// A functional interaction diagram (or the numbered text that stands for it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagram {
    /// Mesh numbering: 1 = via the State Corporation, 2 = via the portal,
    /// 3 = via the provider's office (where the seed has such a list).
    pub number: u32,
    pub channel: Channel,
    pub kk: String,
    pub en: String,
    /// How the seed itself labels it.
    pub seed_label: String,
    pub source: String,
    #[serde(default)]
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    /// Registration before process 1 ("only if not registered").
    Prestep,
    Process,
    Condition,
    /// A numbered step of a narrative sequence with no processes.
    Step,
}

impl ElementKind {
    pub fn code(self) -> &'static str {
        match self {
            ElementKind::Prestep => "prestep",
            ElementKind::Process => "process",
            ElementKind::Condition => "condition",
            ElementKind::Step => "step",
        }
    }
}

/// A numbered process, condition or step of a diagram.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    pub kind: ElementKind,
    pub number: u32,
    /// The system that performs it.
    pub system: System,
    /// False where the seed does not name the performer and the mesh
    /// assigns it from context.
    #[serde(default = "yes")]
    pub system_stated: bool,
    /// The person acting in that system, if any.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Systems the element sends a message to.
    #[serde(default)]
    pub to: Vec<System>,
    /// For a condition: the element taken when the check fails
    /// ("process 2").
    #[serde(default)]
    pub on_no: Option<String>,
    pub text: String,
    pub source: String,
}

fn yes() -> bool {
    true
}

impl Element {
    /// "process 5", "condition 2": how flows cite an element.
    pub fn id(&self) -> String {
        format!("{} {}", self.kind.code(), self.number)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// The seed does not say.
    Silent,
    /// The seed says two things; both readings and the mesh's choice.
    Contradiction,
    /// A decision the mesh took where the seed leaves room.
    Choice,
}

impl NoteKind {
    pub fn code(self) -> &'static str {
        match self {
            NoteKind::Silent => "silent",
            NoteKind::Contradiction => "contradiction",
            NoteKind::Choice => "choice",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub kind: NoteKind,
    /// The field the note is about, as a path (`channels[0].deadline`).
    #[serde(default)]
    pub about: Option<String>,
    pub text: String,
    /// For a contradiction: at least two readings.
    #[serde(default)]
    pub readings: Vec<String>,
    /// For a contradiction: the reading the mesh uses.
    #[serde(default)]
    pub mesh_uses: Option<String>,
    pub source: String,
}

/// The value written where the seed is silent about a required field.
pub const NOT_STATED: &str = "not stated";

impl Regulation {
    pub fn channel(&self, channel: Channel) -> Option<&ChannelRule> {
        self.channels.iter().find(|c| c.channel == channel)
    }

    /// A channel's limit by its code.
    pub fn limit(&self, channel: Channel, code: &str) -> Option<&Limit> {
        self.channel(channel)?
            .limits
            .iter()
            .find(|limit| limit.code.as_deref() == Some(code))
    }

    pub fn document(&self, code: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.code == code)
    }

    pub fn diagram(&self, number: u32) -> Option<&Diagram> {
        self.diagrams.iter().find(|d| d.number == number)
    }
}

impl Diagram {
    /// The element cited as "process 5", "condition 2", "step 1".
    pub fn element(&self, id: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.id() == id)
    }
}
