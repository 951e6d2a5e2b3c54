//! Golden-file test for `report.md`. To accept an intended change, regenerate the snapshot
//! with `NONA_UPDATE_GOLDEN=1 cargo test -p nona_report --test report_golden` and review the
//! diff of `tests/fixtures/report/report_golden.md`.

use nona_report::analysis::Analysis;
use nona_report::markdown::{
    Backbone, DataSource, DatasetRun, GridParameter, MissingResult, PlotLink, RunDescription,
    Weights, render_report,
};
use nona_report::table::{MseRecord, ResultsTable};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/report/report_golden.md"
);
const METHODS: [&str; 5] = [
    "Dense",
    "Dense + k-NN",
    "NONA",
    "NONA + k-NN",
    "k-NN (raw embeddings)",
];

fn records() -> Vec<MseRecord> {
    // Three datasets × five methods × five seeds with fixed, hand-written offsets.
    let base = [("RSNA", 5.0), ("Udacity", 0.4), ("Houses-gen", 20.0)];
    // Per dataset, so that the datasets rank the methods differently.
    let method_factor = [
        [1.25, 1.3, 1.0, 0.97, 1.4],
        [1.25, 1.3, 0.96, 0.99, 1.22],
        [1.35, 1.3, 1.0, 0.97, 1.32],
    ];
    let seed_offset = [0.02, -0.05, 0.08, -0.01, 0.03];
    let mut records = Vec::new();
    for (d, (dataset, scale)) in base.iter().enumerate() {
        for (m, method) in METHODS.iter().enumerate() {
            for (seed, offset) in seed_offset.iter().enumerate() {
                let wobble = offset * ((m + d + seed) % 3) as f64;
                let value = scale * (method_factor[d][m] + wobble);
                records.push(MseRecord::new(dataset, method, seed as u64, value));
            }
        }
    }
    records
}

fn run_description() -> RunDescription {
    let pretrained = |name: &str, sha: &str| Backbone {
        name: name.into(),
        weights: Weights::Pretrained { sha256: sha.into() },
        substitutes_for: None,
    };
    RunDescription {
        title: "NONA report: example run".into(),
        datasets: vec![
            DatasetRun {
                name: "RSNA".into(),
                data: DataSource::Real,
                backbone: Backbone {
                    substitutes_for: Some("ResNet-18".into()),
                    ..pretrained("EfficientNet-Lite0", "3f2a0c9e")
                },
            },
            DatasetRun {
                name: "Udacity".into(),
                data: DataSource::Real,
                backbone: pretrained("EfficientNet-B0", "b7d41e00"),
            },
            DatasetRun {
                name: "Houses-gen".into(),
                data: DataSource::Generated {
                    how: "random 224×224 images, labels from a smooth function of pixel means"
                        .into(),
                },
                backbone: Backbone {
                    name: "ResNet-34".into(),
                    weights: Weights::Random,
                    substitutes_for: None,
                },
            },
        ],
        seeds: (0..5).collect(),
        grid: vec![
            GridParameter {
                name: "k".into(),
                values: ["3", "5", "7", "9", "11"].map(String::from).to_vec(),
            },
            GridParameter {
                name: "similarity".into(),
                values: vec!["-l2".into()],
            },
        ],
        missing: Vec::new(),
    }
}

fn render() -> String {
    let records = records();
    let table = ResultsTable::from_records(&records).unwrap();
    let analysis = Analysis::compute(
        &table,
        &records,
        &[("NONA", "Dense"), ("NONA + k-NN", "NONA")],
    );
    let plots = [
        PlotLink {
            caption: "Critical-difference diagram".into(),
            relative_path: "plots/cd_diagram.png".into(),
        },
        PlotLink {
            caption: "Dense vs NONA embeddings (PCA)".into(),
            relative_path: "plots/embeddings_pca.png".into(),
        },
    ];
    render_report(&run_description(), &table, &analysis, &plots)
}

#[test]
fn report_matches_golden_file() {
    let rendered = render();
    if std::env::var_os("NONA_UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &rendered).unwrap();
    }
    let golden =
        std::fs::read_to_string(GOLDEN).expect("golden file; regenerate with NONA_UPDATE_GOLDEN=1");
    assert_eq!(
        rendered, golden,
        "report.md changed; regenerate with NONA_UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn banner_comes_first_and_names_every_substitution() {
    let rendered = render();
    assert!(rendered.starts_with("> **Warning"));
    assert!(
        rendered.contains("the backbone is EfficientNet-Lite0 in place of the paper's ResNet-18")
    );
    assert!(rendered.contains("Houses-gen: the data is generated"));
    assert!(rendered.contains("ResNet-34 has random weights"));
}

#[test]
fn no_banner_when_everything_is_real() {
    let mut run = run_description();
    run.datasets.retain(|d| d.name == "Udacity");
    let records: Vec<MseRecord> = records()
        .into_iter()
        .filter(|r| r.dataset == "Udacity")
        .collect();
    let table = ResultsTable::from_records(&records).unwrap();
    let analysis = Analysis::compute(&table, &records, &[]);
    let rendered = render_report(&run, &table, &analysis, &[]);
    assert!(rendered.starts_with("# NONA report"), "{rendered}");
    assert!(rendered.contains("Friedman test not run"));
}

#[test]
fn report_says_that_only_the_projector_and_head_were_trained() {
    let rendered = render();
    assert!(
        rendered.contains(
            "**Training.** The backbone is frozen: its embeddings were computed once and only \
             the projector and the head were trained on them. The paper fine-tunes the whole \
             network"
        ),
        "{rendered}"
    );
}

/// A diverged cell: NONA has no result for seed 3 on RSNA (nor, then, NONA + k-NN).
#[test]
fn a_missing_seed_shows_in_table_1_the_banner_and_the_statistics() {
    let records: Vec<MseRecord> = records()
        .into_iter()
        .filter(|r| !(r.dataset == "RSNA" && r.method.starts_with("NONA") && r.seed == 3))
        .collect();
    let mut run = run_description();
    run.missing = ["NONA", "NONA + k-NN"]
        .map(|method| MissingResult {
            dataset: "RSNA".into(),
            method: method.into(),
            seed: 3,
            reason: (method == "NONA").then(|| "training diverged at epoch 4".into()),
        })
        .to_vec();
    let table = ResultsTable::from_records(&records).unwrap();
    let analysis = Analysis::compute(&table, &records, &[("NONA", "Dense")]);
    let rendered = render_report(&run, &table, &analysis, &[]);

    // Table 1: each method over the seeds it has, n where it is short.
    assert!(
        rendered.contains("| RSNA | 6.39 ± 0.396 | 6.47 ± 0.295 | 5.15 ± 0.191 (n = 4 of 5) |"),
        "{rendered}"
    );
    assert!(rendered.contains("(n = k of N): the method has results for only k"));
    // The banner lists both missing results, with the reason where one was recorded.
    assert!(
        rendered.contains("> **Warning: 2 results asked for are missing.**"),
        "{rendered}"
    );
    assert!(rendered.contains("> - RSNA, NONA, seed 3: training diverged at epoch 4\n"));
    assert!(rendered.contains("> - RSNA, NONA + k-NN, seed 3: no reason recorded\n"));
    // Statistics only on the seeds every compared method has.
    assert!(
        rendered.contains("(RSNA: 4 seeds, Udacity: 5 seeds, Houses-gen: 5 seeds)"),
        "{rendered}"
    );
    let rsna = &analysis.paired[0];
    assert_eq!(
        (rsna.dataset.as_str(), rsna.t_test.as_ref().unwrap().n),
        ("RSNA", 4)
    );
    let ranks = analysis.ranks.as_ref().unwrap();
    assert_eq!(ranks.seeds[0], [0, 1, 2, 4]);
}
