//! The routing table: which system may send what to whom. It is data
//! (`gateway/routes.toml`), one row per (sender, receiver, service), each
//! citing seed, diagram and process.

use egov_trust::SystemId;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sync,
    Async,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub sender: SystemId,
    pub receiver: SystemId,
    pub service: String,
    pub mode: Mode,
    pub description: String,
    pub seed: String,
    pub diagram: String,
    pub process: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    route: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct RoutingTable {
    routes: Vec<Route>,
    index: HashMap<(SystemId, SystemId, String), usize>,
}

#[derive(Debug, thiserror::Error)]
#[error("routing table {origin}: {problem}")]
pub struct RouteError {
    pub origin: String,
    pub problem: String,
}

pub const EMBEDDED: &str = include_str!("../routes.toml");

impl RoutingTable {
    pub fn embedded() -> RoutingTable {
        RoutingTable::parse(EMBEDDED, "gateway/routes.toml (built in)")
            .expect("the built-in routing table is checked by tests")
    }

    pub fn load(path: &Path) -> Result<RoutingTable, RouteError> {
        let text = std::fs::read_to_string(path).map_err(|e| RouteError {
            origin: path.display().to_string(),
            problem: e.to_string(),
        })?;
        RoutingTable::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<RoutingTable, RouteError> {
        let error = |problem: String| RouteError {
            origin: origin.to_owned(),
            problem,
        };
        let file: File = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let mut index = HashMap::new();
        for (i, route) in file.route.iter().enumerate() {
            let at = format!(
                "route[{i}] ({} → {} {})",
                route.sender, route.receiver, route.service
            );
            if route.sender == route.receiver {
                return Err(error(format!(
                    "{at}: sender and receiver are the same system"
                )));
            }
            if route.sender == SystemId::Gateway || route.receiver == SystemId::Gateway {
                return Err(error(format!(
                    "{at}: the gateway is the path, not an end of a route"
                )));
            }
            for (field, value) in [
                ("service", &route.service),
                ("seed", &route.seed),
                ("diagram", &route.diagram),
                ("process", &route.process),
            ] {
                if value.trim().is_empty() {
                    return Err(error(format!(
                        "{at}: {field} is empty; every row cites its source"
                    )));
                }
            }
            let key = (route.sender, route.receiver, route.service.clone());
            if index.insert(key, i).is_some() {
                return Err(error(format!("{at}: listed twice")));
            }
        }
        Ok(RoutingTable {
            routes: file.route,
            index,
        })
    }

    /// The row allowing this message, if any.
    pub fn allows(&self, sender: SystemId, receiver: SystemId, service: &str) -> Option<&Route> {
        self.index
            .get(&(sender, receiver, service.to_owned()))
            .map(|i| &self.routes[*i])
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every system that receives something (the gateway declares their
    /// inboxes, so messages wait for a receiver that has not started yet).
    pub fn receivers(&self) -> Vec<SystemId> {
        let mut systems: Vec<SystemId> = SystemId::ALL
            .into_iter()
            .filter(|s| *s != SystemId::Gateway)
            .collect();
        systems.sort();
        systems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_loads_and_has_the_design_rows() {
        let table = RoutingTable::embedded();
        use SystemId::*;
        for (s, r, service) in [
            (Intake, Individuals, "person-by-iin"),
            (Intake, Notary, "power-of-attorney"),
            (Intake, Workstation, "submit-application"),
            (Workstation, Intake, "application-result"),
            (Portal, Workstation, "submit-application"),
            (Workstation, Portal, "application-status"),
            (Workstation, Portal, "application-result"),
            (Workstation, Individuals, "person-by-iin"),
            (Portal, Individuals, "person-by-iin"),
            (Intake, Workstation, "return-unclaimed-result"),
        ] {
            assert!(table.allows(s, r, service).is_some(), "{s} → {r} {service}");
        }
        assert!(table.allows(Portal, Notary, "power-of-attorney").is_none());
        assert!(table.allows(Individuals, Portal, "person-by-iin").is_none());
    }

    #[test]
    fn a_row_without_its_source_or_twice_is_refused() {
        let row = |diagram: &str| {
            format!(
                "[[route]]\nsender = \"portal\"\nreceiver = \"workstation\"\nservice = \"x\"\nmode = \"async\"\ndescription = \"d\"\nseed = \"001\"\ndiagram = \"{diagram}\"\nprocess = \"5\"\n"
            )
        };
        let error = RoutingTable::parse(&row(""), "t").unwrap_err();
        assert!(error.problem.contains("diagram is empty"), "{error}");
        let error = RoutingTable::parse(&(row("2") + &row("2")), "t").unwrap_err();
        assert!(error.problem.contains("listed twice"), "{error}");
        let error = RoutingTable::parse(&row("2").replace("portal", "bank"), "t").unwrap_err();
        assert!(error.problem.contains("unknown system"), "{error}");
    }
}
