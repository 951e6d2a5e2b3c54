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

    /// The shard given by a job-array scheduler, if any. `env` looks a variable up (normally
    /// `std::env::var`).
    ///
    /// Slurm: task `SLURM_ARRAY_TASK_ID` of an array starting at `SLURM_ARRAY_TASK_MIN` with step
    /// `SLURM_ARRAY_TASK_STEP` is shard `(id - min) / step` of `SLURM_ARRAY_TASK_COUNT`.
    ///
    /// LSF sets `LSB_JOBINDEX` (0 outside arrays), `LSB_JOBINDEX_END` (the last index) and
    /// `LSB_JOBINDEX_STEP`, but no variable for the first index: that comes from the array's
    /// specification `name[start-end:step]` in `LSB_JOBNAME`. When it is not there (or the array
    /// is a list such as `name[1,4,9]`) the shard cannot be known, and the error asks for
    /// `--shard`.
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
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = id.checked_sub(min).ok_or(format!(
                "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
            ))?;
            if offset % step != 0 {
                return Err(format!(
                    "SLURM_ARRAY_TASK_ID={id} is not SLURM_ARRAY_TASK_MIN={min} plus a multiple of SLURM_ARRAY_TASK_STEP={step} (an array given as a list?); pass --shard I/N instead"
                ));
            }
            return Self::new(offset / step, count).map(Some);
        }
        if let Some(job_index) = number("LSB_JOBINDEX")? {
            if job_index == 0 {
                // LSF sets LSB_JOBINDEX=0 for jobs that are not part of an array.
                return Ok(None);
            }
            let end = number("LSB_JOBINDEX_END")?
                .ok_or("LSB_JOBINDEX is set but LSB_JOBINDEX_END is not")?;
            let step = number("LSB_JOBINDEX_STEP")?.unwrap_or(1);
            let name = env("LSB_JOBNAME").unwrap_or_default();
            return lsf_shard(job_index, end, step, &name).map(Some);
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

/// The shard of LSF array element `job_index` (see [`Shard::from_scheduler`]).
fn lsf_shard(job_index: usize, end: usize, step: usize, job_name: &str) -> Result<Shard, String> {
    let unknown = |why: String| {
        format!(
            "LSF job array element LSB_JOBINDEX={job_index} (LSB_JOBINDEX_END={end}, LSB_JOBINDEX_STEP={step}): {why}, so nona cannot tell which shard this is; pass --shard I/N with I = (LSB_JOBINDEX - first index) / step and N = the number of elements"
        )
    };
    if step == 0 {
        return Err(unknown("the step is 0".to_owned()));
    }
    let spec = job_name
        .rsplit_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(spec, _)| spec)
        .ok_or_else(|| {
            unknown(format!(
                "LSF does not say where the array starts, and LSB_JOBNAME=`{job_name}` holds no [start-end:step]"
            ))
        })?;
    let parse = |text: &str| text.trim().parse::<usize>().ok();
    let (range, spec_step) = spec.split_once(':').unwrap_or((spec, "1"));
    let (start, spec_end) = range
        .split_once('-')
        .and_then(|(start, end)| Some((parse(start)?, parse(end)?)))
        .filter(|_| parse(spec_step) == Some(step))
        .ok_or_else(|| {
            unknown(format!(
                "LSB_JOBNAME=`{job_name}` is not one range [start-end:step] with step {step}"
            ))
        })?;
    let offset = job_index
        .checked_sub(start)
        .filter(|offset| offset % step == 0 && job_index <= end && spec_end >= end)
        .ok_or_else(|| {
            unknown(format!(
                "it is not an element of the range [{spec}] in LSB_JOBNAME=`{job_name}`"
            ))
        })?;
    Shard::new(offset / step, (end - start) / step + 1)
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
        let lsf = env(&[
            ("LSB_JOBINDEX", "1"),
            ("LSB_JOBINDEX_END", "8"),
            ("LSB_JOBNAME", "nona[1-8]"),
        ]);
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

    #[test]
    fn slurm_arrays_with_a_step() {
        // --array=1-7:2 runs tasks 1, 3, 5, 7.
        let shards: Vec<_> = [1, 3, 5, 7]
            .iter()
            .map(|id| {
                Shard::from_scheduler(env(&[
                    ("SLURM_ARRAY_TASK_ID", &id.to_string()),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_STEP", "2"),
                ]))
                .unwrap()
                .unwrap()
            })
            .collect();
        let expected: Vec<_> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        assert_eq!(shards, expected);
    }

    fn lsf(
        index: usize,
        end: &str,
        step: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<Shard>, String> {
        let index = index.to_string();
        let mut vars = vec![("LSB_JOBINDEX", index.as_str()), ("LSB_JOBINDEX_END", end)];
        vars.extend(step.map(|s| ("LSB_JOBINDEX_STEP", s)));
        vars.extend(name.map(|n| ("LSB_JOBNAME", n)));
        Shard::from_scheduler(env(&vars))
    }

    #[test]
    fn lsf_arrays_with_a_start_and_a_step_cover_every_shard_once() {
        // nona[5-20:3] runs elements 5, 8, 11, 14, 17, 20.
        let shards: Vec<_> = (5..=20)
            .step_by(3)
            .map(|i| {
                lsf(i, "20", Some("3"), Some("nona[5-20:3]"))
                    .unwrap()
                    .unwrap()
            })
            .collect();
        let expected: Vec<_> = (0..6).map(|index| Shard { index, count: 6 }).collect();
        assert_eq!(shards, expected);
        // A range whose end is not an element (5, 8, ..., 17 of [5-19:3]); with a slot limit.
        assert_eq!(
            lsf(17, "19", Some("3"), Some("nona[5-19:3]%2")),
            Ok(Some(Shard { index: 4, count: 5 }))
        );
        // Without a step, from 5.
        assert_eq!(
            lsf(7, "8", None, Some("nona[5-8]")),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
    }

    #[test]
    fn lsf_arrays_of_unknown_shape_ask_for_shard() {
        for (index, end, step, name) in [
            (5, "20", Some("3"), None),
            (5, "20", Some("3"), Some("nona")),
            (4, "9", Some("1"), Some("nona[1,4,9]")),
            (6, "20", Some("3"), Some("nona[5-20:3]")),
            (5, "20", Some("3"), Some("nona[5-20]")),
            (2, "20", Some("3"), Some("nona[5-20:3]")),
        ] {
            let error = lsf(index, end, step, name).unwrap_err();
            assert!(
                error.contains("pass --shard I/N")
                    && error.contains(&format!("LSB_JOBINDEX={index}")),
                "{error}"
            );
        }
    }
}
