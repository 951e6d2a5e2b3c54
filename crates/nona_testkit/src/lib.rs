//! Shared pieces of nona's tests: for property-based tests (hostile inputs), how many cases a
//! property runs and byte-level mutations of valid files; for parity tests, the [`Gap`] between a
//! result and its reference and [`device_tests!`], one test per device the build has.
//!
//! `make test` runs a few dozen cases per property; `PROPTEST_CASES=20000 cargo nextest run …`
//! runs the same properties long.

mod devices;
mod gap;

use proptest::prelude::*;

pub use candle_core;
pub use gap::Gap;

/// A property's config: `PROPTEST_CASES` cases when set, else `default`; no failure files are
/// written into the source tree.
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a file; positions are taken modulo the length (see [`mutate`]).
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte with `mask`.
    Flip {
        /// Where.
        at: usize,
        /// Non-zero bits to flip.
        mask: u8,
    },
    /// Keep only the bytes before `at`.
    Cut {
        /// Where.
        at: usize,
    },
    /// Insert `bytes` before `at`.
    Insert {
        /// Where.
        at: usize,
        /// What.
        bytes: Vec<u8>,
    },
    /// Remove up to `len` bytes from `at`.
    Delete {
        /// Where.
        at: usize,
        /// How many.
        len: usize,
    },
}

/// Flips are the most frequent edit, then cuts, insertions and deletions.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        2 => any::<usize>().prop_map(|at| Mutation::Cut { at }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

/// Applies `mutations` in order. Flips, insertions and deletions aim at the first 256 bytes half
/// of the time: that is where headers are.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        match mutation {
            Mutation::Flip { at, mask } if len > 0 => bytes[position(*at, len)] ^= mask,
            Mutation::Flip { .. } => {}
            Mutation::Cut { at } => bytes.truncate(at % (len + 1)),
            Mutation::Insert {
                at,
                bytes: inserted,
            } => {
                let at = position(*at, len + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Delete { at, len: count } if len > 0 => {
                let start = position(*at, len);
                bytes.drain(start..(start + count).min(len));
            }
            Mutation::Delete { .. } => {}
        }
    }
    bytes
}

/// A position below `len` (> 0), in the first 256 bytes for even `at`.
fn position(at: usize, len: usize) -> usize {
    if at.is_multiple_of(2) {
        (at / 2) % len.min(256)
    } else {
        (at / 2) % len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_in_bounds() {
        let file: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for at in [0, 1, 511, 512, 1999, 2000, usize::MAX] {
            let flipped = mutate(file.clone(), &[Mutation::Flip { at, mask: 1 }]);
            assert_eq!(flipped.iter().zip(&file).filter(|(a, b)| a != b).count(), 1);
            assert!(mutate(file.clone(), &[Mutation::Cut { at }]).len() <= file.len());
            let inserted = Mutation::Insert {
                at,
                bytes: vec![7; 3],
            };
            assert_eq!(mutate(file.clone(), &[inserted]).len(), file.len() + 3);
            let deleted = mutate(file.clone(), &[Mutation::Delete { at, len: 5 }]);
            assert!(deleted.len() < file.len() && deleted.len() >= file.len() - 5);
        }
        assert!(mutate(Vec::new(), &[Mutation::Flip { at: 3, mask: 1 }]).is_empty());
        assert!(mutate(Vec::new(), &[Mutation::Delete { at: 3, len: 2 }]).is_empty());
    }

    #[test]
    fn even_positions_hit_the_header() {
        for at in (0..10_000).step_by(2) {
            assert!(position(at, 100_000) < 256);
        }
        assert!(
            (1..10_000)
                .step_by(2)
                .any(|at| position(at, 100_000) >= 256)
        );
    }
}
