//! A queue tree's entries in memory. A queue is read from its front and its entries are
//! removed when their work is done; in a log-structured tree every removal leaves a tombstone
//! that each scan from the front must step over until compaction drops it, so a queue under
//! steady work would cost ever more to read. Its mirror holds just the pending entries: the
//! disk stays the record (loaded at open), the mirror answers every read.

use fjall::Slice;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The entries of one queue tree.
#[derive(Clone, Default)]
pub struct Mirror(Arc<RwLock<BTreeMap<Vec<u8>, Slice>>>);

impl Mirror {
    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<Slice> {
        self.read().get(key).cloned()
    }

    /// Sets (`Some`) or removes (`None`) `key`.
    pub fn set(&self, key: &[u8], value: Option<&[u8]>) {
        let mut map = self.write();
        match value {
            Some(value) => map.insert(key.to_vec(), value.into()),
            None => map.remove(key),
        };
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.write().clear();
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Entries between `lower` and `upper`, copied out a few at a time (the lock is not held
    /// between steps, so writers are never kept waiting by a slow reader).
    pub fn range(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> MirrorIter {
        MirrorIter { mirror: self.clone(), lower, upper, front: VecDeque::new(), back: VecDeque::new() }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Vec<u8>, Slice>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Vec<u8>, Slice>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Entries a walk copies out of the mirror per step under its lock.
const STEP: usize = 64;

/// A walk over a mirror's range from either end, copying [`STEP`] entries at a time past the
/// last ones it took, so entries added or removed meanwhile further on are seen as they are
/// then. Each end has its own buffer; when one end's range is used up, it takes from the
/// other end's buffer, so the two meet without giving any entry twice.
pub struct MirrorIter {
    mirror: Mirror,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    front: VecDeque<(Slice, Slice)>,
    /// In descending order.
    back: VecDeque<(Slice, Slice)>,
}

impl MirrorIter {
    fn refill(&mut self, from_back: bool) {
        if is_empty(&self.lower, &self.upper) {
            return;
        }
        let map = self.mirror.read();
        let range = map.range::<[u8], _>((as_ref(&self.lower), as_ref(&self.upper)));
        let copy = |(k, v): (&Vec<u8>, &Slice)| (k.clone(), v.clone());
        let taken: Vec<_> = match from_back {
            true => range.rev().take(STEP).map(copy).collect(),
            false => range.take(STEP).map(copy).collect(),
        };
        drop(map);
        if let Some((last, _)) = taken.last() {
            let past = Bound::Excluded(last.clone());
            match from_back {
                true => self.upper = past,
                false => self.lower = past,
            }
        }
        let buffer = if from_back { &mut self.back } else { &mut self.front };
        buffer.extend(taken.into_iter().map(|(k, v)| (Slice::from(k), v)));
    }
}

impl Iterator for MirrorIter {
    type Item = (Slice, Slice);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front.is_empty() {
            self.refill(false);
        }
        self.front.pop_front().or_else(|| self.back.pop_back())
    }
}

impl DoubleEndedIterator for MirrorIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.back.is_empty() {
            self.refill(true);
        }
        self.back.pop_front().or_else(|| self.front.pop_back())
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

/// Whether no key can lie between the bounds (`BTreeMap::range` panics on some of these).
fn is_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_from_both_ends_gives_every_entry_once_in_order() {
        let mirror = Mirror::default();
        let all: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for key in &all {
            mirror.set(key, Some(b"v"));
        }
        let mut walk = mirror.range(Bound::Unbounded, Bound::Unbounded);
        let (mut front, mut back) = (Vec::new(), Vec::new());
        for turn in 0.. {
            let step = if turn % 3 == 0 { walk.next_back() } else { walk.next() };
            let Some((key, _)) = step else { break };
            if turn % 3 == 0 { back.push(key.to_vec()) } else { front.push(key.to_vec()) }
        }
        back.reverse();
        assert_eq!([front, back].concat(), all);
    }

    #[test]
    fn ranges_and_changes_are_seen() {
        let mirror = Mirror::default();
        for key in [b"a", b"b", b"c", b"d"] {
            mirror.set(key, Some(b"v"));
        }
        let keys = |it: MirrorIter| it.map(|(k, _)| k.to_vec()).collect::<Vec<_>>();
        assert_eq!(keys(mirror.range(Bound::Included(b"b".to_vec()), Bound::Unbounded)), [b"b", b"c", b"d"]);
        mirror.set(b"c", None);
        mirror.set(b"bb", Some(b"v"));
        let seen = keys(mirror.range(Bound::Excluded(b"a".to_vec()), Bound::Excluded(b"d".to_vec())));
        assert_eq!(seen, [b"b".to_vec(), b"bb".to_vec()]);
        assert_eq!(mirror.len(), 4);
        assert!(
            keys(mirror.range(Bound::Excluded(b"b".to_vec()), Bound::Excluded(b"b".to_vec()))).is_empty()
        );
    }
}
