//! Property tests of the pipeline-file parser with `extends` chains and `--set` overrides
//! (`Pipeline::load_with`, `parse_override`).
//!
//! Random text, mutated pipeline files and random overrides never panic, and every error they
//! cause points inside a file that was read. Generated valid chains merge as the README says:
//! a child's key wins over its parents', a later parent's over an earlier one's, an override
//! over every file; tables merge key by key, values and arrays replace; `name` and `extends`
//! are not inherited; each key keeps the file and line that set it.
//!
//! The normal run is short; `PROPTEST_CASES=N cargo test -p nona_pipeline --test
//! parser_properties` runs N cases per property.

use std::collections::BTreeMap;
use std::path::Path;

use nona_pipeline::config::{ConfigErrors, Pipeline, parse_override};
use nona_testkit::cases;
use proptest::prelude::*;
use proptest::sample::Index;
use toml::{Table, Value};

/// Stage sections of the generated pipelines.
const SECTIONS: [&str; 3] = ["alpha", "beta", "gamma"];
/// Value keys inside a section or sub-table (few, so that files override each other often).
const KEYS: [&str; 3] = ["a", "b", "c"];
/// Sub-table names (never used as value keys, so a path is a table in every file or in none).
const SUBTABLES: [&str; 2] = ["s", "t"];

/// A TOML value that a key can hold: integers, floats, booleans, any string, arrays.
fn leaf_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        (-1e12f64..1e12).prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        any::<String>().prop_map(Value::String),
        prop::collection::vec(any::<i64>(), 0..4)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::Integer).collect())),
        prop::collection::vec(any::<String>(), 1..3)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
    ]
}

/// A dotted leaf path: `section.key` or `section.subtable.key`.
fn leaf_path() -> impl Strategy<Value = String> {
    (
        prop::sample::select(SECTIONS.to_vec()),
        prop::option::of(prop::sample::select(SUBTABLES.to_vec())),
        prop::sample::select(KEYS.to_vec()),
    )
        .prop_map(|(section, sub, key)| match sub {
            Some(sub) => format!("{section}.{sub}.{key}"),
            None => format!("{section}.{key}"),
        })
}

/// A plain run name (letters and digits).
fn run_name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(('a'..='z').collect::<Vec<_>>()), 1..8)
        .prop_map(|chars| chars.into_iter().collect())
}

/// One generated pipeline file.
#[derive(Debug, Clone)]
struct File {
    name: Option<String>,
    description: Option<String>,
    /// Earlier files this one extends, in `extends` order.
    parents: Vec<usize>,
    /// `extends = "x"` rather than `extends = ["x"]` when there is one parent.
    single_form: bool,
    leaves: BTreeMap<String, Value>,
}

fn file_name(index: usize) -> String {
    format!("f{index}.toml")
}

impl File {
    /// The file's text and the 1-based line of every leaf path.
    fn render(&self) -> (String, BTreeMap<String, usize>) {
        let mut lines: Vec<String> = Vec::new();
        let mut at = BTreeMap::new();
        if let Some(name) = &self.name {
            lines.push(format!("name = {}", Value::String(name.clone())));
        }
        if let Some(description) = &self.description {
            lines.push(format!(
                "description = {}",
                Value::String(description.clone())
            ));
        }
        let parents: Vec<Value> = self
            .parents
            .iter()
            .map(|&p| Value::String(file_name(p)))
            .collect();
        match (&parents[..], self.single_form) {
            ([], _) => {}
            ([single], true) => lines.push(format!("extends = {single}")),
            (_, _) => lines.push(format!("extends = {}", Value::Array(parents.clone()))),
        }
        // Group leaves by table (`alpha`, `alpha.s`), in path order.
        let mut tables: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
        for (path, value) in &self.leaves {
            let (table, key) = path.rsplit_once('.').expect("dotted path");
            tables.entry(table).or_default().push((key, value));
        }
        let mut text = lines.join("\n") + "\n";
        for (table, entries) in tables {
            text.push_str(&format!("\n[{table}]\n"));
            for (key, value) in entries {
                // A multi-line string value spans several lines: count them in the text.
                at.insert(format!("{table}.{key}"), text.matches('\n').count() + 1);
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        (text, at)
    }
}

fn file(index: usize) -> impl Strategy<Value = File> {
    (
        prop::option::of(run_name()),
        prop::option::of(any::<String>()),
        prop::collection::vec(any::<Index>(), 0..=usize::min(index, 2)),
        any::<bool>(),
        prop::collection::btree_map(leaf_path(), leaf_value(), 0..6),
    )
        .prop_map(
            move |(name, description, parents, single_form, leaves)| File {
                name,
                description,
                parents: parents.iter().map(|p| p.index(index)).collect(),
                single_form,
                leaves,
            },
        )
}

/// Files `f0 … fn`, each extending only earlier ones; the last is the one loaded.
fn chain() -> impl Strategy<Value = Vec<File>> {
    (1usize..=4).prop_flat_map(|count| (0..count).map(file).collect::<Vec<_>>())
}

/// Writes the files into `dir`; returns the path of the last and the leaf lines of each.
fn write_chain(dir: &Path, files: &[File]) -> (std::path::PathBuf, Vec<BTreeMap<String, usize>>) {
    let mut lines = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let (text, at) = file.render();
        std::fs::write(dir.join(file_name(index)), text).unwrap();
        lines.push(at);
    }
    (dir.join(file_name(files.len() - 1)), lines)
}

/// The order files are applied in: each file's parents (recursively, in `extends` order), then
/// the file itself.
fn layers(files: &[File], index: usize, out: &mut Vec<usize>) {
    for &parent in &files[index].parents {
        layers(files, parent, out);
    }
    out.push(index);
}

/// Inserts `value` at the dotted `path` of `table`, creating tables on the way.
fn insert(table: &mut Table, path: &str, value: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    match rest {
        None => {
            table.insert(head.to_owned(), value);
        }
        Some(rest) => {
            let inner = table
                .entry(head.to_owned())
                .or_insert_with(|| Value::Table(Table::new()));
            insert(inner.as_table_mut().expect("a table"), rest, value);
        }
    }
}

/// Asserts that every error names a file that was read, at a line inside it.
fn assert_errors_point_into_files(errors: &ConfigErrors, dir: &Path) {
    for error in &errors.errors {
        assert!(!error.message.is_empty(), "{error:?}");
        let Some(origin) = &error.origin else {
            continue;
        };
        assert!(origin.file.starts_with(dir), "{error}");
        if let Ok(text) = std::fs::read_to_string(&origin.file) {
            let lines = text.lines().count().max(1);
            assert!(
                origin.line >= 1 && origin.line <= lines + 1 && origin.column >= 1,
                "{error} (file of {lines} lines)"
            );
        }
    }
}

/// Loads `path` with `overrides`, asserting that errors point into the files of `dir`.
fn load(path: &Path, overrides: &[(String, Value)], dir: &Path) -> Option<Pipeline> {
    match Pipeline::load_with(path, &SECTIONS, overrides) {
        Ok(pipeline) => Some(pipeline),
        Err(errors) => {
            assert_errors_point_into_files(&errors, dir);
            None
        }
    }
}

/// Pieces of TOML and of pipeline files that random text is made of.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "#",
    "\\",
    "\\u",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "\u{feff}",
    "é",
    "𝄞",
    "\0",
    "alpha",
    "beta",
    "a",
    "s",
    "name",
    "description",
    "extends",
    "dataset",
    "\"f0.toml\"",
    "\"p.toml\"",
    "\"..\"",
    "\"/\"",
    "1",
    "-0",
    "1e400",
    "0x1F",
    "inf",
    "nan",
    "true",
    "1979-05-27T07:32:00Z",
    "${HOME}",
    "${X:-y}",
];

/// Text made of [`TOKENS`] and arbitrary characters.
fn tomlish_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(TOKENS).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..60,
    )
    .prop_map(|pieces| pieces.concat())
}

/// One edit of a file's text.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, String),
    Delete(Index, usize),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), tomlish_text()).prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<Index>(), 1usize..20).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

impl Mutation {
    fn apply(&self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<&str> = text.split('\n').collect();
        let char_at = |at: &Index| at.index(chars.len() + 1);
        match self {
            Self::Insert(at, inserted) => {
                let at = char_at(at);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(inserted);
                out.extend(&chars[at..]);
                out
            }
            Self::Delete(at, len) => {
                let at = char_at(at);
                let end = (at + len).min(chars.len());
                chars[..at].iter().chain(&chars[end..]).collect()
            }
            Self::DuplicateLine(at) => {
                let at = at.index(lines.len());
                lines.insert(at, lines[at]);
                lines.join("\n")
            }
            Self::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                lines.join("\n")
            }
            Self::Truncate(at) => chars[..char_at(at)].iter().collect(),
        }
    }
}

/// `--set` arguments: `KEY=VALUE` shaped from paths and TOML pieces, or anything at all.
fn override_argument() -> impl Strategy<Value = String> {
    prop_oneof![
        (leaf_path(), tomlish_text()).prop_map(|(key, raw)| format!("{key}={raw}")),
        (tomlish_text(), tomlish_text()).prop_map(|(key, raw)| format!("{key}={raw}")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn random_text_never_panics(text in prop_oneof![tomlish_text(), any::<String>()]) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f0.toml"), "[alpha]\na = 1\n").unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, &text).unwrap();
        load(&path, &[], dir.path());
    }

    #[test]
    fn mutated_chains_and_overrides_never_panic(
        files in chain(),
        mutations in prop::collection::vec((any::<Index>(), mutation()), 1..4),
        arguments in prop::collection::vec(override_argument(), 0..3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_chain(dir.path(), &files);
        for (which, mutation) in &mutations {
            let target = dir.path().join(file_name(which.index(files.len())));
            let text = std::fs::read_to_string(&target).unwrap();
            std::fs::write(&target, mutation.apply(&text)).unwrap();
        }
        let overrides: Vec<(String, Value)> = arguments
            .iter()
            .filter_map(|argument| parse_override(argument).ok())
            .collect();
        load(&path, &overrides, dir.path());
    }

    #[test]
    fn any_override_argument_parses_or_is_refused_without_panicking(
        argument in override_argument(),
    ) {
        match parse_override(&argument) {
            Ok((key, _)) => prop_assert!(argument.contains('=') && key == key.trim()),
            Err(message) => {
                prop_assert!(!argument.contains('='));
                prop_assert!(message.contains("KEY=VALUE"), "{}", message);
            }
        }
    }

    #[test]
    fn a_toml_value_after_the_equals_sign_is_that_value(path in leaf_path(), value in leaf_value()) {
        let (key, parsed) = parse_override(&format!("{path}={value}")).unwrap();
        prop_assert_eq!(key, path);
        prop_assert_eq!(parsed, value);
    }

    #[test]
    fn a_bare_word_after_the_equals_sign_is_a_string(
        path in leaf_path(),
        word in "[a-z][a-z0-9_-]{0,10}",
    ) {
        prop_assume!(!["true", "false", "inf", "nan"].contains(&word.as_str()));
        let (_, parsed) = parse_override(&format!("{path}={word}")).unwrap();
        prop_assert_eq!(parsed, Value::String(word));
    }

    #[test]
    fn chains_and_overrides_merge_as_documented(
        files in chain(),
        overrides in prop::collection::vec((leaf_path(), leaf_value()), 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, lines) = write_chain(dir.path(), &files);
        let overrides: Vec<(String, Value)> = overrides
            .into_iter()
            .map(|(key, value)| parse_override(&format!("{key}={value}")).unwrap())
            .collect();

        // The model: files in application order, the last one to set a key wins.
        let mut order = Vec::new();
        layers(&files, files.len() - 1, &mut order);
        let mut merged: BTreeMap<String, (Value, Option<usize>)> = BTreeMap::new();
        let mut description = None;
        for &index in &order {
            for (key, value) in &files[index].leaves {
                merged.insert(key.clone(), (value.clone(), Some(index)));
            }
            if let Some(text) = &files[index].description {
                description = Some(text.clone());
            }
        }
        let has_section = |section: &str, merged: &BTreeMap<String, (Value, Option<usize>)>| {
            merged.keys().any(|k| k.starts_with(&format!("{section}.")))
        };
        let mut refused = None;
        for (key, value) in &overrides {
            let section = key.split('.').next().unwrap();
            if !has_section(section, &merged) {
                refused = Some(section.to_owned());
                break;
            }
            merged.insert(key.clone(), (value.clone(), None));
        }

        let loaded = Pipeline::load_with(&path, &SECTIONS, &overrides);
        if let Some(section) = refused {
            let errors = loaded.expect_err("an override into a missing section is refused");
            let text = errors.to_string();
            prop_assert!(text.contains(&format!("no `[{section}]` section")), "{}", text);
            return Ok(());
        }
        let pipeline = loaded.map_err(|e| TestCaseError::fail(e.to_string()))?;

        let last = &files[files.len() - 1];
        let stem = file_name(files.len() - 1).trim_end_matches(".toml").to_owned();
        prop_assert_eq!(&pipeline.name, last.name.as_ref().unwrap_or(&stem));
        prop_assert_eq!(&pipeline.description, &description);
        let read: Vec<String> = pipeline
            .files()
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let expected_files: Vec<String> = order.iter().map(|&i| file_name(i)).collect();
        prop_assert_eq!(read, expected_files);

        for section in SECTIONS {
            let mut expected = Table::new();
            for (key, (value, _)) in merged.iter().filter(|(k, _)| k.starts_with(&format!("{section}."))) {
                insert(&mut expected, &key[section.len() + 1..], value.clone());
            }
            let actual = pipeline.section_value(section);
            if expected.is_empty() {
                prop_assert!(actual.is_none(), "{}: {:?}", section, actual);
            } else {
                prop_assert_eq!(actual, Some(&Value::Table(expected)), "section {}", section);
            }
        }
        for (key, (_, from)) in &merged {
            prop_assert!(pipeline.is_set(key), "{} is set", key);
            if let Some(index) = from {
                let origin = pipeline.origin(key).expect("a key from a file has an origin");
                prop_assert_eq!(origin.file.file_name().unwrap().to_string_lossy(), file_name(*index));
                prop_assert_eq!(origin.line, lines[*index][key], "line of {}", key);
            }
        }
        for section in SECTIONS {
            for key in KEYS {
                let path = format!("{section}.{key}");
                prop_assert_eq!(pipeline.is_set(&path), merged.contains_key(&path), "{}", path);
            }
        }
    }
}

#[test]
fn deeply_nested_values_are_refused_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    for depth in [1_000, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        std::fs::write(&path, format!("[alpha]\na = {nested}\n")).unwrap();
        load(&path, &[], dir.path());
        let (_, value) = parse_override(&format!("alpha.a={nested}")).unwrap();
        std::fs::write(&path, "[alpha]\na = 1\n").unwrap();
        load(&path, &[("alpha.a".to_owned(), value)], dir.path());
    }
}
