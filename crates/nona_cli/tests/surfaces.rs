//! The `surfaces` stage (the paper's Fig. 3) end to end: a small version of
//! `pipelines/synthetic.toml`, its tables, PNGs and summary, caching, and config errors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{AsArray, Float64Array};
use arrow::datatypes::Int64Type;
use common::{assert_conforms, run_in, schema_file, stderr, stdout, table_rows};

/// The shipped pipeline's settings, scaled down: two surfaces, one seed, fewer points and epochs.
fn write_pipeline(dir: &Path) {
    std::fs::write(
        dir.join("fig3.toml"),
        r#"description = "small Fig. 3"
[surfaces]
surfaces = ["linear", "radial"]
points = 400
seeds = [3]
methods = ["linear", "knn", "nona", "nona_softstep"]
plot_resolution = 24
threads = 2

[surfaces.knn]
n_neighbors = [3, 5, 9]

[surfaces.nona]
max_epochs = 60
"#,
    )
    .unwrap();
}

/// `(surface, method) -> test MSE × 10³` from the metrics table.
fn test_errors(metrics: &Path) -> BTreeMap<(String, String), f64> {
    let dataset = nona_table::Dataset::open(metrics).unwrap();
    let mut errors = BTreeMap::new();
    for batch in dataset.read_all().unwrap() {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .clone()
        };
        let (surface, method) = (text("surface"), text("method"));
        let mse = batch
            .column_by_name("test_mse_scaled_e3")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone();
        let seeds = batch
            .column_by_name("seed")
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone();
        for r in 0..batch.num_rows() {
            assert_eq!(seeds.value(r), 3);
            errors.insert(
                (surface.value(r).to_owned(), method.value(r).to_owned()),
                mse.value(r),
            );
        }
    }
    errors
}

#[test]
fn surfaces_compare_the_methods_write_plots_and_are_cached() {
    let tmp = tempfile::tempdir().unwrap();
    write_pipeline(tmp.path());
    let out = run_in(tmp.path(), &["run", "fig3.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp.path().join("runs/fig3/surfaces");

    assert_conforms(
        &schema_file("surfaces-metrics.schema.json"),
        &stage.join("metrics"),
    );
    assert_conforms(
        &schema_file("surfaces-predictions.schema.json"),
        &stage.join("predictions"),
    );
    // Every point of every split, once per method and surface.
    assert_eq!(table_rows(&stage.join("predictions")).len(), 2 * 4 * 400);

    let errors = test_errors(&stage.join("metrics"));
    assert_eq!(errors.len(), 2 * 4, "{errors:?}");
    let error = |surface: &str, method: &str| errors[&(surface.to_owned(), method.to_owned())];
    // A radial bowl is far from a plane: every non-linear method is much better than least
    // squares (about 40 vs 2-5 on the full pipeline).
    for method in ["knn", "nona", "nona_softstep"] {
        assert!(
            error("radial", method) < 0.5 * error("radial", "linear"),
            "{method} on radial: {errors:?}"
        );
    }
    // On a plane least squares is the right model.
    for method in ["knn", "nona", "nona_softstep"] {
        assert!(
            error("linear", "linear") <= error("linear", method),
            "{errors:?}"
        );
    }

    let (width, height) = nona_report::plots::surface_panels_size(5);
    for surface in ["linear", "radial"] {
        let png = stage.join(format!("plots/{surface}-seed3.png"));
        let image = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert_eq!((image.width(), image.height()), (width, height));
    }
    let summary = std::fs::read_to_string(stage.join("summary.md")).unwrap();
    for expected in [
        "GENERATED data",
        "| radial |",
        "NONA+SoftStep",
        "plots/radial-seed3.png",
    ] {
        assert!(summary.contains(expected), "{expected}: {summary}");
    }

    let dataset = nona_table::Dataset::open(&stage.join("metrics")).unwrap();
    assert_eq!(dataset.metadata()["nona.synthetic"], "true");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stage.join("_record.json")).unwrap())
            .unwrap();
    assert_eq!(record["synthetic"], true);

    let again = run_in(tmp.path(), &["run", "fig3.toml"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!("{:<11} up to date", "surfaces")),
        "{}",
        stdout(&again)
    );
}

#[test]
fn surfaces_config_errors_are_reported_together() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.toml"),
        r#"
[surfaces]
surfaces = ["radial", "spirral"]
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["validate", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("spirral"), "{}", stderr(&out));

    std::fs::write(
        tmp.path().join("bad2.toml"),
        r#"
[surfaces]
points = 10
seeds = [1, 1]
methods = ["linear", "nona_softstep"]
[surfaces.nona]
softstep = "none"
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["validate", "bad2.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let errors = stderr(&out);
    for expected in [
        "`points` must be at least 40, got 10",
        "seed 1 is listed twice",
        "`softstep` is the mask of `nona_softstep`",
        "bad2.toml:3",
        "3 problems found",
    ] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }
}
