//! Renders every plot from small deterministic inputs and checks the PNGs decode with the
//! expected size and visible content. Set `NONA_REPORT_PLOT_DIR=/some/dir` to keep the PNGs
//! for looking at them.

use std::path::{Path, PathBuf};

use nona_report::plots::{
    CdDiagram, EmbeddingPanel, EvidenceRow, EvidenceTile, LearningCurve, SurfacePanel,
    SurfacePanels, critical_difference_diagram, embedding_maps, learning_curves,
    neighbour_evidence, predicted_vs_true, surface_panels, surface_panels_size,
};
use nona_report::stats::{friedman, nemenyi, non_significant_groups};

/// Deterministic value in [0, 1) for index `i` (no RNG dependency needed).
fn noise(i: usize) -> f64 {
    let x = (i as f64 * 12.9898 + 78.233).sin() * 43758.5453;
    x - x.floor()
}

struct Output {
    _temp: Option<tempfile::TempDir>,
    dir: PathBuf,
}

fn output_dir() -> Output {
    match std::env::var_os("NONA_REPORT_PLOT_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            Output {
                _temp: None,
                dir: dir.into(),
            }
        }
        None => {
            let temp = tempfile::tempdir().unwrap();
            let dir = temp.path().to_path_buf();
            Output {
                _temp: Some(temp),
                dir,
            }
        }
    }
}

/// Decodes the PNG and checks its size and that it has at least `min_colours` distinct colours.
fn assert_png(path: &Path, size: (u32, u32), min_colours: usize) {
    let image = image::open(path).expect("PNG decodes").to_rgb8();
    assert_eq!(image.dimensions(), size, "{}", path.display());
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() >= min_colours,
        "{}: only {} colours",
        path.display(),
        colours.len()
    );
}

#[test]
fn cd_diagram_of_the_papers_table1() {
    let out = output_dir();
    let methods: Vec<String> = ["Dense", "Dense + k-NN", "NONA", "NONA + k-NN", "k-NN (raw)"]
        .map(String::from)
        .to_vec();
    let scores = vec![
        vec![5.12, 5.56, 4.13, 4.03, 5.9],
        vec![6.69, 7.37, 4.02, 2.38, 7.1],
        vec![96.2, 41.3, 28.0, 24.8, 45.0],
        vec![39.7, 23.2, 21.2, 23.2, 24.0],
        vec![7.96, 7.23, 6.01, 5.89, 7.5],
        vec![0.435, 0.732, 0.358, 0.239, 0.8],
        vec![69.6, 14.8, 10.2, 10.5, 15.5],
        vec![303.0, 20.0, 13.2, 14.7, 21.0],
        vec![8.33, 7.96, 7.48, 7.48, 8.1],
        vec![2.29, 2.26, 2.05, 2.06, 2.4],
    ];
    let result = friedman(&scores).unwrap();
    let cd = nemenyi(&result).cd_05;
    let groups = non_significant_groups(&result.average_ranks, cd);
    let path = out.dir.join("cd_diagram.png");
    let diagram = CdDiagram {
        methods: &methods,
        average_ranks: &result.average_ranks,
        critical_difference: cd,
        alpha: 0.05,
        groups: &groups,
    };
    critical_difference_diagram(&path, &diagram).unwrap();
    let height = image::image_dimensions(&path).unwrap().1;
    assert_png(&path, (900, height), 10);
}

#[test]
fn embedding_maps_side_by_side() {
    let out = output_dir();
    let n = 400;
    let labels: Vec<f64> = (0..n).map(noise).collect();
    // "Dense": label mostly along one direction plus unrelated clusters.
    let dense: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            (0..16)
                .map(|j| {
                    let cluster = (i % 4) as f64 * if j % 3 == 0 { 2.0 } else { -1.0 };
                    (cluster + 0.6 * labels[i] * (j as f64 / 8.0) + 0.3 * noise(i * 31 + j)) as f32
                })
                .collect()
        })
        .collect();
    // "NONA": points on a curve parameterised by the label.
    let nona: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            let t = labels[i] * 3.0;
            (0..25)
                .map(|j| {
                    let base = match j {
                        0 => t.cos() * 3.0,
                        1 => t.sin() * 3.0,
                        _ => 0.0,
                    };
                    (base + 0.15 * noise(i * 97 + j)) as f32
                })
                .collect()
        })
        .collect();
    let path = out.dir.join("embeddings_pca.png");
    let left = EmbeddingPanel {
        title: "Dense",
        rows: &dense,
        labels: &labels,
    };
    let right = EmbeddingPanel {
        title: "NONA",
        rows: &nona,
        labels: &labels,
    };
    embedding_maps(&path, &left, &right).unwrap();
    assert_png(&path, (1300, 620), 50);

    let short_labels = &labels[..10];
    let bad = EmbeddingPanel {
        title: "bad",
        rows: &dense,
        labels: short_labels,
    };
    assert!(embedding_maps(&path, &bad, &right).is_err());
}

#[test]
fn learning_curves_for_three_seeds() {
    let out = output_dir();
    let curves: Vec<LearningCurve> = (0..3)
        .map(|seed| {
            let epochs = 20 + seed * 5;
            LearningCurve {
                label: format!("seed {seed}"),
                train_loss: (0..epochs)
                    .map(|e| 0.05 / (1.0 + e as f64) + 0.002 * seed as f64)
                    .collect(),
                val_mse: (0..epochs)
                    .map(|e| 0.04 / (1.0 + 0.5 * e as f64) + 0.008 + 0.001 * noise(e + 50 * seed))
                    .collect(),
            }
        })
        .collect();
    let path = out.dir.join("learning_curves.png");
    learning_curves(&path, "NONA on RSNA (generated)", &curves).unwrap();
    assert_png(&path, (1200, 520), 10);
    assert!(learning_curves(&path, "empty", &[]).is_err());
}

#[test]
fn predicted_vs_true_with_identity_line() {
    let out = output_dir();
    let y_true: Vec<f64> = (0..200).map(noise).collect();
    let y_pred: Vec<f64> = y_true
        .iter()
        .enumerate()
        .map(|(i, y)| (0.8 * y + 0.1 + 0.15 * (noise(i + 1000) - 0.5)).clamp(0.0, 1.0))
        .collect();
    let path = out.dir.join("predicted_vs_true.png");
    predicted_vs_true(&path, "NONA, seed 0: test split", &y_true, &y_pred).unwrap();
    assert_png(&path, (640, 640), 10);
    assert!(predicted_vs_true(&path, "bad", &y_true, &y_pred[..5]).is_err());
}

#[test]
fn surface_panels_truth_next_to_learned_surfaces() {
    let out = output_dir();
    let resolution = 40;
    let grid = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        (0..resolution * resolution)
            .map(|i| {
                let centre = |k: usize| -1.0 + (k as f64 + 0.5) * 2.0 / resolution as f64;
                f(centre(i % resolution), centre(i / resolution))
            })
            .collect()
    };
    let truth = grid(&|x, y| x.hypot(y));
    let linear = grid(&|_, y| 0.75 + 0.1 * y);
    let blocky = grid(&|x, y| ((x * 4.0).round() / 4.0).hypot((y * 4.0).round() / 4.0));
    let mut holes = truth.clone();
    holes[0] = f64::NAN;
    let panels = [
        SurfacePanel {
            title: "truth",
            values: &truth,
        },
        SurfacePanel {
            title: "linear: MSE 36.9",
            values: &linear,
        },
        SurfacePanel {
            title: "k-NN: MSE 3.10",
            values: &blocky,
        },
        SurfacePanel {
            title: "NONA: MSE 2.58",
            values: &holes,
        },
    ];
    let plot = SurfacePanels {
        title: "radial, seed 0",
        resolution,
        extent: (-1.0, 1.0),
        range: (0.0, 2f64.sqrt()),
        panels: &panels,
    };
    let path = out.dir.join("surface_panels.png");
    surface_panels(&path, &plot).unwrap();
    let size = surface_panels_size(4);
    assert_png(&path, size, 100);

    // The truth panel is dark (low) at the centre and bright (high) in the corners: sample the
    // middle and a corner of the first plotting area (x from 40 + 44, y from 44 + 30 + 6).
    let image = image::open(&path).unwrap().to_rgb8();
    let (left, top, side) = (84, 80, 300);
    let centre = image.get_pixel(left + side / 2, top + side / 2).0;
    let corner = image.get_pixel(left + 3, top + 3).0;
    let brightness = |p: [u8; 3]| p.iter().map(|&c| u32::from(c)).sum::<u32>();
    assert!(
        brightness(corner) > brightness(centre) + 200,
        "{corner:?} vs {centre:?}"
    );

    let short = SurfacePanel {
        title: "short",
        values: &truth[..10],
    };
    let bad = SurfacePanels {
        panels: &[short],
        ..plot
    };
    assert!(surface_panels(&path, &bad).is_err());
    let inverted = SurfacePanels {
        range: (1.0, 0.0),
        ..plot
    };
    assert!(surface_panels(&path, &inverted).is_err());
}

/// Two rows of a query and two neighbours, each a solid colour of its own (one not square):
/// each tile's centre shows its image's colour, in the figure's row and column order.
#[test]
fn neighbour_evidence_shows_each_image_in_its_tile() {
    let out = output_dir();
    let path = out.dir.join("neighbour_evidence.png");
    let colour = |r: usize, t: usize| [40 + 100 * r as u8, 30 + 60 * t as u8, 200 - 50 * t as u8];
    let tile = |r: usize, t: usize| EvidenceTile {
        image: image::RgbImage::from_pixel(60 + 20 * t as u32, 60, image::Rgb(colour(r, t))),
        caption: [format!("label {t}"), format!("weight 0.{t}")],
    };
    let rows: Vec<EvidenceRow> = (0..2)
        .map(|r| EvidenceRow {
            title: format!("row {r}"),
            query: tile(r, 0),
            neighbours: vec![tile(r, 1), tile(r, 2)],
        })
        .collect();
    neighbour_evidence(&path, "Neighbour evidence", &rows).unwrap();
    let png = image::open(&path).unwrap().to_rgb8();
    // Tiles are 128 px squares 14 px apart (36 after the query), under a 40 px title; each
    // row adds a 26 px title, two 17 px caption lines and a 14 px gap.
    for r in 0..2 {
        for (t, x) in [78, 242, 384].into_iter().enumerate() {
            let y = 40 + r as u32 * 202 + 26 + 64;
            assert_eq!(png.get_pixel(x, y).0, colour(r, t), "row {r}, tile {t}");
        }
    }
    assert!(neighbour_evidence(&path, "empty", &[]).is_err());
}
