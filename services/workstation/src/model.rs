//! The journal's vocabulary: where an application came from, the state it
//! is in, the specialist's decision. Each enum has one mapping to and from
//! its database text (`code` / `from_code`) and, where the API shows it, one
//! mapping to proto.

use egov_proto::workstation as pb;
use egov_regulations::{Channel, ResultKind, Stage};
use egov_trust::SystemId;

/// Where an application came from, and so where its statuses and result go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Diagram 2: the portal's personal cabinet.
    Portal,
    /// Diagram 1: the State Corporation, which issues the result.
    Intake,
    /// The provider's own office: the result is handed over there.
    Office,
}

impl Origin {
    pub fn code(self) -> &'static str {
        match self {
            Origin::Portal => "portal",
            Origin::Intake => "intake",
            Origin::Office => "office",
        }
    }

    pub fn from_code(code: &str) -> Option<Origin> {
        [Origin::Portal, Origin::Intake, Origin::Office]
            .into_iter()
            .find(|o| o.code() == code)
    }

    /// The system the messages go to.
    pub fn system(self) -> Option<SystemId> {
        match self {
            Origin::Portal => Some(SystemId::Portal),
            Origin::Intake => Some(SystemId::Intake),
            Origin::Office => None,
        }
    }

    /// The only channel an application from this origin may name.
    pub fn channel(self) -> Channel {
        match self {
            Origin::Portal => Channel::Portal,
            Origin::Intake => Channel::StateCorporation,
            Origin::Office => Channel::ProviderOffice,
        }
    }
}

/// Where an application's procedure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    /// Registered, its tasks not all done.
    InProgress,
    /// The result is issued.
    Issued,
    /// A reasoned refusal is issued.
    Refused,
}

impl AppState {
    pub fn code(self) -> &'static str {
        match self {
            AppState::InProgress => "in_progress",
            AppState::Issued => "issued",
            AppState::Refused => "refused",
        }
    }

    pub fn from_code(code: &str) -> Option<AppState> {
        [AppState::InProgress, AppState::Issued, AppState::Refused]
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// The state the API and the statuses show: an open application is
    /// "accepted" until its first task (at position 1) is done.
    pub fn to_proto(self, current_position: i32) -> pb::State {
        match self {
            AppState::Issued => pb::State::Issued,
            AppState::Refused => pb::State::Refused,
            AppState::InProgress if current_position == 1 => pb::State::Accepted,
            AppState::InProgress => pb::State::InProgress,
        }
    }
}

impl std::fmt::Display for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What the specialist's examination decided, and so what is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The result of the service is drafted.
    Approve,
    /// A reasoned refusal is drafted.
    Refuse,
}

impl Decision {
    pub fn code(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Refuse => "refuse",
        }
    }

    pub fn from_code(code: &str) -> Option<Decision> {
        [Decision::Approve, Decision::Refuse]
            .into_iter()
            .find(|d| d.code() == code)
    }

    /// The decision a signed result document of `kind` carries out.
    pub fn of_result_kind(kind: ResultKind) -> Decision {
        match kind {
            ResultKind::Refusal => Decision::Refuse,
            _ => Decision::Approve,
        }
    }

    /// The application's state once the result is issued.
    pub fn final_state(self) -> AppState {
        match self {
            Decision::Approve => AppState::Issued,
            Decision::Refuse => AppState::Refused,
        }
    }
}

/// A result document's kind by its code (`ResultKind::code`).
pub fn result_kind_from_code(code: &str) -> Option<ResultKind> {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    // The regulations' serde names are the codes; this stays right when a
    // kind is added there.
    let text: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        code.into_deserializer();
    ResultKind::deserialize(text).ok()
}

/// A stage of the procedure by its code (`Stage::code`).
pub fn stage_from_code(code: &str) -> Option<Stage> {
    [
        Stage::Register,
        Stage::Assign,
        Stage::Examine,
        Stage::Sign,
        Stage::Issue,
    ]
    .into_iter()
    .find(|s| s.code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_unknown_codes_are_none() {
        for origin in [Origin::Portal, Origin::Intake, Origin::Office] {
            assert_eq!(Origin::from_code(origin.code()), Some(origin));
        }
        for state in [AppState::InProgress, AppState::Issued, AppState::Refused] {
            assert_eq!(AppState::from_code(state.code()), Some(state));
        }
        for decision in [Decision::Approve, Decision::Refuse] {
            assert_eq!(Decision::from_code(decision.code()), Some(decision));
        }
        assert_eq!(Origin::from_code("fax"), None);
        assert_eq!(AppState::from_code("lost"), None);
        assert_eq!(Decision::from_code("refusal"), None);
        assert_eq!(stage_from_code("examine"), Some(Stage::Examine));
        assert_eq!(stage_from_code("archive"), None);
    }

    #[test]
    fn an_open_application_is_accepted_until_its_first_task_is_done() {
        assert_eq!(AppState::InProgress.to_proto(1), pb::State::Accepted);
        assert_eq!(AppState::InProgress.to_proto(2), pb::State::InProgress);
        assert_eq!(AppState::Issued.to_proto(0), pb::State::Issued);
        assert_eq!(AppState::Refused.to_proto(0), pb::State::Refused);
    }

    #[test]
    fn result_kinds_read_back_from_their_codes() {
        for kind in [ResultKind::Certificate, ResultKind::Refusal] {
            assert_eq!(result_kind_from_code(kind.code()), Some(kind));
        }
        assert_eq!(result_kind_from_code("receipt"), None);
        assert_eq!(
            Decision::of_result_kind(ResultKind::Refusal).final_state(),
            AppState::Refused
        );
    }
}
