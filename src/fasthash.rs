//! A fast, non-cryptographic hasher for the small hash maps of the row loop (rustc's FxHash): keys are names from
//! the configuration and the bill, not attacker-chosen at a scale where flooding matters, and SipHash was a measured
//! 3% of a run.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// The FxHash of a string's bytes and length.
pub fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    h.finish()
}

/// Values derived from text (a parsed resource id, a parsed `Tags` cell), remembered by that text for the rows that
/// repeat it. Direct-mapped and fixed in size, a new text taking its slot, so memory stays bounded whatever the
/// input; a value is only handed out for a text that is equal to the one it was made from.
pub struct TextCache<V> {
    slots: Vec<Option<(String, V)>>,
    /// Longer texts are not cached (nor copied).
    max_len: usize,
}

impl<V> TextCache<V> {
    pub fn new(slots: usize, max_len: usize) -> TextCache<V> {
        TextCache { slots: (0..slots.max(1)).map(|_| None).collect(), max_len }
    }

    /// The value for `text`, made by `make` when it is not cached; `None` for a text longer than the cache takes.
    pub fn get_or_make(&mut self, text: &str, make: impl FnOnce() -> V) -> Option<&V> {
        if text.len() > self.max_len {
            return None;
        }
        let slot = (hash_str(text) >> 32) as usize % self.slots.len();
        let hit = matches!(&self.slots[slot], Some((t, _)) if t == text);
        if !hit {
            let value = make();
            match &mut self.slots[slot] {
                Some((t, v)) => {
                    t.clear();
                    t.push_str(text);
                    *v = value;
                }
                empty => *empty = Some((text.to_string(), value)),
            }
        }
        self.slots[slot].as_ref().map(|(_, v)| v)
    }
}
