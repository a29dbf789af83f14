//! The systems of the mesh and their ids (DESIGN.md, "The systems").

use std::fmt;

/// A system of the mesh. The id string is used in configuration, queue names,
/// certificates and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemId {
    /// ЭҮП, the e-government portal.
    Portal,
    /// ЭҮШ, the e-government gateway.
    Gateway,
    /// ЭҮАШ АЖО, the provider's regional-gateway workstation.
    Workstation,
    /// МК ЫАЖ, the State Corporation's intake system.
    Intake,
    /// ЖТ МДБ, the state database of individuals.
    Individuals,
    /// БНАЖ, the unified notary system.
    Notary,
}

impl SystemId {
    pub const ALL: [SystemId; 6] = [
        SystemId::Portal,
        SystemId::Gateway,
        SystemId::Workstation,
        SystemId::Intake,
        SystemId::Individuals,
        SystemId::Notary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemId::Portal => "portal",
            SystemId::Gateway => "gateway",
            SystemId::Workstation => "workstation",
            SystemId::Intake => "intake",
            SystemId::Individuals => "individuals",
            SystemId::Notary => "notary",
        }
    }

    pub fn parse(s: &str) -> Option<SystemId> {
        SystemId::ALL.into_iter().find(|id| id.as_str() == s)
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown system id {0:?}; known: portal, gateway, workstation, intake, individuals, notary"
)]
pub struct UnknownSystem(pub String);

impl std::str::FromStr for SystemId {
    type Err = UnknownSystem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SystemId::parse(s).ok_or_else(|| UnknownSystem(s.to_owned()))
    }
}

impl serde::Serialize for SystemId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SystemId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
