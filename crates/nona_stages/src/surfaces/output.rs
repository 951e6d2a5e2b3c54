//! The stage's files besides its tables: one PNG per unit and `summary.md` once every unit is
//! done.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use nona_report::plots::{SurfacePanel, SurfacePanels, surface_panels};
use nona_report::table::{MseRecord, ResultsTable, format_significant};

use super::compute::{UnitResult, surface_name};
use super::config::{Method, SurfacesConfig};
use super::tables::MetricRow;

/// Subdirectory of the stage directory holding the PNGs.
pub const PLOTS_DIR: &str = "plots";

/// The summary's file name in the stage directory.
pub const SUMMARY_FILE: &str = "summary.md";

/// `plots/<surface>-seed<k>.png`, relative to the stage directory.
pub fn plot_name(surface: &str, seed: u64) -> String {
    format!("{PLOTS_DIR}/{surface}-seed{seed}.png")
}

/// Writes the unit's PNG (truth, then each method's surface on one colour scale) atomically:
/// a temporary file in the same directory, then a rename.
pub fn write_plot(
    stage_dir: &Path,
    config: &SurfacesConfig,
    result: &UnitResult,
) -> anyhow::Result<PathBuf> {
    let surface = surface_name(result.surface);
    let path = stage_dir.join(plot_name(surface, result.seed));
    let dir = path.parent().unwrap_or(stage_dir);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let titles: Vec<String> = result
        .methods
        .iter()
        .map(|m| {
            format!(
                "{}: test MSE {}",
                m.method.title(),
                format_significant(m.metrics.test_mse_scaled_e3)
            )
        })
        .collect();
    let mut panels = vec![SurfacePanel {
        title: "truth (noise-free)",
        values: &result.truth,
    }];
    panels.extend(
        result
            .methods
            .iter()
            .zip(&titles)
            .map(|(m, title)| SurfacePanel {
                title,
                values: &m.grid,
            }),
    );
    let title = format!(
        "{surface}, seed {}: {} points ({} train), noise sd {}; test MSE × 10³ on min-max scaled labels",
        result.seed,
        config.points,
        result.parts[0].labels.len(),
        config.noise
    );
    let plot = SurfacePanels {
        title: &title,
        resolution: config.plot_resolution,
        extent: (-1.0, 1.0),
        range: (result.scaler.min, result.scaler.max),
        panels: &panels,
    };
    let temp = dir.join(
        format!(
            ".{surface}-seed{}.{}.{:?}.tmp.png",
            result.seed,
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], ""),
    );
    surface_panels(&temp, &plot)?;
    std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Removes PNG temporaries left by killed processes (called when every unit is done, so no
/// process of this stage is still writing one).
pub fn remove_plot_temporaries(stage_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(stage_dir.join(PLOTS_DIR)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp.png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `summary.md`: mean ± sd per surface × method of the test MSE (scaled × 10³, and original
/// units), NONA against linear regression, and the plots.
pub fn summary(
    pipeline: &str,
    config: &SurfacesConfig,
    rows: &[MetricRow],
) -> anyhow::Result<String> {
    let surfaces: Vec<&str> = config.surfaces.iter().map(|s| surface_name(*s)).collect();
    let mut rows: Vec<&MetricRow> = rows.iter().collect();
    let order = |row: &MetricRow| {
        let surface = surfaces.iter().position(|s| *s == row.surface);
        let method = Method::from_name(&row.method)
            .and_then(|m| config.methods.iter().position(|c| *c == m));
        (surface, method, row.seed)
    };
    rows.sort_by_key(|row| order(row));
    let title = |row: &MetricRow| {
        Method::from_name(&row.method).map_or(row.method.clone(), |m| m.title().to_owned())
    };
    let records = |value: fn(&MetricRow) -> f64| -> Vec<MseRecord> {
        rows.iter()
            .map(|row| MseRecord::new(&row.surface, &title(row), row.seed, value(row)))
            .collect()
    };
    let table = |value: fn(&MetricRow) -> f64, legend: &str| -> anyhow::Result<String> {
        let markdown = ResultsTable::from_records(&records(value))?.to_markdown();
        let body = markdown
            .split_once("\n\n")
            .map_or(markdown.as_str(), |(table, _)| table)
            .replacen("| Dataset |", "| Surface |", 1);
        Ok(format!("{body}\n\n{legend}\n"))
    };
    let seeds: Vec<String> = config.seed_values().iter().map(u64::to_string).collect();
    let mut out = String::new();
    writeln!(out, "# Synthetic surfaces (the NONA paper's Fig. 3)\n")?;
    writeln!(
        out,
        "Pipeline `{pipeline}`, GENERATED data: {} points uniform on [−1, 1]² per surface and seed, \
         label = target + N(0, {}²); seeds {}; splits {:.0}/{:.0} development/test and {:.0}/{:.0} \
         train/validation, stratified. Methods: {}.\n",
        config.points,
        config.noise,
        seeds.join(", "),
        100.0 * (1.0 - config.split.test_fraction),
        100.0 * config.split.test_fraction,
        100.0 * (1.0 - config.split.validation_fraction),
        100.0 * config.split.validation_fraction,
        config
            .methods
            .iter()
            .map(|m| m.title())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out, "## Test MSE × 10³, min-max scaled labels\n")?;
    out.push_str(&table(
        |r| r.test_mse_scaled_e3,
        "Labels scaled to [0, 1] with the training split's range, every method's predictions \
         clipped to [0, 1] (the paper's unit); mean ± sample sd (ddof = 1) over seeds; best mean \
         per surface in **bold**.",
    )?);
    if let Some(comparison) = versus_linear(&surfaces, &rows) {
        writeln!(out, "\n## NONA against linear regression\n")?;
        out.push_str(&comparison);
    }
    writeln!(out, "\n## Test MSE × 10³, original units\n")?;
    out.push_str(&table(
        |r| r.test_mse * 1e3,
        "The same predictions mapped back to label units; mean ± sample sd over seeds.",
    )?);
    writeln!(out, "\n## Plots\n")?;
    writeln!(
        out,
        "Truth (noise-free) and each method's surface on a {0} × {0} grid, one colour scale \
         (the training labels' range):\n",
        config.plot_resolution
    )?;
    for surface in &surfaces {
        let links: Vec<String> = config
            .seed_values()
            .iter()
            .map(|&seed| {
                let name = plot_name(surface, seed);
                format!("[seed {seed}]({name})")
            })
            .collect();
        writeln!(out, "- {surface}: {}", links.join(" · "))?;
    }
    Ok(out)
}

/// Per surface: each NONA method's mean test MSE against linear regression's, and in how many
/// seeds it was lower. `None` without linear regression or NONA rows.
fn versus_linear(surfaces: &[&str], rows: &[&MetricRow]) -> Option<String> {
    let nona = [Method::Nona, Method::NonaSoftstep];
    let by = |surface: &str, method: Method| -> Vec<(u64, f64)> {
        rows.iter()
            .filter(|r| r.surface == surface && r.method == method.name())
            .map(|r| (r.seed, r.test_mse_scaled_e3))
            .collect()
    };
    let mut out = String::from(
        "| Surface | method | mean vs linear | lower than linear in |\n|---|---|---|---|\n",
    );
    let mut any = false;
    for &surface in surfaces {
        let linear = by(surface, Method::Linear);
        if linear.is_empty() {
            continue;
        }
        let linear_mean = linear.iter().map(|(_, v)| v).sum::<f64>() / linear.len() as f64;
        for method in nona {
            let scores = by(surface, method);
            if scores.is_empty() {
                continue;
            }
            any = true;
            let mean = scores.iter().map(|(_, v)| v).sum::<f64>() / scores.len() as f64;
            let wins = scores
                .iter()
                .filter(|(seed, v)| linear.iter().any(|(s, l)| s == seed && v < l))
                .count();
            let ratio = if linear_mean > 0.0 {
                format!(" ({:.0} %)", 100.0 * mean / linear_mean)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {surface} | {} | {} vs {}{ratio} | {wins} of {} seeds |",
                method.title(),
                format_significant(mean),
                format_significant(linear_mean),
                scores.len()
            );
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(surface: &str, method: Method, seed: u64, value: f64) -> MetricRow {
        MetricRow {
            surface: surface.into(),
            seed,
            method: method.name().into(),
            points: 100,
            train_rows: 68,
            validation_rows: 12,
            test_rows: 20,
            test_mse_scaled_e3: value,
            test_mse: value / 1e3 * 4.0,
            test_mae: 0.1,
            validation_mse_scaled_e3: value,
            best_epoch: None,
            epochs_run: None,
            knn: None,
        }
    }

    #[test]
    fn summary_tables_in_configured_order() {
        let config: SurfacesConfig = toml::from_str(
            r#"
            surfaces = ["radial", "checkerboard"]
            seeds = 2
            methods = ["linear", "nona"]
            "#,
        )
        .unwrap();
        let rows = vec![
            row("checkerboard", Method::Nona, 1, 30.0),
            row("checkerboard", Method::Linear, 0, 55.0),
            row("radial", Method::Nona, 0, 2.0),
            row("radial", Method::Linear, 1, 36.0),
            row("radial", Method::Nona, 1, 4.0),
            row("radial", Method::Linear, 0, 38.0),
            row("checkerboard", Method::Nona, 0, 60.0),
            row("checkerboard", Method::Linear, 1, 50.0),
        ];
        let text = summary("synthetic", &config, &rows).unwrap();
        assert!(text.contains("| Surface | linear | NONA |"), "{text}");
        let radial = text
            .find("| radial | 37.0 ± 1.41 | **3.00 ± 1.41** |")
            .unwrap();
        let checkerboard = text
            .find("| checkerboard | 52.5 ± 3.54 | **45.0 ± 21.2** |")
            .unwrap();
        assert!(radial < checkerboard, "{text}");
        assert!(
            text.contains("| radial | NONA | 3.00 vs 37.0 (8 %) | 2 of 2 seeds |"),
            "{text}"
        );
        assert!(
            text.contains("| checkerboard | NONA | 45.0 vs 52.5 (86 %) | 1 of 2 seeds |"),
            "{text}"
        );
        assert!(
            text.contains("[seed 1](plots/checkerboard-seed1.png)"),
            "{text}"
        );
        assert!(
            text.contains("| radial | 148 ± 5.66 | **12.0 ± 5.66** |"),
            "original units: {text}"
        );
        assert!(!text.contains("Dataset"));
    }
}
