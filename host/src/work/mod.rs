//! Who works on an appeal, and its SLA: assignment ([`assignment`]), operator actions
//! ([`actions`]), SLA clocks ([`sla`]), and the dispatcher that ties them together.
//!
//! The dispatcher runs a few times a second. It assigns every waiting appeal it can (so an
//! appeal that arrived while everyone was busy or off work is assigned as soon as someone
//! frees up), moves appeals not taken in time up their department's escalation ladder, flags
//! missed SLA deadlines with an `overdue` event and sends the department's overdue notice —
//! through a channel adapter (the brigade's Telegram chat, an e-mail) or to a webhook; the
//! notices of work as it arrives are [`notices`]'.

pub mod actions;
pub mod assignment;
pub mod checklist;
pub mod notices;
pub mod sla;
mod survey;

use crate::appeal::{Appeal, Status};
use crate::directory::{Department, Directory};
use crate::event::{Clock, Event, NoticeKind, NoticeOutcome};
use crate::registry::Registry;
use crate::store::Store;
use crate::supervisor::{Rest, Role, Round, Supervisor};
use anyhow::Result;
use assignment::Choice;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the dispatcher looks at the open appeals.
const TICK: Duration = Duration::from_millis(250);

/// The dispatcher.
pub struct Dispatcher {
    store: Store,
    registry: Arc<Registry>,
    /// The employee round-robin chose last, per department.
    last: Mutex<HashMap<String, String>>,
    /// When each open appeal needs looking at again, so a tick reads only the appeals due.
    memo: Mutex<Memo>,
}

/// What earlier ticks learned. An appeal is read again when something can happen to it (a
/// deadline, an escalation), at the latest a minute later (so changes made by operators are
/// seen); a waiting appeal nobody could take, when the directory, the employees' loads or the
/// minute change.
#[derive(Default)]
struct Memo {
    /// The situation the waiting appeals were judged in.
    situation: u64,
    /// Open appeal → when to check its deadlines and escalation again.
    check_at: HashMap<String, u64>,
    /// Waiting appeal → when to try assigning it again.
    assign_at: HashMap<String, u64>,
}

/// Longest an appeal goes unread by the dispatcher.
const RECHECK_MS: u64 = 60_000;

impl Dispatcher {
    /// A dispatcher over `store`; notices go out through the registry's channel adapters.
    pub fn new(store: Store, registry: Arc<Registry>) -> Arc<Self> {
        Arc::new(Self {
            store,
            registry,
            last: Mutex::new(HashMap::new()),
            memo: Mutex::new(Memo::default()),
        })
    }

    /// Starts it; it runs until the runtime stops.
    pub fn spawn(self: &Arc<Self>, workers: &Supervisor) {
        let dispatcher = self.clone();
        // A tick reads the open appeals' index; with a large backlog it may take a while, so it
        // rests ten times as long (at most a tenth of a core).
        workers.every("dispatcher", Role::Leader, Rest::Proportional(TICK, 10), None, move || {
            let ticking = dispatcher.clone();
            async move {
                // On a thread for blocking work: a tick over a large backlog takes tens of
                // milliseconds, which on a runtime worker would stall the requests queued there.
                tokio::task::spawn_blocking(move || ticking.tick()).await??;
                crate::metrics::dispatcher_tick();
                Ok(Round::Rest)
            }
        });
    }

    fn tick(&self) -> Result<()> {
        let now = self.store.now_ms();
        let directory = self.store.directory();
        let holdings = self.store.holdings()?;
        let not_at_work = crate::access::presence::not_at_work(&self.store)?;
        let holdings = self.return_from_the_absent(holdings, &not_at_work.off_since, &directory, now)?;
        let mut team = assignment::Team {
            absent: not_at_work.absent,
            takes_no_work: not_at_work.takes_no_work,
            ..Default::default()
        };
        for (employee, _) in &holdings {
            *team.load.entry(employee.clone()).or_default() += 1;
        }
        let waiting = self.store.waiting()?;
        // Hashed, not ordered: with a large backlog this set is most of a tick's work.
        let open: HashSet<&str> =
            waiting.iter().map(String::as_str).chain(holdings.iter().map(|(_, a)| a.as_str())).collect();
        let situation = situation(&directory, &team, now);
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.situation != situation {
            memo.situation = situation;
            memo.assign_at.clear();
        }
        memo.check_at.retain(|id, _| open.contains(id.as_str()));
        memo.assign_at.retain(|id, _| open.contains(id.as_str()));
        // The appeals due, oldest first.
        let mut due: Vec<&str> =
            open.into_iter().filter(|id| memo.check_at.get(*id).is_none_or(|at| *at <= now)).collect();
        due.sort_unstable();
        for id in due {
            let Some(appeal) = self.store.appeal(id)? else { continue };
            let appeal = self.escalate(appeal, &directory, now)?;
            self.check_sla(&appeal, &directory, now)?;
            memo.check_at.insert(id.to_string(), next_event(&appeal, &directory, now).min(now + RECHECK_MS));
        }
        for id in waiting {
            if memo.assign_at.get(&id).is_some_and(|at| *at > now) {
                continue;
            }
            let Some(appeal) = self.store.appeal(&id)? else { continue };
            if appeal.is_waiting() && !self.assign(&appeal, &directory, &mut team, now)? {
                memo.assign_at.insert(id, now + RECHECK_MS);
            }
        }
        Ok(())
    }

    /// Puts back in the queue the open appeals of people off longer than the directory's
    /// `return_after_minutes` (those they held before going off; what was handed to them
    /// since was handed knowingly); the holdings that remain.
    fn return_from_the_absent(
        &self,
        holdings: Vec<(String, String)>,
        off_since: &HashMap<String, u64>,
        directory: &Directory,
        now: u64,
    ) -> Result<Vec<(String, String)>> {
        let grace = directory.return_after_minutes.unwrap_or(crate::directory::DEFAULT_RETURN_AFTER_MINUTES);
        let mut kept = Vec::with_capacity(holdings.len());
        for (employee, id) in holdings {
            let Some(since) = off_since.get(&employee).filter(|s| now >= **s + u64::from(grace) * 60_000)
            else {
                kept.push((employee, id));
                continue;
            };
            let minutes = u32::try_from((now - since) / 60_000).unwrap_or(u32::MAX);
            let returns = |a: &Appeal| {
                a.work.assignee.as_deref() == Some(employee.as_str())
                    && a.work.assigned_at.is_none_or(|at| at <= *since)
                    && matches!(a.status, Status::Routed | Status::InWork)
            };
            if !self.store.appeal(&id)?.is_some_and(|a| returns(&a)) {
                kept.push((employee, id));
                continue;
            }
            self.store.change_appeal(&id, |a| {
                if returns(a) {
                    a.work.assignee = None;
                    a.work.assigned_at = None;
                    a.status = Status::Routed;
                    a.record(now, None, Event::Returned { from: employee.clone(), minutes });
                }
            })?;
        }
        Ok(kept)
    }

    /// Assigns a waiting appeal, or records once why it waits; whether it was assigned.
    fn assign(
        &self,
        appeal: &Appeal,
        directory: &Directory,
        team: &mut assignment::Team,
        now: u64,
    ) -> Result<bool> {
        let department = appeal.work.department.clone().unwrap_or_default();
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).get(&department).cloned();
        match assignment::choose(appeal, directory, team, last.as_deref(), now) {
            Choice::Assign { employee, strategy, open } => {
                self.store.change_appeal(&appeal.id, |a| {
                    if a.is_waiting() {
                        a.work.assignee = Some(employee.clone());
                        a.work.assigned_at = Some(now);
                        a.work.waiting_reason = None;
                        a.record(now, None, Event::Assigned { employee: employee.clone(), strategy, open });
                    }
                })?;
                *team.load.entry(employee.clone()).or_default() += 1;
                self.last.lock().unwrap_or_else(|e| e.into_inner()).insert(department, employee);
                return Ok(true);
            }
            Choice::Wait { queue, reason } => {
                let waiting = Event::Waiting { queue: queue.clone(), reason };
                // What a supervisor reads; recorded when it changes, not at every tick.
                let why = crate::text::render(&waiting, crate::text::Lang::Ru, directory);
                if appeal.work.waiting_reason.as_ref() != Some(&why) {
                    self.store.change_appeal(&appeal.id, |a| {
                        a.work.queue = Some(queue.clone());
                        a.work.waiting_reason = Some(why.clone());
                        a.record(now, None, waiting.clone());
                    })?;
                }
            }
            Choice::Manual => {}
        }
        Ok(false)
    }

    /// Moves an appeal not taken in time to the department's next escalation level; the
    /// appeal as it is now.
    fn escalate(&self, appeal: Appeal, directory: &Directory, now: u64) -> Result<Appeal> {
        let Some(department) = department(&appeal, directory) else { return Ok(appeal) };
        let (Some(next), Some(after)) = (&department.escalate_to, department.escalate_after_minutes) else {
            return Ok(appeal);
        };
        if appeal.work.taken_at.is_some() || now < appeal.work.since + u64::from(after) * 60_000 {
            return Ok(appeal);
        }
        let from = department.id.clone();
        let escalated = Event::Escalated {
            from: Some(from.clone()),
            to: next.clone(),
            by: None,
            reason: None,
            after_minutes: Some(after),
        };
        let moved = self.store.change_appeal(&appeal.id, |a| {
            actions::move_to(a, directory, next, now);
            a.work.escalations += 1;
            a.record(now, None, escalated.clone());
        })?;
        tracing::info!(appeal = %appeal.id, from = %from, to = %next, "escalated");
        Ok(moved.unwrap_or(appeal))
    }

    /// Flags missed deadlines and sends the notices.
    fn check_sla(&self, appeal: &Appeal, directory: &Directory, now: u64) -> Result<()> {
        for (breach, due) in sla::breaches(appeal, sla::pause_limit(directory), now) {
            let late = (now - due) / 60_000;
            let updated = self.store.change_appeal(&appeal.id, |a| {
                match breach {
                    sla::Breach::Reaction => a.work.reaction_overdue_at = Some(now),
                    sla::Breach::Resolution => a.work.resolution_overdue_at = Some(now),
                }
                let clock = match breach {
                    sla::Breach::Reaction => Clock::Reaction,
                    sla::Breach::Resolution => Clock::Resolution,
                };
                a.record(now, None, Event::Overdue { clock, late_minutes: late });
            })?;
            tracing::warn!(appeal = %appeal.id, breach = breach.name(), "SLA deadline missed");
            crate::metrics::sla_breach(breach.name(), appeal.work.department.as_deref().unwrap_or("-"));
            let notify = department(appeal, directory).and_then(|d| {
                let regional = appeal.work.region.as_ref().and_then(|r| d.notify_regions.get(r));
                regional.or(d.notify.as_ref()).cloned()
            });
            if let (Some(updated), Some(notify)) = (updated, notify) {
                let text = notice(&updated, directory, breach);
                let (store, registry) = (self.store.clone(), self.registry.clone());
                tokio::spawn(async move {
                    let subject = format!("Просрочено обращение {}", updated.id);
                    let outcome = notices::send(
                        &registry,
                        &store,
                        &notify,
                        &updated,
                        NoticeKind::Overdue,
                        &subject,
                        &text,
                    )
                    .await;
                    let (channel, recipient) = (notify.channel.clone(), notices::recipient(&notify));
                    let outcome = match outcome {
                        Ok(()) => NoticeOutcome::Sent { channel, recipient },
                        Err(error) => NoticeOutcome::Failed { channel, recipient, error },
                    };
                    let now = store.now_ms();
                    let told = Event::OverdueNotice { outcome };
                    if let Err(e) =
                        store.update_appeal(&updated.id, None, |a| a.record(now, None, told.clone()))
                    {
                        tracing::error!("recording an overdue notice failed: {e:#}");
                    }
                });
            }
        }
        Ok(())
    }
}

/// A fingerprint of what assignment depends on: the directory (by address: it is replaced,
/// never changed in place), each employee's load, the minute (working hours).
fn situation(directory: &Arc<Directory>, team: &assignment::Team, now: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (Arc::as_ptr(directory) as usize).hash(&mut hasher);
    let mut loads: Vec<_> = team.load.iter().collect();
    loads.sort();
    loads.hash(&mut hasher);
    let mut absent: Vec<_> = team.absent.iter().map(|(e, s)| (e, *s as u8)).collect();
    absent.sort();
    absent.hash(&mut hasher);
    (now / 60_000).hash(&mut hasher);
    hasher.finish()
}

/// The earliest instant something can happen to an open appeal: a deadline to flag (the
/// pause credit can only move it later) or an escalation; `u64::MAX` when nothing can.
fn next_event(appeal: &Appeal, directory: &Directory, now: u64) -> u64 {
    let work = &appeal.work;
    let credit = sla::pause_credit(work, sla::pause_limit(directory), now);
    let reaction =
        work.reaction_due.filter(|_| work.taken_at.is_none() && work.reaction_overdue_at.is_none());
    let resolution = work.resolution_due.filter(|_| work.resolution_overdue_at.is_none());
    let escalation = department(appeal, directory)
        .filter(|d| d.escalate_to.is_some() && work.taken_at.is_none())
        .and_then(|d| d.escalate_after_minutes)
        .map(|after| work.since + u64::from(after) * 60_000);
    [reaction.map(|d| d + credit), resolution.map(|d| d + credit), escalation]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX)
}

fn department<'a>(appeal: &Appeal, directory: &'a Directory) -> Option<&'a Department> {
    let id = appeal.work.department.as_deref()?;
    directory.departments.iter().find(|d| d.id == id)
}

/// The overdue notice a department's chat reads, in Russian: which deadline, the appeal, its
/// channel and department, who holds it and the manager, by name, and the customer's words.
fn notice(appeal: &Appeal, directory: &Directory, breach: sla::Breach) -> String {
    let name = |id: &Option<String>| {
        id.as_ref()
            .map(|id| directory.employees.iter().find(|e| &e.id == id).map_or(id.clone(), |e| e.name.clone()))
            .unwrap_or_else(|| "никто".into())
    };
    let department = department(appeal, directory);
    let deadline = match breach {
        sla::Breach::Reaction => "срок реакции",
        sla::Breach::Resolution => "срок решения",
    };
    let excerpt: String = appeal.text.chars().take(120).collect();
    format!(
        "{}: {deadline} по обращению {} ({}), отдел «{}»; исполнитель: {}; руководитель: {}.\n«{}»",
        crate::text::notice_title(NoticeKind::Overdue, crate::text::Lang::Ru),
        appeal.id,
        appeal.channel,
        department.map_or("—", |d| d.name.as_str()),
        name(&appeal.work.assignee),
        name(&department.and_then(|d| d.manager.clone())),
        excerpt.trim(),
    )
}
