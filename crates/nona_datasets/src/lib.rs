//! The `[dataset]` section ([`DatasetConfig`]: root, manifest, [`Modality`], columns,
//! [`LabelTransform`]) and the dataset adapters: each turns one public dataset layout (the files
//! as their publisher distributes them) into manifest rows (id, input, label, group) for the
//! `preprocess` stage.
//!
//! A pipeline picks one with `[dataset] layout = "<name>"`; without it, the manifest is a plain
//! CSV/Parquet table and needs no adapter. Every adapter reads the file that `dataset.manifest`
//! names (relative to `dataset.root`) and anything beside it. A row it cannot use is still
//! returned, with a [`Row::problem`] that names the field, so that `preprocess` records it in the
//! errors table under the file and row in [`Row::origin`]; a file it cannot read at all is a
//! [`DatasetError`]. Sample files an adapter names are checked by `preprocess` like those of a
//! plain manifest: they must stay inside the dataset root ([`SampleRoot`]).

mod books;
mod config;
mod confine;
mod houses;
mod medsegbench;
mod pitchfork;
mod udacity;

use std::fmt;
use std::path::{Path, PathBuf};

pub use books::Books;
pub use config::{DatasetConfig, LabelTransform, Modality};
pub use confine::SampleRoot;
pub use houses::Houses;
pub use medsegbench::MedSegBench;
pub use pitchfork::Pitchfork;
pub use udacity::Udacity;

/// Where an adapter reads from and may write to.
#[derive(Debug, Clone)]
pub struct Source {
    /// `dataset.root`.
    pub root: PathBuf,
    /// `dataset.manifest`, relative to `root`: the layout's main file.
    pub manifest: PathBuf,
    /// A directory the adapter may fill with files it derives (e.g. images stored inside an
    /// archive); `None` when only checking. It belongs to one configuration: the caller empties
    /// it whenever the inputs change, so a file found there is complete and current.
    pub work_dir: Option<PathBuf>,
}

impl Source {
    /// The manifest's full path.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(&self.manifest)
    }

    /// `name` beside the manifest, relative to the root (what a row's `input` holds).
    pub fn beside_manifest(&self, name: impl AsRef<Path>) -> PathBuf {
        match self.manifest.parent() {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name.as_ref()),
        }
    }
}

/// One sample as a layout describes it; any field may be missing, `preprocess` checks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Unique sample id.
    pub id: Option<String>,
    /// A file path (relative to the root, or absolute) or the text itself, see
    /// [`Layout::modality`].
    pub input: Option<String>,
    /// The regression target as written in the file.
    pub label: Option<String>,
    /// Samples with the same group stay in one split.
    pub group: Option<String>,
    /// Where the row is in the manifest, e.g. `line 4` or `reviews row 7`.
    pub origin: String,
    /// Why the row cannot be used, naming the field; it becomes an errors-table row.
    pub problem: Option<String>,
}

impl Row {
    /// An empty row at `origin`.
    pub fn at(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            ..Self::default()
        }
    }
}

/// A layout's file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

impl DatasetError {
    /// An error about `file`.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for DatasetError {}

/// One public dataset layout.
pub trait Layout: Sync {
    /// The name a pipeline uses (`[dataset] layout = "houses"`).
    fn name(&self) -> &'static str;

    /// The samples' modality: an image or audio file [`Row::input`] names, or the text it holds.
    fn modality(&self) -> Modality;

    /// A cheap check that `source` looks like this layout (file exists, header or tables
    /// present), for `nona validate`.
    fn check(&self, source: &Source) -> Result<(), DatasetError>;

    /// Every sample, in file order.
    fn read(&self, source: &Source) -> Result<Vec<Row>, DatasetError>;
}

/// Every layout, by name.
pub fn layouts() -> &'static [&'static dyn Layout] {
    &[&Houses, &Udacity, &Pitchfork, &Books, &MedSegBench]
}

/// The layout called `name`.
pub fn layout(name: &str) -> Option<&'static dyn Layout> {
    layouts().iter().copied().find(|l| l.name() == name)
}

/// Opens `path` for reading, or says why not.
pub(crate) fn read_to_string(path: &Path) -> Result<String, DatasetError> {
    let bytes =
        std::fs::read(path).map_err(|e| DatasetError::new(path, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| DatasetError::new(path, format!("not UTF-8 text: {e}")))
}

/// The file name at the end of a path written on any system (`/` or `\` separators).
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A file name without its extension.
pub(crate) fn file_stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}
