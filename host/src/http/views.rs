//! The console's views of the work, named for it: «Мои» (open, mine), «Без исполнителя» (open,
//! nobody holds it), «Просроченные» (open, a deadline missed), «Все открытые» and «Решённые».
//! Each is a set of index terms ([`crate::store::index::FIELDS`]) within the caller's scope, so
//! a view's list and count cost what the view holds, never the history. `GET /api/views`
//! answers each view's count; `GET /api/appeals?view=…` lists one, the open ones by deadline.

use super::call::{Answer, Call};
use super::reply::json;
use crate::appeal::Appeal;
use crate::store::AppealQuery;

/// A view's count stops here (the console shows «500+»).
pub const COUNT_CAP: usize = 500;

/// The views, in the order the console shows them.
pub const VIEWS: [&str; 5] = ["mine", "unassigned", "overdue", "open", "resolved"];

/// The terms of view `name` for an employee `me` (None: a token without an employee, for whom
/// «Мои» is empty); `None` for an unknown view.
pub fn terms(name: &str, me: Option<&str>) -> Option<Vec<(String, String)>> {
    let term = |f: &str, v: &str| (f.to_string(), v.to_string());
    Some(match name {
        // Nobody's: a term no appeal has.
        "mine" => vec![term("open", "yes"), term("assignee", me.unwrap_or("\0"))],
        "unassigned" => vec![term("unassigned", "yes")],
        "overdue" => vec![term("open", "yes"), term("overdue", "yes")],
        "open" => vec![term("open", "yes")],
        "resolved" => vec![term("status", "resolved")],
        _ => return None,
    })
}

/// Whether view `name` is work to do, shown nearest deadline first.
pub fn by_deadline(name: &str) -> bool {
    name != "resolved"
}

/// The deadline that matters now: the reaction's until it was taken, then the resolution's;
/// none sorts last.
fn deadline(appeal: &Appeal) -> u64 {
    let work = &appeal.work;
    let due =
        if work.taken_at.is_none() { work.reaction_due.or(work.resolution_due) } else { work.resolution_due };
    due.map_or(u64::MAX, |due| due.saturating_add(work.paused_ms))
}

/// Orders `appeals` nearest deadline first (then oldest first).
pub fn sort_by_deadline(appeals: &mut [Appeal]) {
    appeals.sort_by(|a, b| deadline(a).cmp(&deadline(b)).then_with(|| a.id.cmp(&b.id)));
}

/// `GET /api/views`: each view's count in the caller's scope, `capped` when it reached
/// [`COUNT_CAP`]; for an admin also `unowned`, the open appeals no department owns.
pub async fn counts(call: Call) -> Answer {
    let me = call.caller.employee.as_deref();
    let mut out = Vec::new();
    for name in VIEWS {
        let terms = terms(name, me).unwrap_or_default();
        let query = AppealQuery { terms, any_of: call.caller.scope.any_of(), ..AppealQuery::default() };
        let count = call.app.store.count_appeals(&query, COUNT_CAP)?;
        out.push(serde_json::json!({"id": name, "count": count, "capped": count >= COUNT_CAP}));
    }
    // What no department owns is nobody's to see but an admin's: they are told of it.
    if call.caller.role == crate::access::Role::Admin {
        let query = AppealQuery { terms: vec![("unowned".into(), "yes".into())], ..AppealQuery::default() };
        let count = call.app.store.count_appeals(&query, COUNT_CAP)?;
        out.push(serde_json::json!({"id": "unowned", "count": count, "capped": count >= COUNT_CAP}));
    }
    Ok(json(200, &out))
}
