//! PCA checked against numpy's SVD (`tests/fixtures/report/make_stats_fixtures.py`).

use nona_report::pca::Pca;
use serde::Deserialize;

#[derive(Deserialize)]
struct PcaFixture {
    rows: Vec<Vec<f32>>,
    components: Vec<Vec<f64>>,
    explained_variance: Vec<f64>,
    projected: Vec<Vec<f64>>,
}

#[test]
fn pca_matches_numpy_svd() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/report/pca_fixture.json"
    );
    let fixture: PcaFixture =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
            .expect("fixture JSON");
    let pca = Pca::fit(&fixture.rows, 2).unwrap();
    for (actual, expected) in pca
        .explained_variance
        .iter()
        .zip(&fixture.explained_variance)
    {
        assert!(
            (actual - expected).abs() <= 1e-10 * expected,
            "variance {actual} vs {expected}"
        );
    }
    for (axis, expected) in pca.components.iter().zip(&fixture.components) {
        for (a, e) in axis.iter().zip(expected) {
            assert!((a - e).abs() < 1e-10, "component {axis:?} vs {expected:?}");
        }
    }
    for (row, expected) in fixture.rows.iter().zip(&fixture.projected) {
        let projected = pca.project(row);
        for (a, e) in projected.iter().zip(expected) {
            assert!(
                (a - e).abs() < 1e-9,
                "projection {projected:?} vs {expected:?}"
            );
        }
    }
}
