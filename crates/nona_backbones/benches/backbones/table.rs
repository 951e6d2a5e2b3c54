//! Side-by-side tables: for every column heading (a batch size, a sentence length) three
//! figures, nona | PyTorch | ratio = nona / PyTorch; `–` where PyTorch has no figure.

use std::io::Write;

/// One figure of each.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    pub nona: f64,
    pub torch: Option<f64>,
}

impl Cell {
    /// `nona / torch`, when there is a reference figure.
    pub fn ratio(&self) -> Option<f64> {
        self.torch.map(|torch| self.nona / torch)
    }
}

const LABEL_WIDTH: usize = 28;

/// Prints the title, the column headings and the sub-headings of a table.
pub fn start(title: &str, label: &str, columns: &[String]) {
    println!("{title}");
    let mut headings = format!("{:<LABEL_WIDTH$}", "");
    let mut sub = format!("{label:<LABEL_WIDTH$}");
    for column in columns {
        headings.push_str(&format!(" | {column:^26}"));
        sub.push_str(&format!(" | {:>8} {:>8} {:>8}", "nona", "PyTorch", "ratio"));
    }
    println!("{headings}\n{sub}");
}

/// Prints one row (as soon as it is measured: a bench takes minutes).
pub fn row(label: &str, cells: &[Cell]) {
    let mut line = format!("{label:<LABEL_WIDTH$}");
    for cell in cells {
        line.push_str(&format!(
            " | {:>8.1} {:>8} {:>8}",
            cell.nona,
            figure(cell.torch, |t| format!("{t:.1}")),
            figure(cell.ratio(), |r| format!("{r:.2}×")),
        ));
    }
    println!("{line}");
    let _ = std::io::stdout().flush();
}

/// `value` formatted, or `–`.
pub fn figure(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_owned(), format)
}
