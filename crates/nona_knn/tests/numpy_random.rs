//! numpy's legacy `RandomState` (the shuffle of `KFold(shuffle=True)`) against outputs of numpy
//! 2.4.6 (`tests/fixtures/knn/make_knn_fixtures.py` writes `numpy_random.json`).

mod common;

use nona_knn::numpy_random::RandomState;
use serde::Deserialize;

#[derive(Deserialize)]
struct Raw {
    seed: u32,
    values: Vec<u32>,
}

#[derive(Deserialize)]
struct Permutation {
    seed: u32,
    n: usize,
    permutation: Vec<usize>,
}

#[derive(Deserialize)]
struct Intervals {
    seed: u32,
    max: u64,
    values: Vec<u64>,
}

#[derive(Deserialize)]
struct Fixture {
    raw: Vec<Raw>,
    permutations: Vec<Permutation>,
    intervals_u64: Vec<Intervals>,
}

fn fixture() -> Fixture {
    let text =
        std::fs::read_to_string(common::fixture_path("numpy_random.json")).expect("fixture file");
    serde_json::from_str(&text).expect("fixture json")
}

#[test]
fn raw_outputs_match_numpy_for_every_seed() {
    let fixture = fixture();
    assert!(fixture.raw.iter().any(|r| r.seed == u32::MAX));
    for case in &fixture.raw {
        let mut rng = RandomState::new(case.seed);
        let ours: Vec<u32> = (0..case.values.len()).map(|_| rng.next_u32()).collect();
        assert_eq!(ours, case.values, "seed {}", case.seed);
    }
}

#[test]
fn permutations_match_numpy_including_rejected_draws() {
    let fixture = fixture();
    // Lengths just above a power of two reject about half of the masked draws.
    assert!(fixture.permutations.iter().any(|p| p.n == 4097));
    for case in &fixture.permutations {
        assert_eq!(
            RandomState::new(case.seed).permutation(case.n),
            case.permutation,
            "seed {}, n = {}",
            case.seed,
            case.n
        );
        let mut shuffled: Vec<usize> = (0..case.n).collect();
        RandomState::new(case.seed).shuffle(&mut shuffled);
        assert_eq!(shuffled, case.permutation, "shuffle, seed {}", case.seed);
    }
}

#[test]
fn draws_above_32_bits_match_numpy_masked_randint() {
    for case in &fixture().intervals_u64 {
        let mut rng = RandomState::new(case.seed);
        let ours: Vec<u64> = (0..case.values.len())
            .map(|_| rng.interval(case.max))
            .collect();
        assert_eq!(ours, case.values, "seed {}", case.seed);
    }
}
