//! Grid expansion: counts, order, stable unique indices, de-duplication, serde.

use std::collections::HashSet;

use nona_heads::{Similarity, SoftStepKind, SoftStepParams};
use nona_train::{Grid, GridSpec, HeadKind, Seeds};

/// The authors' RSNA ablation axes (Appendix B) over 3 seeds.
fn ablation_spec() -> GridSpec {
    GridSpec {
        heads: HeadKind::ALL.to_vec(),
        similarities: Similarity::ALL.to_vec(),
        softsteps: SoftStepKind::ALL.to_vec(),
        params: SoftStepParams::ALL.to_vec(),
        batch_sizes: vec![32, 64, 128, 256],
        embedding_dims: vec![25, 50, 100],
        seeds: Seeds::Count(3),
        ..GridSpec::default()
    }
}

#[test]
fn the_default_grid_is_the_papers_comparison() {
    let grid = Grid::new(&GridSpec::default()).unwrap();
    assert_eq!(grid.len(), 20); // dense and NONA (−L2, S2, pointwise) × 10 seeds
    let first = grid.cell(0).unwrap();
    assert_eq!(first.model.head, HeadKind::Dense);
    assert_eq!((first.seed, first.optim.batch_size), (0, 32));
    let nona = grid.cell(10).unwrap();
    assert_eq!(nona.model.head, HeadKind::Nona);
    assert_eq!(nona.model.softstep, SoftStepKind::S2);
    assert!(grid.cell(20).is_none());
}

#[test]
fn the_ablation_grid_has_the_expected_count_without_duplicates() {
    let grid = Grid::new(&ablation_spec()).unwrap();
    // NONA: 4 similarities × (none + {s1, s2} × {global, pointwise}) = 20 models;
    // dense: 1 model; each × 4 batch sizes × 3 dimensions × 3 seeds.
    assert_eq!(grid.len(), (20 + 1) * 4 * 3 * 3);
    let dense = grid
        .cells()
        .iter()
        .filter(|c| c.model.head == HeadKind::Dense)
        .count();
    assert_eq!(dense, 4 * 3 * 3);
    let unique: HashSet<String> = grid
        .cells()
        .iter()
        .map(|c| {
            let m = &c.model;
            let nona_axes = match (m.head, m.softstep) {
                (HeadKind::Dense, _) => String::new(),
                (_, SoftStepKind::None) => format!("{}", m.similarity),
                _ => format!("{}/{}/{}", m.similarity, m.softstep, m.params),
            };
            format!(
                "{}|{nona_axes}|{}|{}|{}",
                m.head, c.optim.batch_size, m.embedding_dim, c.seed
            )
        })
        .collect();
    assert_eq!(
        unique.len(),
        grid.len(),
        "cells differing only in ignored axes"
    );
}

#[test]
fn indices_are_stable_and_follow_the_documented_nesting() {
    let spec = ablation_spec();
    let a = Grid::new(&spec).unwrap();
    assert_eq!(a, Grid::new(&spec).unwrap());
    // Seed is the innermost axis, then embedding dimension, then batch size.
    let (c0, c1, c3) = (a.cell(0).unwrap(), a.cell(1).unwrap(), a.cell(3).unwrap());
    assert_eq!((c0.seed, c1.seed), (0, 1));
    assert_eq!(c1.model.embedding_dim, c0.model.embedding_dim);
    assert_eq!(c3.model.embedding_dim, 50);
    assert_eq!(a.cell(9).unwrap().optim.batch_size, 64);
    // First NONA cell follows the 36 dense cells: l2, none.
    let nona = a.cell(36).unwrap();
    assert_eq!(
        (nona.model.head, nona.model.similarity, nona.model.softstep),
        (HeadKind::Nona, Similarity::L2, SoftStepKind::None)
    );
    // l2 has 5 models × 36 cells; the next similarity is l1.
    assert_eq!(
        a.cell(36 + 5 * 36).unwrap().model.similarity,
        Similarity::L1
    );
}

#[test]
fn specs_read_from_json_with_names_and_seed_forms() {
    let spec: GridSpec = serde_json::from_str(
        r#"{"heads": ["nona"], "similarities": ["l1", "cos"], "softsteps": ["s1"],
            "seeds": [7, 9], "optim": {"lr": 0.01}}"#,
    )
    .unwrap();
    let grid = Grid::new(&spec).unwrap();
    assert_eq!(grid.len(), 2 * 2);
    assert_eq!(grid.cell(1).unwrap().seed, 9);
    assert!(grid.cells().iter().all(|c| c.optim.lr == 0.01));
    let counted: GridSpec = serde_json::from_str(r#"{"seeds": 3}"#).unwrap();
    assert_eq!(counted.seeds.values(), vec![0, 1, 2]);
    let round_trip: GridSpec =
        serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(round_trip, spec);
    assert!(serde_json::from_str::<GridSpec>(r#"{"similarity": ["l2"]}"#).is_err());
    assert!(serde_json::from_str::<GridSpec>(r#"{"softsteps": ["s3"]}"#).is_err());
}

#[test]
fn similarities_accept_cosine_as_cos() {
    let spec: GridSpec =
        serde_json::from_str(r#"{"heads": ["nona"], "similarities": ["cosine", "l2"]}"#).unwrap();
    assert_eq!(spec.similarities, [Similarity::Cos, Similarity::L2]);
    let both: GridSpec =
        serde_json::from_str(r#"{"heads": ["nona"], "similarities": ["cos", "cosine"]}"#).unwrap();
    assert!(Grid::new(&both).is_err(), "the same similarity twice");
}

#[test]
fn empty_or_repeated_axes_are_rejected() {
    let mut spec = GridSpec {
        batch_sizes: vec![32, 32],
        ..GridSpec::default()
    };
    assert!(Grid::new(&spec).is_err());
    spec.batch_sizes = vec![];
    assert!(Grid::new(&spec).is_err());
    spec.batch_sizes = vec![1];
    assert!(Grid::new(&spec).is_err(), "batch size 1 cannot train");
    let dense_only = GridSpec {
        heads: vec![HeadKind::Dense],
        similarities: vec![],
        ..GridSpec::default()
    };
    assert_eq!(
        Grid::new(&dense_only).unwrap().len(),
        10,
        "NONA axes unused"
    );
}
