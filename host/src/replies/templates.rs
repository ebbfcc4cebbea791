//! Ready answers: reply templates admins manage, for every appeal or for one topic, with
//! variables filled from the appeal and the operator — `{{customer}}` (the contact's name),
//! `{{appeal}}` (its number), `{{store}}` (the store it names), `{{topic}}` (the topic's name)
//! and `{{operator}}` (who answers). The operator inserts one, edits it and sends it as any
//! reply.

use crate::appeal::Appeal;
use crate::directory::Directory;
use crate::refusal::Refusal;
use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The setting the templates are kept under.
const SETTING: &str = "reply_templates";
/// The variables a template may use.
pub const VARIABLES: [&str; 5] = ["customer", "appeal", "store", "topic", "operator"];

/// A ready answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Stable id.
    pub id: String,
    /// What the operator picks it by.
    pub name: String,
    /// Only for appeals of this topic (none: for all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The text, with `{{variable}}`s.
    pub text: String,
}

/// Every template.
///
/// # Errors
/// On storage failure.
pub fn all(store: &Store) -> Result<Vec<Template>> {
    Ok(store.setting(SETTING)?.unwrap_or_default())
}

/// The `{{name}}`s in a text.
fn variables(text: &str) -> Vec<&str> {
    text.split("{{").skip(1).filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim())).collect()
}

/// Replaces the templates after checking them: ids present and unique, names and texts not
/// empty, topics that exist, only known variables.
///
/// # Errors
/// [`Refusal::Invalid`] listing every problem; storage failure.
pub fn replace(
    store: &Store,
    templates: Vec<Template>,
    directory: &Directory,
) -> Result<Vec<Template>, Refusal> {
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in &templates {
        if t.id.trim().is_empty() || !ids.insert(t.id.as_str()) {
            problems.push(format!("template id '{}' is empty or used twice", t.id));
        }
        if t.name.trim().is_empty() || t.text.trim().is_empty() {
            problems.push(format!("template '{}' needs a name and a text", t.id));
        }
        if let Some(topic) = t.topic.as_ref().filter(|x| !directory.topics.iter().any(|d| &&d.id == x)) {
            problems.push(format!("template '{}' names unknown topic '{topic}'", t.id));
        }
        for unknown in variables(&t.text).into_iter().filter(|v| !VARIABLES.contains(v)) {
            problems.push(format!(
                "template '{}' uses unknown variable {{{{{unknown}}}}} (known: {})",
                t.id,
                VARIABLES.join(", ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems.join("; ")));
    }
    store.put_setting(SETTING, &templates)?;
    Ok(templates)
}

/// The templates for `appeal` (its topic's and the general ones), filled in for `operator`.
///
/// # Errors
/// On storage failure.
pub fn for_appeal(store: &Store, appeal: &Appeal, operator: &str) -> Result<Vec<Template>> {
    let directory = store.directory();
    let topic = appeal.decision.as_ref().and_then(|d| d.topic.clone());
    let topic_name = topic
        .as_ref()
        .and_then(|t| directory.topics.iter().find(|x| &x.id == t))
        .map(|t| if t.name.is_empty() { t.id.clone() } else { t.name.clone() })
        .unwrap_or_default();
    let store_number =
        appeal.metadata.iter().find(|(k, _)| k == "store").map(|(_, v)| v.clone()).unwrap_or_default();
    let values = [
        ("customer", appeal.contact.name.clone().unwrap_or_default()),
        // The short number people say on the phone.
        ("appeal", appeal.label()),
        ("store", store_number),
        ("topic", topic_name),
        ("operator", operator.to_string()),
    ];
    Ok(all(store)?
        .into_iter()
        .filter(|t| t.topic.is_none() || t.topic == topic)
        .map(|mut t| {
            for (name, value) in &values {
                t.text = t.text.replace(&format!("{{{{{name}}}}}", name = name), value);
                t.text = t.text.replace(&format!("{{{{ {name} }}}}", name = name), value);
            }
            t
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::variables;

    #[test]
    fn variables_are_read_with_or_without_spaces() {
        assert_eq!(
            variables("Здравствуйте, {{customer}}! Обращение {{ appeal }}."),
            vec!["customer", "appeal"]
        );
        assert!(variables("без переменных").is_empty());
    }
}
