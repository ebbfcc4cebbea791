//! What part of the appeals a person sees: their departments and regions, and the appeals
//! assigned to them. A scope becomes index terms ("any of these conjunctions"), so a scoped
//! list, search or report reads only the scope's appeals.

use crate::appeal::Appeal;
use crate::directory::{Directory, Employee};
use serde::Serialize;

use super::Role;

/// The part of the appeals a caller may see and act on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scope {
    /// No limit: admins and service tokens.
    pub everything: bool,
    /// Departments seen (empty: any department, limited by `regions`).
    pub departments: Vec<String>,
    /// Regions seen (empty: any region).
    pub regions: Vec<String>,
    /// Also the appeals assigned to this employee, wherever they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<String>,
    /// Whether the contact's e-mail, platform ids and other appeals are shown (not to
    /// external masters).
    pub contact_details: bool,
}

/// Departments that stand for "all of them" in an account's `departments`.
pub const ALL_DEPARTMENTS: &str = "*";

impl Scope {
    /// No limit.
    pub fn everything() -> Self {
        Scope { everything: true, contact_details: true, ..Scope::default() }
    }

    /// The scope of `employee` in `role`: the account's `departments` (or the employee's own
    /// department), the employee's regions, and for operators and masters their own appeals.
    pub fn of(role: Role, employee: &Employee, departments: &[String]) -> Self {
        if role == Role::Admin {
            return Scope::everything();
        }
        let mut departments = match departments.is_empty() {
            true => vec![employee.department.clone()],
            false => departments.to_vec(),
        };
        if departments.iter().any(|d| d == ALL_DEPARTMENTS) {
            departments.clear();
        }
        let regions = employee.regions.clone();
        if departments.is_empty() && regions.is_empty() {
            return Scope { contact_details: role != Role::Master, ..Scope::everything() };
        }
        let own = matches!(role, Role::Operator | Role::Master).then(|| employee.id.clone());
        Scope { everything: false, departments, regions, own, contact_details: role != Role::Master }
    }

    /// The scope as index terms: an appeal is in scope when it has every term of at least one
    /// of the lists. Empty for no limit.
    pub fn any_of(&self) -> Vec<Vec<(String, String)>> {
        if self.everything {
            return Vec::new();
        }
        let departments: Vec<Option<&String>> = match self.departments.is_empty() {
            true => vec![None],
            false => self.departments.iter().map(Some).collect(),
        };
        let regions: Vec<Option<&String>> = match self.regions.is_empty() {
            true => vec![None],
            false => self.regions.iter().map(Some).collect(),
        };
        let mut any_of = Vec::new();
        for department in &departments {
            for region in &regions {
                let mut terms = Vec::new();
                terms.extend(department.map(|d| ("department".to_string(), d.clone())));
                terms.extend(region.map(|r| ("region".to_string(), r.clone())));
                any_of.push(terms);
            }
        }
        any_of.extend(self.own.iter().map(|e| vec![("assignee".to_string(), e.clone())]));
        any_of
    }

    /// Whether `appeal` is in scope.
    pub fn admits(&self, appeal: &Appeal) -> bool {
        self.admits_terms(&crate::store::index::terms(appeal))
    }

    /// Whether an appeal found under `terms` ([`crate::store::index::terms`]) is in scope.
    pub fn admits_terms(&self, terms: &[(&'static str, String)]) -> bool {
        self.everything
            || self
                .any_of()
                .iter()
                .any(|all| all.iter().all(|(f, v)| terms.iter().any(|(tf, tv)| tf == f && tv == v)))
    }

    /// Whether an employee is in scope (a supervisor's team): in one of its departments and
    /// serving one of its regions (or all).
    pub fn covers(&self, employee: &Employee) -> bool {
        self.everything
            || ((self.departments.is_empty() || self.departments.contains(&employee.department))
                && (self.regions.is_empty()
                    || employee.regions.is_empty()
                    || employee.regions.iter().any(|r| self.regions.contains(r))))
    }

    /// `appeal` as this scope may see it: without the contact's e-mail, platform ids and
    /// cross-channel identity when contact details are withheld.
    pub fn redact(&self, mut appeal: Appeal) -> Appeal {
        if !self.contact_details {
            appeal.contact.email = None;
            appeal.contact.platform_user_id = None;
            appeal.contact_id = None;
            appeal.platform_id = String::new();
            appeal.conversation_key = String::new();
            appeal.metadata.clear();
        }
        appeal
    }

    /// Whether a department is in scope (for hand-offs and invitations).
    pub fn has_department(&self, directory: &Directory, department: &str) -> bool {
        let exists = directory.departments.iter().any(|d| d.id == department);
        exists
            && (self.everything
                || self.departments.is_empty()
                || self.departments.iter().any(|d| d == department))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employee(department: &str, regions: &[&str]) -> Employee {
        serde_json::from_value(serde_json::json!({
            "id": "olga", "department": department, "regions": regions
        }))
        .unwrap()
    }

    #[test]
    fn an_operator_sees_their_departments_in_their_regions_and_their_own_appeals() {
        let scope = Scope::of(Role::Operator, &employee("returns", &["kazan", "samara"]), &[]);
        let d = |v: &str| ("department".to_string(), v.to_string());
        let r = |v: &str| ("region".to_string(), v.to_string());
        assert_eq!(
            scope.any_of(),
            vec![
                vec![d("returns"), r("kazan")],
                vec![d("returns"), r("samara")],
                vec![("assignee".to_string(), "olga".to_string())]
            ]
        );
        assert!(scope.contact_details);
    }

    #[test]
    fn a_supervisor_of_all_departments_in_all_regions_sees_everything_and_a_master_no_details() {
        let all = Scope::of(Role::Supervisor, &employee("returns", &[]), &["*".to_string()]);
        assert!(all.everything && all.any_of().is_empty());
        let regional = Scope::of(Role::Supervisor, &employee("returns", &["kazan"]), &["*".to_string()]);
        assert_eq!(regional.any_of(), vec![vec![("region".to_string(), "kazan".to_string())]]);
        let master = Scope::of(Role::Master, &employee("grohe-service", &["kazan"]), &[]);
        assert!(!master.contact_details);
    }
}
