//! Rate limits on unauthenticated failures: a source address whose webhook requests keep
//! failing verification (or whose sign-ins keep failing, counted as the channel `sign-in`) is
//! answered 429 before its body is read, for the rest of the minute.
//! An address may fail [`PER_ADDRESS`] times a minute; on a channel under attack (more than
//! [`CHANNEL_ALARM`] failures this minute) only [`UNDER_ATTACK`]. A platform whose requests
//! pass verification never fails, so it is never locked out. IPv6 addresses count by /64 (one
//! subscriber's network), and the table is bounded, so a flood from many addresses cannot grow
//! memory without end.

use super::limits::by_network;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Failures an address may have in a minute.
pub const PER_ADDRESS: u32 = 30;
/// Failures of one channel in a minute after which it counts as under attack.
pub const CHANNEL_ALARM: u32 = 300;
/// Failures an address may have in a minute on a channel under attack.
pub const UNDER_ATTACK: u32 = 3;
/// Addresses tracked at most; past it, this minute's newcomers are judged by their channel.
const MAX_ADDRESSES: usize = 100_000;

/// Failures in the current minute.
#[derive(Default)]
struct Window {
    minute: u64,
    by_address: HashMap<(IpAddr, String), u32>,
    by_channel: HashMap<String, u32>,
}

/// The failure counts of the current minute.
pub struct Lockout {
    started: Instant,
    window: Mutex<Window>,
}

impl Default for Lockout {
    fn default() -> Self {
        Self { started: Instant::now(), window: Mutex::default() }
    }
}

impl Lockout {
    fn current(&self) -> std::sync::MutexGuard<'_, Window> {
        let minute = self.started.elapsed().as_secs() / 60;
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.minute != minute {
            *window = Window { minute, ..Window::default() };
        }
        window
    }

    /// Whether `ip` is locked out of `channel` for the rest of the minute.
    pub fn is_locked(&self, ip: IpAddr, channel: &str) -> bool {
        let window = self.current();
        let failures = window.by_address.get(&(by_network(ip), channel.to_string())).copied().unwrap_or(0);
        let attacked = window.by_channel.get(channel).is_some_and(|n| *n > CHANNEL_ALARM);
        failures >= if attacked { UNDER_ATTACK } else { PER_ADDRESS }
    }

    /// Counts a request from `ip` that `channel` refused as unauthenticated.
    pub fn failed(&self, ip: IpAddr, channel: &str) {
        Self::count(&mut self.current(), ip, channel);
    }

    fn count(window: &mut Window, ip: IpAddr, channel: &str) {
        *window.by_channel.entry(channel.to_string()).or_default() += 1;
        let key = (by_network(ip), channel.to_string());
        if window.by_address.len() < MAX_ADDRESSES || window.by_address.contains_key(&key) {
            *window.by_address.entry(key).or_default() += 1;
        }
    }

    /// Takes an attempt of `ip` at `channel` before the work it costs is done: counted as a
    /// failure at once (parallel attempts cannot all slip under the limit), unless `ip` is
    /// locked out already; whether it may go on. One that passes is [`Lockout::forgive`]n.
    pub fn attempt(&self, ip: IpAddr, channel: &str) -> bool {
        let mut window = self.current();
        let failures = window.by_address.get(&(by_network(ip), channel.to_string())).copied().unwrap_or(0);
        let attacked = window.by_channel.get(channel).is_some_and(|n| *n > CHANNEL_ALARM);
        if failures >= if attacked { UNDER_ATTACK } else { PER_ADDRESS } {
            return false;
        }
        Self::count(&mut window, ip, channel);
        true
    }

    /// Takes back an attempt that [`Lockout::attempt`] counted and that passed.
    pub fn forgive(&self, ip: IpAddr, channel: &str) {
        let mut window = self.current();
        if let Some(n) = window.by_address.get_mut(&(by_network(ip), channel.to_string())) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = window.by_channel.get_mut(channel) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_locked_out_after_its_failures_and_others_are_not() {
        let lockout = Lockout::default();
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let platform: IpAddr = "149.154.167.220".parse().unwrap();
        for _ in 0..PER_ADDRESS {
            assert!(!lockout.is_locked(attacker, "telegram"));
            lockout.failed(attacker, "telegram");
        }
        assert!(lockout.is_locked(attacker, "telegram"));
        assert!(!lockout.is_locked(attacker, "vk"), "counted per channel");
        assert!(!lockout.is_locked(platform, "telegram"));
    }

    #[test]
    fn a_channel_under_attack_tolerates_fewer_failures() {
        let lockout = Lockout::default();
        for n in 0..=CHANNEL_ALARM {
            lockout.failed(IpAddr::from([198, 51, (n / 256) as u8, n as u8]), "webform");
        }
        let newcomer: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..UNDER_ATTACK {
            assert!(!lockout.is_locked(newcomer, "webform"));
            lockout.failed(newcomer, "webform");
        }
        assert!(lockout.is_locked(newcomer, "webform"));
    }

    #[test]
    fn attempts_are_taken_before_the_work_and_forgiven_when_they_pass() {
        let lockout = Lockout::default();
        let office: IpAddr = "203.0.113.8".parse().unwrap();
        // A hundred people of one office sign in: each attempt passes and is forgiven.
        for _ in 0..100 {
            assert!(lockout.attempt(office, "sign-in"));
            lockout.forgive(office, "sign-in");
        }
        // Parallel guesses: only the first PER_ADDRESS get to the work.
        let taken = (0..200).filter(|_| lockout.attempt(office, "sign-in")).count();
        assert_eq!(taken, PER_ADDRESS as usize);
    }

    #[test]
    fn ipv6_counts_by_network() {
        let lockout = Lockout::default();
        for n in 0..PER_ADDRESS {
            lockout.failed(format!("2001:db8:1:2::{n:x}").parse().unwrap(), "ok");
        }
        assert!(lockout.is_locked("2001:db8:1:2:ffff::1".parse().unwrap(), "ok"));
        assert!(!lockout.is_locked("2001:db8:1:3::1".parse().unwrap(), "ok"));
    }
}
