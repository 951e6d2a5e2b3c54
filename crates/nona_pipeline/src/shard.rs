//! Splitting a stage's work units across processes (`--shard I/N`, Slurm and LSF job arrays).

use std::str::FromStr;

/// One process's slice of a stage: the units `u` with `u % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index of this process.
    pub index: usize,
    /// Number of processes sharing the work.
    pub count: usize,
}

impl Shard {
    /// The whole stage in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard does `unit`.
    pub fn owns(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }

    /// Whether this is the whole stage.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The shard given by a job-array scheduler, if any: Slurm (`SLURM_ARRAY_TASK_ID` minus
    /// `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`) or LSF (`LSB_JOBINDEX`, 1-based, of
    /// `LSB_JOBINDEX_END`). `env` looks a variable up (normally `std::env::var`).
    pub fn from_scheduler(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let number = |name: &str| -> Result<Option<usize>, String> {
            env(name)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("{name}={v} is not a non-negative integer"))
                })
                .transpose()
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or(format!(
                "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
            ))?;
            return Self::new(index, count).map(Some);
        }
        if let Some(job_index) = number("LSB_JOBINDEX")? {
            if job_index == 0 {
                // LSF sets LSB_JOBINDEX=0 for jobs that are not part of an array.
                return Ok(None);
            }
            let count = number("LSB_JOBINDEX_END")?
                .ok_or("LSB_JOBINDEX is set but LSB_JOBINDEX_END is not")?;
            return Self::new(job_index - 1, count).map(Some);
        }
        Ok(None)
    }

    fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count (0-based)"
            ));
        }
        Ok(Self { index, count })
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `I/N` with a 0-based `I`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (index, count) = text
            .split_once('/')
            .ok_or(format!("`{text}`: expected I/N, e.g. 0/4"))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}`: expected I/N with integers, e.g. 0/4"))
        };
        Self::new(parse(index)?, parse(count)?)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        assert!("5/5".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn shards_partition_the_units() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for unit in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(unit)).count(), 1);
        }
    }

    #[test]
    fn reads_slurm_and_lsf() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_scheduler(slurm),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        let slurm_from_one = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(
            Shard::from_scheduler(slurm_from_one),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        let lsf = env(&[("LSB_JOBINDEX", "1"), ("LSB_JOBINDEX_END", "8")]);
        assert_eq!(
            Shard::from_scheduler(lsf),
            Ok(Some(Shard { index: 0, count: 8 }))
        );
        assert_eq!(
            Shard::from_scheduler(env(&[("LSB_JOBINDEX", "0")])),
            Ok(None)
        );
        assert_eq!(Shard::from_scheduler(env(&[])), Ok(None));
        assert!(Shard::from_scheduler(env(&[("SLURM_ARRAY_TASK_ID", "1")])).is_err());
    }
}
