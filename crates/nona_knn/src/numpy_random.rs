//! numpy's legacy `RandomState` as far as scikit-learn's `KFold(shuffle=True)` uses it: the
//! MT19937 generator seeded from one integer, and `shuffle` / `permutation`.
//!
//! Written from the algorithm descriptions: MT19937 as published by Matsumoto and Nishimura
//! (1998; state initialised by their 2002 `init_genrand` recurrence, which is what numpy does for
//! an integer seed), and numpy's legacy bounded draw for the Fisher-Yates shuffle, which takes a
//! 32-bit output (two, high word first, above `u32::MAX`), masks it to the smallest all-ones
//! bit pattern covering the bound and rejects values above the bound.

/// Words of MT19937 state.
const STATE_WORDS: usize = 624;
/// Offset of the word mixed into each new word.
const SHIFT: usize = 397;
/// Twist matrix coefficient.
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_BIT: u32 = 0x8000_0000;
const LOWER_BITS: u32 = 0x7fff_ffff;

/// `numpy.random.RandomState(seed)` for an integer seed (numpy accepts 0 ..= 2³² − 1).
#[derive(Clone)]
pub struct RandomState {
    state: [u32; STATE_WORDS],
    /// Next state word to temper; `STATE_WORDS` means the state must be regenerated first.
    next: usize,
}

impl RandomState {
    /// The generator numpy builds for `RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; STATE_WORDS];
        state[0] = seed;
        for i in 1..STATE_WORDS {
            let previous = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            state,
            next: STATE_WORDS,
        }
    }

    /// The next 32-bit output (numpy's `random_raw` of the legacy bit generator).
    pub fn next_u32(&mut self) -> u32 {
        if self.next == STATE_WORDS {
            self.regenerate();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `0 ..= max`, drawn as numpy's legacy `shuffle` draws its swap index.
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let draw = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32())
            } else {
                (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
            };
            if draw & mask <= max {
                return draw & mask;
            }
        }
    }

    /// `RandomState.shuffle` of a 1-d array: Fisher-Yates from the last element down, swapping
    /// element `i` with a uniform index in `0 ..= i`.
    pub fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            let j = self.interval(i as u64) as usize;
            values.swap(i, j);
        }
    }

    /// `RandomState.permutation(n)`: `0..n` shuffled.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..n).collect();
        self.shuffle(&mut values);
        values
    }

    /// Computes the next `STATE_WORDS` words of the recurrence in place.
    fn regenerate(&mut self) {
        for i in 0..STATE_WORDS {
            let y = (self.state[i] & UPPER_BIT) | (self.state[(i + 1) % STATE_WORDS] & LOWER_BITS);
            let twisted = (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + SHIFT) % STATE_WORDS] ^ twisted;
        }
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::RandomState;

    #[test]
    fn matches_the_reference_mt19937_outputs() {
        // The 10000th output of MT19937 seeded by init_genrand(5489), the value the C++
        // standard requires of std::mt19937 (a check independent of numpy's fixtures).
        let mut rng = RandomState::new(5489);
        let outputs: Vec<u32> = (0..10_000).map(|_| rng.next_u32()).collect();
        assert_eq!(outputs[0], 3_499_211_612);
        assert_eq!(outputs[9_999], 4_123_659_995);
    }

    #[test]
    fn interval_stays_within_its_bound_and_reaches_it() {
        let mut rng = RandomState::new(3);
        for max in [0u64, 1, 2, 5, 8, 1 << 31, u64::from(u32::MAX), 1 << 40] {
            let draws: Vec<u64> = (0..200).map(|_| rng.interval(max)).collect();
            assert!(draws.iter().all(|&d| d <= max), "max {max}");
            if max <= 8 {
                assert!(draws.contains(&max), "max {max} never drawn");
            }
        }
    }
}
