//! Walks through a diagram: the elements one application passes, read from
//! the diagram's data, so that a test which drove an application down one
//! path can say which processes and conditions it exercised, and a coverage
//! map can be built from what the tests did rather than from a hand-kept list.
//!
//! A diagram's elements are in the regulation's order. A condition names the
//! element taken when its check fails (`on_no`); those elements are off the
//! main path. Straight through passes every other element; off at condition
//! N passes the main path up to N and then N's `on_no` element, where the
//! application ends (a refusal).

use crate::Registry;
use crate::model::{Diagram, Element, ElementKind};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Which way an application went through a diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Branch {
    /// Every check passed: to the result.
    Through,
    /// The check of condition N failed: to the element it names.
    No(u32),
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Branch::Through => f.write_str("through"),
            Branch::No(n) => write!(f, "no-{n}"),
        }
    }
}

impl FromStr for Branch {
    type Err = String;

    fn from_str(text: &str) -> Result<Branch, String> {
        if text == "through" {
            return Ok(Branch::Through);
        }
        text.strip_prefix("no-")
            .and_then(|n| n.parse().ok())
            .map(Branch::No)
            .ok_or_else(|| format!("{text:?} is neither \"through\" nor \"no-<condition>\""))
    }
}

impl Diagram {
    /// The elements an application passes on `branch`, in order; an error
    /// where the diagram has no such condition or it names no element.
    pub fn walk(&self, branch: Branch) -> Result<Vec<&Element>, String> {
        let off_path: Vec<&str> = self
            .elements
            .iter()
            .filter_map(|e| e.on_no.as_deref())
            .collect();
        let on_path = |e: &&Element| !off_path.contains(&e.id().as_str());
        match branch {
            Branch::Through => Ok(self.elements.iter().filter(on_path).collect()),
            Branch::No(number) => {
                let at = self
                    .elements
                    .iter()
                    .position(|e| e.kind == ElementKind::Condition && e.number == number)
                    .ok_or_else(|| format!("diagram {} has no condition {number}", self.number))?;
                let target = self.elements[at].on_no.as_deref().ok_or_else(|| {
                    format!(
                        "condition {number} of diagram {} names no element",
                        self.number
                    )
                })?;
                let refusal = self
                    .elements
                    .iter()
                    .find(|e| e.id() == target)
                    .ok_or_else(|| format!("diagram {} has no {target}", self.number))?;
                let mut passed: Vec<&Element> =
                    self.elements[..=at].iter().filter(on_path).collect();
                passed.push(refusal);
                Ok(passed)
            }
        }
    }

    /// Every branch of the diagram: through, and off at each condition
    /// that names where a failed check goes.
    pub fn branches(&self) -> Vec<Branch> {
        let mut all = vec![Branch::Through];
        all.extend(
            self.elements
                .iter()
                .filter(|e| e.kind == ElementKind::Condition && e.on_no.is_some())
                .map(|e| Branch::No(e.number)),
        );
        all
    }
}

/// One application a test drove down one branch of one diagram, as the
/// test records it: `walk <regulation> <diagram> <branch> <test>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub regulation: String,
    pub diagram: u32,
    pub branch: Branch,
    pub test: String,
}

impl fmt::Display for Walk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "walk {} {} {} {}",
            self.regulation, self.diagram, self.branch, self.test
        )
    }
}

impl FromStr for Walk {
    type Err = String;

    fn from_str(line: &str) -> Result<Walk, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["walk", regulation, diagram, branch, test] = words.as_slice() else {
            return Err(format!(
                "{line:?}: expected `walk <regulation> <diagram> <branch> <test>`"
            ));
        };
        Ok(Walk {
            regulation: (*regulation).to_owned(),
            diagram: diagram
                .parse()
                .map_err(|_| format!("{line:?}: diagram {diagram:?} is not a number"))?,
            branch: branch.parse()?,
            test: (*test).to_owned(),
        })
    }
}

/// How much of one diagram the walks exercised.
#[derive(Debug, Clone)]
pub struct DiagramCoverage {
    pub regulation: String,
    pub diagram: u32,
    pub covered: usize,
    pub total: usize,
    /// Each element no walk passed: its id and the seed line it cites.
    pub uncovered: Vec<String>,
}

impl fmt::Display for DiagramCoverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "coverage {} {} {}/{}",
            self.regulation, self.diagram, self.covered, self.total
        )
    }
}

/// Every diagram of every regulation, with what `walks` covered of it; an
/// error where a walk names a regulation, diagram or condition that does
/// not exist (a test that cites the regulation wrongly).
pub fn coverage(registry: &Registry, walks: &[Walk]) -> Result<Vec<DiagramCoverage>, String> {
    let mut passed: BTreeSet<(String, u32, String)> = BTreeSet::new();
    for walk in walks {
        let diagram = registry
            .get(&walk.regulation)
            .and_then(|r| r.diagrams.iter().find(|d| d.number == walk.diagram))
            .ok_or_else(|| {
                format!(
                    "{}: regulation {} has no diagram {}",
                    walk.test, walk.regulation, walk.diagram
                )
            })?;
        for element in diagram
            .walk(walk.branch)
            .map_err(|e| format!("{}: {e}", walk.test))?
        {
            passed.insert((walk.regulation.clone(), walk.diagram, element.id()));
        }
    }
    let mut all = Vec::new();
    for regulation in registry.iter() {
        for diagram in &regulation.diagrams {
            let uncovered: Vec<String> = diagram
                .elements
                .iter()
                .filter(|e| !passed.contains(&(regulation.code.clone(), diagram.number, e.id())))
                .map(|e| format!("{} ({})", e.id(), e.source))
                .collect();
            all.push(DiagramCoverage {
                regulation: regulation.code.clone(),
                diagram: diagram.number,
                covered: diagram.elements.len() - uncovered.len(),
                total: diagram.elements.len(),
                uncovered,
            });
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram_1_of_001() -> Diagram {
        let registry = Registry::embedded().expect("the built-in regulations");
        let regulation = registry.get("001").expect("001");
        regulation
            .diagrams
            .iter()
            .find(|d| d.number == 1)
            .cloned()
            .expect("diagram 1")
    }

    fn ids(elements: Vec<&Element>) -> Vec<String> {
        elements.into_iter().map(Element::id).collect()
    }

    #[test]
    fn through_passes_every_element_but_the_refusals() {
        let walked = ids(diagram_1_of_001().walk(Branch::Through).unwrap());
        assert_eq!(
            walked,
            [
                "process 1",
                "process 2",
                "process 3",
                "condition 1",
                "process 5",
                "process 6",
                "process 7",
                "condition 2",
                "process 9"
            ]
        );
    }

    #[test]
    fn off_at_a_condition_ends_in_the_element_it_names() {
        let diagram = diagram_1_of_001();
        assert_eq!(
            ids(diagram.walk(Branch::No(1)).unwrap()),
            [
                "process 1",
                "process 2",
                "process 3",
                "condition 1",
                "process 4"
            ]
        );
        let second = ids(diagram.walk(Branch::No(2)).unwrap());
        assert_eq!(second.last().map(String::as_str), Some("process 8"));
        assert!(!second.contains(&"process 4".to_owned()));
        assert!(diagram.walk(Branch::No(3)).is_err());
        assert_eq!(
            diagram.branches(),
            [Branch::Through, Branch::No(1), Branch::No(2)]
        );
    }

    #[test]
    fn coverage_counts_each_element_once_and_names_what_no_walk_passed() {
        let registry = Registry::embedded().unwrap();
        let walk = |line: &str| line.parse::<Walk>().unwrap();
        let walks = [
            walk("walk 001 1 through a"),
            walk("walk 001 1 no-1 b"),
            walk("walk 001 1 through c"),
        ];
        let all = coverage(&registry, &walks).unwrap();
        let first = all
            .iter()
            .find(|c| c.regulation == "001" && c.diagram == 1)
            .unwrap();
        assert_eq!(first.to_string(), "coverage 001 1 10/11");
        assert_eq!(first.uncovered.len(), 1);
        assert!(
            first.uncovered[0].starts_with("process 8 (seed 001"),
            "{first:?}"
        );
        let untouched = all.iter().find(|c| c.regulation == "003").unwrap();
        assert_eq!(untouched.covered, 0);
        assert!(coverage(&registry, &[walk("walk 002 1 through d")]).is_err());
        assert!(coverage(&registry, &[walk("walk 001 1 no-3 e")]).is_err());
        assert!("walk 001 one through f".parse::<Walk>().is_err());
    }

    #[test]
    fn branches_read_and_print_alike() {
        for branch in [Branch::Through, Branch::No(3)] {
            assert_eq!(branch.to_string().parse::<Branch>(), Ok(branch));
        }
        assert!("no-x".parse::<Branch>().is_err());
    }
}
