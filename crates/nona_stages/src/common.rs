//! Config pieces shared by several stages.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// What a stage does with a sample it cannot process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Record it in the stage's errors table and go on (the default).
    #[default]
    Skip,
    /// Stop the stage at the first failure.
    Fail,
}

/// Default rows per work unit (and per Parquet part).
pub(crate) fn default_shard_rows() -> usize {
    1024
}

/// A section whose flat table of keys does not mirror one struct (it fills the fields of several,
/// or names one differently), read key by key over its defaults. Implemented, with `Deserialize`
/// and `Serialize`, by [`flat_section!`]. Unlike `#[serde(flatten)]`, this keeps the "did you
/// mean" of a mistyped key and the line of a wrong value.
pub(crate) trait FlatSection: Default {
    /// Every key, in documentation order.
    const KEYS: &'static [&'static str];

    /// Reads the value of `key` from `map`; a key not in [`Self::KEYS`] is
    /// `serde::de::Error::unknown_field`.
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Implements [`FlatSection`], `Deserialize` and `Serialize` for a section from one list of its
/// keys and the fields they set: `"key" => value(field.path)` for a value with serde,
/// `"key" => name(field.path)` for a `nona_heads` enum by its pipeline name.
macro_rules! flat_section {
    (@read value, $map:ident) => {
        $map.next_value()?
    };
    (@read name, $map:ident) => {
        $map.next_value::<$crate::common::Named<_>>()?.0
    };
    (@write value, $value:expr) => {
        &$value
    };
    (@write name, $value:expr) => {
        &$value.to_string()
    };
    ($section:ty { $($key:literal => $how:ident($($field:ident).+)),+ $(,)? }) => {
        impl $crate::common::FlatSection for $section {
            const KEYS: &'static [&'static str] = &[$($key),+];

            fn read_value<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                match key {
                    $($key => self.$($field).+ = $crate::common::flat_section!(@read $how, map),)+
                    other => {
                        return Err(<A::Error as serde::de::Error>::unknown_field(
                            other,
                            Self::KEYS,
                        ));
                    }
                }
                Ok(())
            }
        }

        impl<'de> serde::Deserialize<'de> for $section {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::common::deserialize_flat(deserializer)
            }
        }

        impl serde::Serialize for $section {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                use $crate::common::FlatSection;
                let mut table = serializer.serialize_struct(stringify!($section), Self::KEYS.len())?;
                $(table.serialize_field(
                    $key,
                    $crate::common::flat_section!(@write $how, self.$($field).+),
                )?;)+
                table.end()
            }
        }
    };
}
pub(crate) use flat_section;

/// Deserialises a [`FlatSection`].
pub(crate) fn deserialize_flat<'de, T: FlatSection, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_struct("section", T::KEYS, FlatVisitor(PhantomData))
}

struct FlatVisitor<T>(PhantomData<T>);

impl<'de, T: FlatSection> Visitor<'de> for FlatVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut section = T::default();
        while let Some(key) = map.next_key::<String>()? {
            section.read_value(&key, &mut map)?;
        }
        Ok(section)
    }
}

/// A value read by its name (`FromStr`), as [`nona_train::names`] reads `nona_heads`' enums.
pub(crate) struct Named<T>(pub(crate) T);

impl<'de, T: FromStr<Err: fmt::Display>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        nona_train::names::deserialize(deserializer).map(Self)
    }
}
