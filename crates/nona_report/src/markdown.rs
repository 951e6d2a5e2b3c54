//! Assembles `report.md`: a warning banner when anything was synthetic or substituted or a
//! result asked for is missing, what was run (and that only the heads were trained), Table 1,
//! the statistics and the plots (linked by relative path).

use crate::analysis::{Analysis, PairedComparison, RankComparison};
use crate::stats::{PValueMethod, nemenyi_q_alpha};
use crate::table::ResultsTable;

/// Where a dataset's samples came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The real dataset.
    Real,
    /// Generated in place of the real dataset; `how` says how, in plain words.
    Generated {
        /// E.g. `"random 64×64 images with labels from a smooth function"`.
        how: String,
    },
}

/// Weights the backbone ran with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weights {
    /// Pretrained weights, identified by the sha256 of the weights file.
    Pretrained {
        /// Hex sha256 of the weights file.
        sha256: String,
    },
    /// Randomly initialised weights (no pretrained file).
    Random,
    /// Not recorded: the embeddings came from outside nona.
    Unrecorded,
}

/// The feature extractor used for a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backbone {
    /// Backbone name, e.g. `"EfficientNet-Lite0"`.
    pub name: String,
    /// Its weights.
    pub weights: Weights,
    /// The backbone the paper used, when this one stands in for it.
    pub substitutes_for: Option<String>,
}

/// One dataset/pipeline of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRun {
    /// Dataset or pipeline name, as in Table 1.
    pub name: String,
    /// Real or generated data.
    pub data: DataSource,
    /// Feature extractor.
    pub backbone: Backbone,
}

/// A hyper-parameter and the values the run's grid covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridParameter {
    /// Parameter name, e.g. `"k"`.
    pub name: String,
    /// Values as they should be shown.
    pub values: Vec<String>,
}

/// A result the run asked for that is not in Table 1 (e.g. a cell whose training diverged).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MissingResult {
    /// Dataset, as in Table 1.
    pub dataset: String,
    /// Method, as in Table 1.
    pub method: String,
    /// The seed without a result.
    pub seed: u64,
    /// Why, when the run recorded it.
    pub reason: Option<String>,
}

/// What nona trains, said in every report until a fine-tuning stage exists.
pub const WHAT_WAS_TRAINED: &str = "The backbone is frozen: its embeddings were computed once \
     and only the projector and the head were trained on them. The paper fine-tunes the whole \
     network, backbone included, so these results are of the heads on frozen features, not of \
     the paper's fine-tuning.";

/// What was run, for the report's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDescription {
    /// Report title.
    pub title: String,
    /// Datasets with their data source and backbone.
    pub datasets: Vec<DatasetRun>,
    /// Seeds (splits) the methods were asked to run.
    pub seeds: Vec<u64>,
    /// Hyper-parameter grid.
    pub grid: Vec<GridParameter>,
    /// Results asked for but missing; listed in the warning banner.
    pub missing: Vec<MissingResult>,
}

impl RunDescription {
    /// Plain-language sentences for everything that is not the paper's real setting
    /// (generated data, substituted backbones, random weights); empty when all is real.
    pub fn substitutions(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for dataset in &self.datasets {
            if let DataSource::Generated { how } = &dataset.data {
                notes.push(format!(
                    "{}: the data is generated ({how}), not the real dataset.",
                    dataset.name
                ));
            }
            let backbone = &dataset.backbone;
            if let Some(original) = &backbone.substitutes_for {
                notes.push(format!(
                    "{}: the backbone is {} in place of the paper's {original}.",
                    dataset.name, backbone.name
                ));
            }
            if backbone.weights == Weights::Random {
                notes.push(format!(
                    "{}: {} has random weights, not pretrained ones.",
                    dataset.name, backbone.name
                ));
            }
        }
        notes
    }
}

/// A plot to show, by path relative to `report.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotLink {
    /// Caption shown above the image.
    pub caption: String,
    /// Path relative to the report, e.g. `"plots/cd_diagram.png"`.
    pub relative_path: String,
}

/// Renders the whole `report.md`.
pub fn render_report(
    run: &RunDescription,
    table: &ResultsTable,
    analysis: &Analysis,
    plots: &[PlotLink],
) -> String {
    let mut out = String::new();
    let substitutions = run.substitutions();
    if !substitutions.is_empty() {
        out.push_str("> **Warning: these results do not come from the paper's real setting.** ");
        out.push_str(
            "Some inputs were generated or substituted, so the numbers below say nothing about ",
        );
        out.push_str("the real datasets:\n>\n");
        for note in &substitutions {
            out.push_str(&format!("> - {note}\n"));
        }
        out.push('\n');
    }
    if !run.missing.is_empty() {
        push_missing(&mut out, &run.missing);
    }
    out.push_str(&format!("# {}\n\n", run.title));
    push_what_was_run(&mut out, run);
    out.push_str("## Table 1: test MSE × 10³\n\n");
    out.push_str(&table.to_markdown());
    out.push_str("\n## Statistics\n\n");
    match &analysis.ranks {
        Ok(ranks) => push_rank_comparison(&mut out, ranks),
        Err(why) => out.push_str(&format!("Friedman test not run: {why}.\n\n")),
    }
    if !analysis.paired.is_empty() {
        push_paired(&mut out, &analysis.paired);
    }
    if !plots.is_empty() {
        out.push_str("## Plots\n\n");
        for plot in plots {
            out.push_str(&format!(
                "### {}\n\n![{}]({})\n\n",
                plot.caption, plot.caption, plot.relative_path
            ));
        }
    }
    out
}

/// The banner listing results asked for but missing.
fn push_missing(out: &mut String, missing: &[MissingResult]) {
    out.push_str(&format!(
        "> **Warning: {} result{} asked for {} missing.** Table 1 averages each method over the \
         seeds it has and shows n where that is fewer than the seeds asked for; each paired test \
         uses only the seeds both of its methods have, and the Friedman test only the seeds every \
         method has:\n>\n",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        if missing.len() == 1 { "is" } else { "are" },
    ));
    for result in missing {
        let reason = result.reason.as_deref().unwrap_or("no reason recorded");
        out.push_str(&format!(
            "> - {}, {}, seed {}: {reason}\n",
            result.dataset, result.method, result.seed
        ));
    }
    out.push('\n');
}

fn push_what_was_run(out: &mut String, run: &RunDescription) {
    out.push_str("## What was run\n\n| Dataset | Data | Backbone | Weights |\n|---|---|---|---|\n");
    for dataset in &run.datasets {
        let data = match &dataset.data {
            DataSource::Real => "real".to_owned(),
            DataSource::Generated { how } => format!("generated: {how}"),
        };
        let backbone = &dataset.backbone;
        let name = match &backbone.substitutes_for {
            Some(original) => format!("{} (substitute for {original})", backbone.name),
            None => backbone.name.clone(),
        };
        let weights = match &backbone.weights {
            Weights::Pretrained { sha256 } => format!("pretrained, sha256 `{sha256}`"),
            Weights::Random => "random initialisation".to_owned(),
            Weights::Unrecorded => "not recorded (embeddings supplied by the user)".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {data} | {name} | {weights} |\n",
            dataset.name
        ));
    }
    out.push_str(&format!("\n**Training.** {WHAT_WAS_TRAINED}\n"));
    let seeds: Vec<String> = run.seeds.iter().map(u64::to_string).collect();
    out.push_str(&format!(
        "\nSeeds ({}): {}\n\n",
        seeds.len(),
        seeds.join(", ")
    ));
    if !run.grid.is_empty() {
        out.push_str("Grid:\n\n");
        for parameter in &run.grid {
            out.push_str(&format!(
                "- `{}`: {}\n",
                parameter.name,
                parameter.values.join(", ")
            ));
        }
        out.push('\n');
    }
}

/// p-values: four decimals, or scientific notation below 10⁻⁴.
fn format_p(p: f64) -> String {
    if p == 0.0 {
        "0".to_owned()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// The Iman–Davenport F, which is infinite when every dataset ranks the methods the same way.
fn format_f(f: f64) -> String {
    if f.is_infinite() {
        "∞ (every dataset ranks the methods identically)".to_owned()
    } else {
        format!("{f:.4}")
    }
}

fn push_rank_comparison(out: &mut String, ranks: &RankComparison) {
    let friedman = &ranks.friedman;
    let k = ranks.methods.len();
    let datasets: Vec<String> = ranks
        .datasets
        .iter()
        .zip(&ranks.seeds)
        .map(|(name, seeds)| format!("{name}: {} seeds", seeds.len()))
        .collect();
    out.push_str(&format!(
        "Friedman test over {} datasets ({}) on the mean test MSE over the seeds every method \
         has, {k} methods (rank 1 = lowest MSE):\n\
         χ² = {:.4}, p = {}; Iman–Davenport F = {}, p = {}.\n\n",
        friedman.n_datasets,
        datasets.join(", "),
        friedman.chi_square,
        format_p(friedman.p_value),
        format_f(friedman.iman_davenport_f),
        format_p(friedman.iman_davenport_p_value),
    ));
    out.push_str("| Method | Average rank |\n|---|---:|\n");
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| friedman.average_ranks[a].total_cmp(&friedman.average_ranks[b]));
    for &m in &order {
        out.push_str(&format!(
            "| {} | {:.3} |\n",
            ranks.methods[m], friedman.average_ranks[m]
        ));
    }
    let nemenyi = &ranks.nemenyi;
    out.push_str(&format!(
        "\nNemenyi critical difference: CD = {:.4} at α = 0.05 (q_α = {:.4}), CD = {:.4} at α = 0.10 \
         (q_α = {:.4}); q_α is computed from the studentized range distribution with infinite \
         degrees of freedom, divided by √2.\n\n",
        nemenyi.cd_05,
        nemenyi_q_alpha(k, 0.05),
        nemenyi.cd_10,
        nemenyi_q_alpha(k, 0.10),
    ));
    if ranks.groups_05.is_empty() {
        out.push_str("Every pair of methods differs by at least the CD at α = 0.05.\n\n");
    } else {
        out.push_str("Groups not significantly different at α = 0.05:\n\n");
        for group in &ranks.groups_05 {
            let names: Vec<&str> = group.iter().map(|&m| ranks.methods[m].as_str()).collect();
            out.push_str(&format!("- {}\n", names.join(", ")));
        }
        out.push('\n');
    }
    out.push_str("Nemenyi pairwise p-values:\n\n|  |");
    for method in &ranks.methods {
        out.push_str(&format!(" {method} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(k));
    out.push('\n');
    for (i, method) in ranks.methods.iter().enumerate() {
        out.push_str(&format!("| {method} |"));
        for j in 0..k {
            if i == j {
                out.push_str(" — |");
            } else {
                out.push_str(&format!(" {} |", format_p(nemenyi.p_values[i][j])));
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

fn describe_method(method: PValueMethod) -> &'static str {
    match method {
        PValueMethod::Exact => "exact",
        PValueMethod::SignFlipEnumeration => "all sign flips",
        PValueMethod::Normal => "normal approx.",
        PValueMethod::StudentT => "t distribution",
    }
}

fn push_paired(out: &mut String, paired: &[PairedComparison]) {
    out.push_str(
        "Paired tests over the seeds both methods have, within each dataset (two-sided; \
         Wilcoxon signed-rank with SciPy's defaults: zero differences dropped, no continuity \
         correction):\n\n\
         | Dataset | A vs B | n | Wilcoxon W | p (Wilcoxon) | paired t | p (t) |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for comparison in paired {
        let (w, w_p) = match &comparison.wilcoxon {
            Ok(test) => (
                format!("{}", test.statistic),
                format!(
                    "{} ({})",
                    format_p(test.p_value),
                    describe_method(test.method)
                ),
            ),
            Err(why) => ("—".to_owned(), why.clone()),
        };
        let (n, t, t_p) = match &comparison.t_test {
            Ok(test) => (
                test.n.to_string(),
                format!("{:.4}", test.statistic),
                format_p(test.p_value),
            ),
            Err(why) => ("—".to_owned(), "—".to_owned(), why.clone()),
        };
        out.push_str(&format!(
            "| {} | {} vs {} | {n} | {w} | {w_p} | {t} | {t_p} |\n",
            comparison.dataset, comparison.method_a, comparison.method_b
        ));
    }
    out.push('\n');
}
