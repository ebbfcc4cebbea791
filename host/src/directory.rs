//! The routing directory: regions, departments, employees and topics, edited by admins as
//! one JSON document and read by routers through the `directory` host import.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The whole directory, as imported and exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Regions.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Departments.
    #[serde(default)]
    pub departments: Vec<Department>,
    /// Employees.
    #[serde(default)]
    pub employees: Vec<Employee>,
    /// Topics.
    #[serde(default)]
    pub topics: Vec<Topic>,
}

/// A region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Stable id.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: String,
    /// Cities that belong to it.
    #[serde(default)]
    pub cities: Vec<String>,
    /// Store numbers that belong to it.
    #[serde(default)]
    pub stores: Vec<String>,
}

/// A department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Its queue (defaults to the id).
    #[serde(default)]
    pub queue: String,
}

/// An employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employee {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Department id.
    pub department: String,
    /// Region ids served; empty means all.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Takes appeals now.
    #[serde(default = "yes")]
    pub active: bool,
    /// The employee's user id in the CRM (Bitrix24 `ASSIGNED_BY_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_user_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// A topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Keywords that mark it.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Handling department id.
    pub department: String,
    /// Minutes to take into work.
    #[serde(default)]
    pub reaction_minutes: Option<u32>,
}

impl Directory {
    /// Checks ids are unique and non-empty and every reference points at something that
    /// exists; fills default names and queues. Returns every problem found, not just the first.
    ///
    /// # Errors
    /// The list of problems, each naming the record and the missing reference.
    pub fn validated(mut self) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut ids = |kind: &str, list: Vec<&str>| -> HashSet<String> {
            let mut seen = HashSet::new();
            for id in list {
                if id.trim().is_empty() {
                    problems.push(format!("a {kind} has an empty id"));
                } else if !seen.insert(id.to_string()) {
                    problems.push(format!("{kind} id '{id}' is used twice"));
                }
            }
            seen
        };
        let regions = ids("region", self.regions.iter().map(|r| r.id.as_str()).collect());
        let departments = ids("department", self.departments.iter().map(|d| d.id.as_str()).collect());
        ids("employee", self.employees.iter().map(|e| e.id.as_str()).collect());
        ids("topic", self.topics.iter().map(|t| t.id.as_str()).collect());
        for e in &self.employees {
            if !departments.contains(&e.department) {
                problems.push(format!("employee '{}' names unknown department '{}'", e.id, e.department));
            }
            for r in e.regions.iter().filter(|r| !regions.contains(*r)) {
                problems.push(format!("employee '{}' names unknown region '{r}'", e.id));
            }
        }
        for t in &self.topics {
            if !departments.contains(&t.department) {
                problems.push(format!("topic '{}' names unknown department '{}'", t.id, t.department));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for r in &mut self.regions {
            if r.name.is_empty() {
                r.name = r.id.clone();
            }
        }
        for d in &mut self.departments {
            if d.name.is_empty() {
                d.name = d.id.clone();
            }
            if d.queue.is_empty() {
                d.queue = d.id.clone();
            }
        }
        for e in &mut self.employees {
            if e.name.is_empty() {
                e.name = e.id.clone();
            }
        }
        for t in &mut self.topics {
            if t.name.is_empty() {
                t.name = t.id.clone();
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_references_are_all_reported() {
        let dir: Directory = serde_json::from_str(
            r#"{"departments":[{"id":"sales"}],
                "employees":[{"id":"e1","department":"service","regions":["spb"]}],
                "topics":[{"id":"t","department":"returns"}]}"#,
        )
        .unwrap();
        let problems = dir.validated().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("unknown department 'service'"));
    }

    #[test]
    fn defaults_are_filled() {
        let dir: Directory = serde_json::from_str(r#"{"departments":[{"id":"sales"}]}"#).unwrap();
        let dir = dir.validated().unwrap();
        assert_eq!(dir.departments[0].queue, "sales");
        assert_eq!(dir.departments[0].name, "sales");
    }
}
