//! Loading pipeline files: TOML parsing, `extends` layering, and a map from every key to the
//! file and line that set it, so later errors can point at the right place.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::ConfigError;

/// Where a key was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The pipeline file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A pipeline file merged with everything it extends, plus where each key came from.
#[derive(Debug, Clone)]
pub struct LayeredSource {
    /// The merged document; later files override earlier ones key by key.
    pub table: Table,
    /// Dotted key path (`embed.batch_size`, `preprocess.transforms[1]`) → where it was set.
    pub origins: HashMap<String, Origin>,
    /// Every file read, the requested one last.
    pub files: Vec<PathBuf>,
    /// Dotted key paths set by [`Self::set`] (they have no file origin).
    overridden: HashSet<String>,
}

/// Keys that belong to one file and are never inherited through `extends`.
const FILE_LOCAL_KEYS: [&str; 2] = ["extends", "name"];

impl LayeredSource {
    /// Reads `path` and, recursively, the files it `extends` (a path or a list of paths, relative
    /// to the file that names them).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut chain = Vec::new();
        let mut layered = Self {
            table: Table::new(),
            origins: HashMap::new(),
            files: Vec::new(),
            overridden: HashSet::new(),
        };
        layered.apply_file(path, &mut chain)?;
        Ok(layered)
    }

    /// Sets the dotted `key_path` (e.g. `embed.device`) to `value`, as `nona run --set` does:
    /// on top of every file, creating tables inside an existing section as needed (never a new
    /// section). The key then has no file origin, so a
    /// relative path in `value` is relative to the working directory.
    pub fn set(&mut self, key_path: &str, value: Value) -> Result<(), ConfigError> {
        let keys: Vec<&str> = key_path.split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(ConfigError::new(
                None,
                format!("--set {key_path}: not a dotted key path like `embed.device`"),
            ));
        }
        let (last, parents) = keys.split_last().expect("split yields one key");
        if let Some(section) = parents.first().filter(|s| !self.table.contains_key(**s)) {
            return Err(ConfigError::new(
                None,
                format!("--set {key_path}: the pipeline has no `[{section}]` section to set it in"),
            ));
        }
        let mut table = &mut self.table;
        let mut walked = String::new();
        for key in parents {
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(key);
            let entry = table
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Table(Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                ConfigError::new(
                    None,
                    format!("--set {key_path}: `{walked}` is a value, not a table"),
                )
            })?;
        }
        table.insert((*last).to_owned(), value);
        self.origins
            .retain(|k, _| k != key_path && !is_below(k, key_path));
        self.overridden.retain(|k| !is_below(k, key_path));
        self.overridden.insert(key_path.to_owned());
        Ok(())
    }

    /// Whether a file or an override sets `key_path` itself (not just a table around it).
    pub fn is_set(&self, key_path: &str) -> bool {
        self.origins.contains_key(key_path)
            || self.overridden.iter().any(|set| {
                set == key_path || (is_below(key_path, set) && self.value_at(key_path).is_some())
            })
    }

    /// The value at the dotted `key_path` of the merged document.
    fn value_at(&self, key_path: &str) -> Option<&Value> {
        let mut keys = key_path.split('.');
        let first = self.table.get(keys.next()?)?;
        keys.try_fold(first, |value, key| value.as_table()?.get(key))
    }

    /// Where `key_path` was set, or where its closest enclosing table was.
    pub fn origin(&self, key_path: &str) -> Option<&Origin> {
        let mut path = key_path;
        loop {
            if let Some(origin) = self.origins.get(path) {
                return Some(origin);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    fn apply_file(&mut self, path: &Path, chain: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
        let canonical = path
            .canonicalize()
            .map_err(|e| ConfigError::at_file(path, format!("cannot read pipeline file: {e}")))?;
        if chain.contains(&canonical) {
            let cycle: Vec<String> = chain
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            return Err(ConfigError::at_file(
                path,
                format!("`extends` forms a cycle: {}", cycle.join(" → ")),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::at_file(path, format!("cannot read pipeline file: {e}")))?;
        let document =
            toml_edit::Document::parse(text.as_str()).map_err(|e| parse_error(path, &text, &e))?;
        let table: Table =
            toml::from_str(&text).map_err(|e| ConfigError::at_file(path, e.to_string()))?;
        let mut origins = HashMap::new();
        record_origins(path, &text, document.as_table(), "", &mut origins);

        chain.push(canonical);
        for parent in extends_list(&table, &origins)? {
            let parent_path = path.parent().unwrap_or(Path::new(".")).join(&parent);
            if !parent_path.is_file() {
                let origin = origins.get("extends").cloned();
                return Err(ConfigError::new(
                    origin,
                    format!("`extends`: no such pipeline file {}", parent_path.display()),
                ));
            }
            self.apply_file(&parent_path, chain)?;
            for key in FILE_LOCAL_KEYS {
                self.table.remove(key);
                self.origins.remove(key);
            }
        }
        chain.pop();

        merge(&mut self.table, table, "", &mut self.origins, &origins);
        self.files.push(path.to_path_buf());
        Ok(())
    }
}

/// The files named by `extends` (one, or a list).
fn extends_list(
    table: &Table,
    origins: &HashMap<String, Origin>,
) -> Result<Vec<String>, ConfigError> {
    let wrong = || {
        ConfigError::new(
            origins.get("extends").cloned(),
            "`extends` must be a file name or a list of file names".to_owned(),
        )
    };
    match table.get("extends") {
        None => Ok(Vec::new()),
        Some(Value::String(single)) => Ok(vec![single.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// Deep-merges `over` into `base`: tables merge key by key, any other value replaces.
fn merge(
    base: &mut Table,
    over: Table,
    prefix: &str,
    base_origins: &mut HashMap<String, Origin>,
    over_origins: &HashMap<String, Origin>,
) {
    for (key, value) in over {
        let path = join(prefix, &key);
        if let Some(origin) = over_origins.get(&path) {
            base_origins.insert(path.clone(), origin.clone());
        }
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(over_table)) => {
                merge(base_table, over_table, &path, base_origins, over_origins);
            }
            (_, value) => {
                base_origins.retain(|k, _| !is_below(k, &path));
                for (k, origin) in over_origins.iter().filter(|(k, _)| is_below(k, &path)) {
                    base_origins.insert(k.clone(), origin.clone());
                }
                base.insert(key, value);
            }
        }
    }
}

fn is_below(candidate: &str, path: &str) -> bool {
    candidate.len() > path.len()
        && candidate.starts_with(path)
        && matches!(candidate.as_bytes()[path.len()], b'.' | b'[')
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn record_origins(
    file: &Path,
    text: &str,
    table: &toml_edit::Table,
    prefix: &str,
    out: &mut HashMap<String, Origin>,
) {
    if let Some(span) = table.span().filter(|_| !prefix.is_empty()) {
        out.entry(prefix.to_owned())
            .or_insert_with(|| origin_at(file, text, span.start));
    }
    for (key, item) in table.iter() {
        let path = join(prefix, key);
        if let Some(span) = table
            .get_key_value(key)
            .and_then(|(key_ref, _)| key_ref.span())
        {
            out.insert(path.clone(), origin_at(file, text, span.start));
        }
        record_item(file, text, item, &path, out);
    }
}

fn record_item(
    file: &Path,
    text: &str,
    item: &toml_edit::Item,
    path: &str,
    out: &mut HashMap<String, Origin>,
) {
    match item {
        toml_edit::Item::Table(table) => record_origins(file, text, table, path, out),
        toml_edit::Item::ArrayOfTables(array) => {
            for (index, table) in array.iter().enumerate() {
                record_origins(file, text, table, &format!("{path}[{index}]"), out);
            }
        }
        toml_edit::Item::Value(value) => record_value(file, text, value, path, out),
        toml_edit::Item::None => {}
    }
}

fn record_value(
    file: &Path,
    text: &str,
    value: &toml_edit::Value,
    path: &str,
    out: &mut HashMap<String, Origin>,
) {
    match value {
        toml_edit::Value::InlineTable(inline) => {
            for (key, inner) in inline.iter() {
                let inner_path = join(path, key);
                if let Some(span) = inner.span() {
                    out.insert(inner_path.clone(), origin_at(file, text, span.start));
                }
                record_value(file, text, inner, &inner_path, out);
            }
        }
        toml_edit::Value::Array(array) => {
            for (index, inner) in array.iter().enumerate() {
                let inner_path = format!("{path}[{index}]");
                if let Some(span) = inner.span() {
                    out.insert(inner_path.clone(), origin_at(file, text, span.start));
                }
                record_value(file, text, inner, &inner_path, out);
            }
        }
        _ => {}
    }
}

fn origin_at(file: &Path, text: &str, offset: usize) -> Origin {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    Origin {
        file: file.to_path_buf(),
        line,
        column,
    }
}

fn parse_error(path: &Path, text: &str, err: &toml_edit::TomlError) -> ConfigError {
    let origin = err.span().map(|span| origin_at(path, text, span.start));
    ConfigError::new(
        origin.or_else(|| Some(origin_at(path, text, 0))),
        format!("invalid TOML: {}", err.message()),
    )
}
