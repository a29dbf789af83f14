//! Who does a task: one of the regulations' staff actors, or the workstation
//! itself. Settings, the procedure, the staff and the engine all name roles,
//! so the enum lives here, depending on nothing else in the crate.

use egov_regulations::Actor;
use serde::Deserialize;

/// One of the regulations' staff actors, or the workstation itself where a
/// regulation has no staff steps (seed 000 §7 step 4) or a diagram element
/// is the system's own (seed 003 §11 diagram 3, process 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    OfficeClerk,
    Head,
    Specialist,
    ResponsiblePerson,
    Workstation,
}

impl Role {
    pub const STAFF: [Role; 4] = [
        Role::OfficeClerk,
        Role::Head,
        Role::Specialist,
        Role::ResponsiblePerson,
    ];

    /// The database's (and the settings') text of the role.
    pub fn code(self) -> &'static str {
        match self {
            Role::OfficeClerk => "office_clerk",
            Role::Head => "head",
            Role::Specialist => "specialist",
            Role::ResponsiblePerson => "responsible_person",
            Role::Workstation => "workstation",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        [
            Role::OfficeClerk,
            Role::Head,
            Role::Specialist,
            Role::ResponsiblePerson,
            Role::Workstation,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    /// The role of a regulation's actor, if the actor is the provider's staff.
    pub fn from_actor(actor: Actor) -> Option<Role> {
        match actor {
            Actor::OfficeClerk => Some(Role::OfficeClerk),
            Actor::Head => Some(Role::Head),
            Actor::Specialist => Some(Role::Specialist),
            Actor::ResponsiblePerson => Some(Role::ResponsiblePerson),
            _ => None,
        }
    }

    pub fn to_proto(self) -> egov_proto::workstation::Role {
        use egov_proto::workstation::Role as P;
        match self {
            Role::OfficeClerk => P::OfficeClerk,
            Role::Head => P::Head,
            Role::Specialist => P::Specialist,
            Role::ResponsiblePerson => P::ResponsiblePerson,
            Role::Workstation => P::Workstation,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_code() {
        for role in Role::STAFF.into_iter().chain([Role::Workstation]) {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code("janitor"), None);
    }
}
