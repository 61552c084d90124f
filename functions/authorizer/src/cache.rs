//! Small bounded in-process memories of the authorizer, kept per Lambda container.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values kept for at most `ttl`, at most `capacity` of them. When full, expired
/// entries go first, then everything: a cold map is only a few extra reads.
#[derive(Debug)]
pub struct TtlMap<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlMap {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored for `key` less than `ttl` ago.
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|(_, stored)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(value, _)| value.clone())
    }

    pub fn insert(&self, key: K, value: V, now: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored)| now.saturating_duration_since(*stored) < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, now));
    }

    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry (a stage's authorizer cache flushed).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let map = TtlMap::new(Duration::from_secs(5), 10);
        let t0 = Instant::now();
        map.insert("a", 1, t0);
        assert_eq!(map.get(&"a", t0 + Duration::from_secs(4)), Some(1));
        assert_eq!(map.get(&"a", t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn size_stays_within_capacity() {
        let map = TtlMap::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for i in 0..100 {
            map.insert(i, i, t0);
            assert!(map.len() <= 3);
        }
        assert_eq!(map.get(&99, t0), Some(99));
    }

    #[test]
    fn zero_ttl_or_capacity_disables_caching() {
        let t0 = Instant::now();
        let off = TtlMap::new(Duration::ZERO, 10);
        off.insert(1, 1, t0);
        assert!(off.is_empty());
        let none = TtlMap::new(Duration::from_secs(5), 0);
        none.insert(1, 1, t0);
        assert_eq!(none.get(&1, t0), None);
    }
}
