//! Why an admin or operator request was refused — the one error type of the registry, the
//! reply outbox and the operator actions, so the API answers them all the same way
//! (400, 404, 409, 500).

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The input is wrong; the message says how (400).
    #[error("{0}")]
    Invalid(String),
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Resolving with required checklist items open (409): their texts.
    #[error("не выполнены обязательные пункты (required checklist items are open): {}", .0.join("; "))]
    ChecklistOpen(Vec<String>),
    /// Storage failed (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Refusal {
    /// The HTTP status that says it.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Invalid(_) => 400,
            Refusal::NotFound(_) => 404,
            Refusal::Conflict(_) | Refusal::ChecklistOpen(_) => 409,
            Refusal::Internal(_) => 500,
        }
    }
}
