//! Statistics checked against SciPy 1.17 / scikit-posthocs fixtures
//! (`tests/fixtures/report/make_stats_fixtures.py`).

use nona_report::stats::{
    PValueMethod, friedman, nemenyi, nemenyi_q_alpha, non_significant_groups, paired_t_test,
    spearman, wilcoxon_signed_rank,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    friedman: Vec<FriedmanCase>,
    nemenyi_q_alpha: Vec<QAlpha>,
    paired: Vec<PairedCase>,
    spearman: Vec<SpearmanCase>,
}

#[derive(Deserialize)]
struct FriedmanCase {
    name: String,
    scores: Vec<Vec<f64>>,
    average_ranks: Vec<f64>,
    chi_square: f64,
    p_value: f64,
    iman_davenport_f: f64,
    iman_davenport_p_value: f64,
    nemenyi_p_values: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct QAlpha {
    k: usize,
    alpha: f64,
    q_alpha: f64,
}

#[derive(Deserialize)]
struct PairedCase {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    wilcoxon_statistic: f64,
    wilcoxon_p_value: f64,
    t_statistic: f64,
    t_p_value: f64,
}

#[derive(Deserialize)]
struct SpearmanCase {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    statistic: f64,
}

fn fixtures() -> Fixtures {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/report/stats_fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
        .expect("fixture JSON")
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs SciPy {expected} (diff {:e})",
        (actual - expected).abs()
    );
}

#[test]
fn friedman_matches_scipy() {
    for case in fixtures().friedman {
        let result = friedman(&case.scores).unwrap();
        let name = &case.name;
        for (r, e) in result.average_ranks.iter().zip(&case.average_ranks) {
            assert_close(*r, *e, 1e-12, &format!("{name} rank"));
        }
        assert_close(
            result.chi_square,
            case.chi_square,
            1e-10,
            &format!("{name} chi2"),
        );
        assert_close(result.p_value, case.p_value, 1e-12, &format!("{name} p"));
        assert_close(
            result.iman_davenport_f,
            case.iman_davenport_f,
            1e-9,
            &format!("{name} F"),
        );
        assert_close(
            result.iman_davenport_p_value,
            case.iman_davenport_p_value,
            1e-12,
            &format!("{name} F p"),
        );
    }
}

#[test]
fn nemenyi_p_values_match_scikit_posthocs() {
    for case in fixtures().friedman {
        let result = nemenyi(&friedman(&case.scores).unwrap());
        for (i, row) in case.nemenyi_p_values.iter().enumerate() {
            for (j, expected) in row.iter().enumerate() {
                let what = format!("{} nemenyi p[{i}][{j}]", case.name);
                assert_close(result.p_values[i][j], *expected, 1e-10, &what);
            }
        }
    }
}

#[test]
fn q_alpha_matches_scipy_and_demsar_table() {
    for row in fixtures().nemenyi_q_alpha {
        let q = nemenyi_q_alpha(row.k, row.alpha);
        assert_close(
            q,
            row.q_alpha,
            1e-9,
            &format!("q_alpha k={} alpha={}", row.k, row.alpha),
        );
    }
    // Demšar (2006), Table 5: q_0.05 and q_0.10 for k = 2..10, printed with three decimals
    // (some rounded, some truncated, so within 1e-3).
    let table_05 = [
        1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164,
    ];
    let table_10 = [
        1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920,
    ];
    for (i, (q05, q10)) in table_05.iter().zip(&table_10).enumerate() {
        assert_close(nemenyi_q_alpha(i + 2, 0.05), *q05, 1e-3, "Demšar q_0.05");
        assert_close(nemenyi_q_alpha(i + 2, 0.10), *q10, 1e-3, "Demšar q_0.10");
    }
}

#[test]
fn paper_table1_means_give_the_papers_conclusions() {
    let case = fixtures()
        .friedman
        .into_iter()
        .find(|c| c.name == "paper_table1")
        .unwrap();
    let p = nemenyi(&friedman(&case.scores).unwrap()).p_values;
    // Columns: Dense, Dense + k-NN, NONA, NONA + k-NN. The paper's Fig. 5 p-values come from
    // unrounded means; the table's rounded means tie twice, so only the conclusions carry over:
    // NONA-based beats dense-based, and neither pair within a family differs.
    for (i, j) in [(2, 0), (2, 1), (3, 0), (3, 1)] {
        assert!(p[i][j] < 0.05, "p[{i}][{j}] = {}", p[i][j]);
    }
    for (i, j) in [(2, 3), (0, 1)] {
        assert!(p[i][j] > 0.5, "p[{i}][{j}] = {}", p[i][j]);
    }
}

#[test]
fn wilcoxon_matches_scipy_default_rules() {
    let mut seen = Vec::new();
    for case in fixtures().paired {
        let result = wilcoxon_signed_rank(&case.a, &case.b).unwrap();
        assert_close(
            result.statistic,
            case.wilcoxon_statistic,
            1e-12,
            &format!("{} W", case.name),
        );
        assert_close(
            result.p_value,
            case.wilcoxon_p_value,
            1e-10,
            &format!("{} p", case.name),
        );
        seen.push(result.method);
    }
    for method in [
        PValueMethod::Exact,
        PValueMethod::SignFlipEnumeration,
        PValueMethod::Normal,
    ] {
        assert!(seen.contains(&method), "no fixture exercises {method:?}");
    }
}

#[test]
fn paired_t_matches_scipy() {
    for case in fixtures().paired {
        let result = paired_t_test(&case.a, &case.b).unwrap();
        assert_close(
            result.statistic,
            case.t_statistic,
            1e-10,
            &format!("{} t", case.name),
        );
        assert_close(
            result.p_value,
            case.t_p_value,
            1e-12,
            &format!("{} t p", case.name),
        );
    }
}

#[test]
fn groups_join_methods_closer_than_cd() {
    // Sorted ranks 1.0, 1.5, 2.6, 3.9 with CD 1.2: 1.0–1.5 and 1.5–2.6 join; 2.6–3.9 = 1.3 does not.
    let groups = non_significant_groups(&[2.6, 1.0, 3.9, 1.5], 1.2);
    assert_eq!(groups, vec![vec![1, 3], vec![3, 0]]);
    assert!(non_significant_groups(&[1.0, 3.0, 5.0], 1.0).is_empty());
}

#[test]
fn invalid_inputs_are_errors() {
    assert!(friedman(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_err());
    assert!(friedman(&[vec![1.0, 2.0, 3.0]]).is_err());
    assert!(friedman(&[vec![1.0, 2.0, f64::NAN], vec![1.0, 2.0, 3.0]]).is_err());
    assert!(wilcoxon_signed_rank(&[1.0, 2.0], &[1.0, 2.0]).is_err());
    assert!(wilcoxon_signed_rank(&[1.0, 2.0], &[1.0]).is_err());
    assert!(paired_t_test(&[1.0, 2.0], &[0.0, 1.0]).is_err());
    assert!(spearman(&[1.0, 2.0], &[1.0]).is_err());
    assert!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
    // Constant input has no ranks to correlate: NaN, as in SciPy.
    assert!(
        spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0])
            .unwrap()
            .is_nan()
    );
}

#[test]
fn identical_rankings_give_infinite_iman_davenport_f() {
    let result = friedman(&[
        vec![1.0, 2.0, 3.0],
        vec![0.1, 0.2, 0.3],
        vec![5.0, 6.0, 7.0],
    ])
    .unwrap();
    assert_eq!(result.average_ranks, [1.0, 2.0, 3.0]);
    assert_eq!(result.chi_square, 6.0);
    assert!(result.iman_davenport_f.is_infinite());
    assert_eq!(result.iman_davenport_p_value, 0.0);
}

#[test]
fn spearman_matches_scipy() {
    let cases = fixtures().spearman;
    assert!(cases.len() >= 4);
    for case in cases {
        let rho = spearman(&case.a, &case.b).unwrap();
        assert_close(rho, case.statistic, 1e-12, &case.name);
    }
}
