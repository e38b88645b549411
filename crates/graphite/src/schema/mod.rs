//! Storage schemas: the step and retention of each series, and how coarser
//! archives are rolled up, as carbon's `storage-schemas.conf` and
//! `storage-aggregation.conf` say them.
//!
//! Graphite fixes a series' layout when its whisper file is created: a list
//! of archives, finest first (`10s:6h,1m:7d,10m:5y`), each slot holding the
//! last value written to it, each coarser archive rolled up from the one
//! before by an aggregation method when enough of its slots are known
//! (`xFilesFactor`). eardrum keeps every raw point and lays them out so at
//! read time: [`StorageSchemas::layout_for`] says which layout a key has,
//! [`Layout::plan`] picks the archive a range is read from as whisper picks
//! it, and [`ReadPlan::fold`] turns the raw points into that archive's
//! slots. With no schema file, there is no layout and a series' step is
//! inferred from its points (see [`crate::series`]).

mod parse;
mod read;

pub use read::{Cascade, ReadPlan, SlotFold};

use regex::Regex;

/// One archive of a layout: `step` seconds a slot, `points` slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archive {
    /// Seconds between slots (carbon's precision).
    pub step: i64,
    /// How many slots it holds.
    pub points: i64,
}

impl Archive {
    /// How far back it reaches, in seconds.
    pub fn retention(&self) -> i64 {
        self.step.saturating_mul(self.points)
    }
}

/// How a coarser archive's slot is made from the finer slots inside it:
/// whisper's aggregation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregationMethod {
    /// The mean of the known values.
    Average,
    /// Their sum.
    Sum,
    /// The latest of them.
    Last,
    /// The largest.
    Max,
    /// The smallest.
    Min,
    /// The mean with unknown slots counted as zeros.
    AvgZero,
    /// The one farthest from zero (its sign kept).
    AbsMax,
    /// The one closest to zero.
    AbsMin,
}

impl AggregationMethod {
    /// The method named as in `storage-aggregation.conf`.
    pub fn parse(name: &str) -> Option<AggregationMethod> {
        Some(match name {
            "average" => AggregationMethod::Average,
            "sum" => AggregationMethod::Sum,
            "last" => AggregationMethod::Last,
            "max" => AggregationMethod::Max,
            "min" => AggregationMethod::Min,
            "avg_zero" => AggregationMethod::AvgZero,
            "absmax" => AggregationMethod::AbsMax,
            "absmin" => AggregationMethod::AbsMin,
            _ => return None,
        })
    }

    /// The value of a coarse slot from the `known` values of the `slots`
    /// finer slots inside it (at least one known), as whisper computes it.
    pub fn of(self, known: &[f64], slots: usize) -> f64 {
        let sum = || known.iter().fold(0.0, |sum, value| sum + value);
        let first = known.first().copied().unwrap_or(f64::NAN);
        match self {
            AggregationMethod::Average => sum() / known.len() as f64,
            AggregationMethod::Sum => sum(),
            AggregationMethod::Last => known.last().copied().unwrap_or(f64::NAN),
            AggregationMethod::Max => known.iter().copied().fold(first, f64::max),
            AggregationMethod::Min => known.iter().copied().fold(first, f64::min),
            AggregationMethod::AvgZero => sum() / slots.max(1) as f64,
            // Python's max(key=abs): the first of equal magnitudes.
            AggregationMethod::AbsMax => {
                known
                    .iter()
                    .copied()
                    .fold(first, |best, value| if value.abs() > best.abs() { value } else { best })
            }
            AggregationMethod::AbsMin => {
                known
                    .iter()
                    .copied()
                    .fold(first, |best, value| if value.abs() < best.abs() { value } else { best })
            }
        }
    }
}

/// The layout of one series: its archives, finest first, and how they roll
/// up.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The schema section that gave the archives (`default` for carbon's
    /// fallback).
    pub schema: String,
    /// Finest first; each step divides the next, each reaches further back.
    pub archives: Vec<Archive>,
    /// How each archive is made from the one before.
    pub method: AggregationMethod,
    /// The share of finer slots that must be known for a coarse slot to
    /// have a value.
    pub x_files_factor: f64,
}

/// One section of `storage-schemas.conf`.
#[derive(Debug, Clone)]
struct SchemaRule {
    name: String,
    /// `None` for `match-all = true`.
    pattern: Option<Regex>,
    archives: Vec<Archive>,
}

/// One section of `storage-aggregation.conf`.
#[derive(Debug, Clone)]
struct AggregationRule {
    pattern: Option<Regex>,
    x_files_factor: Option<f64>,
    method: Option<AggregationMethod>,
}

fn rule_matches(pattern: &Option<Regex>, key: &str) -> bool {
    pattern.as_ref().is_none_or(|pattern| pattern.is_match(key))
}

/// Carbon's archive for a key no schema section matches: a minute a slot,
/// seven days.
pub const CARBON_DEFAULT_ARCHIVE: Archive = Archive { step: 60, points: 7 * 24 * 60 };
/// Whisper's share of known slots when no aggregation rule says.
pub const WHISPER_DEFAULT_X_FILES_FACTOR: f64 = 0.5;

/// The storage schemas a server renders by: none (every series' step
/// inferred from its points) or carbon's two files.
#[derive(Debug, Clone, Default)]
pub struct StorageSchemas {
    schemas: Vec<SchemaRule>,
    aggregation: Vec<AggregationRule>,
    configured: bool,
}

impl StorageSchemas {
    /// The schemas of `storage-schemas.conf` text and, if given,
    /// `storage-aggregation.conf` text. Sections are tried in file order,
    /// the first whose `pattern` (a regular expression searched in the key)
    /// matches wins; a key no section matches gets carbon's `60s:7d`, and
    /// `average` with an `xFilesFactor` of 0.5 unless an aggregation rule
    /// says otherwise.
    ///
    /// # Errors
    ///
    /// `line N: …` for a line, section or value carbon would refuse, or
    /// archives whisper would refuse.
    pub fn parse(schemas: &str, aggregation: Option<&str>) -> Result<StorageSchemas, String> {
        let schemas = parse::schema_rules(schemas)?;
        let aggregation = match aggregation {
            Some(text) => {
                parse::aggregation_rules(text).map_err(|reason| format!("storage-aggregation: {reason}"))?
            }
            None => Vec::new(),
        };
        Ok(StorageSchemas { schemas, aggregation, configured: true })
    }

    /// Whether schema files were given (else steps are inferred).
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// How long the layouts keep what they keep, in seconds, the longest
    /// of each over every layout a key can have: the finest archive's
    /// retention, and the coarsest's. `None` when no schema files were
    /// given.
    pub fn longest_retentions(&self) -> Option<(i64, i64)> {
        if !self.configured {
            return None;
        }
        let mut longest = (0, 0);
        for archives in self.archive_lists() {
            let finest = archives.first().map_or(0, Archive::retention);
            let whole = archives.iter().map(Archive::retention).max().unwrap_or(0);
            longest = (longest.0.max(finest), longest.1.max(whole));
        }
        Some(longest)
    }

    /// Every archive retention, in seconds, of every layout a key can
    /// have, shortest first, each once: the ages at which some key loses
    /// something.
    pub fn retentions(&self) -> Vec<i64> {
        let mut retentions: Vec<i64> =
            self.archive_lists().flat_map(|archives| archives.iter().map(Archive::retention)).collect();
        retentions.sort_unstable();
        retentions.dedup();
        retentions
    }

    /// The archives of each section, and carbon's `60s:7d` for keys no
    /// section matches unless a section matches every key.
    fn archive_lists(&self) -> impl Iterator<Item = &[Archive]> {
        // Carbon's usual catch-alls; other patterns may leave keys to the
        // default.
        let catches_all = self.schemas.iter().any(|rule| {
            rule.pattern.as_ref().is_none_or(|pattern| matches!(pattern.as_str(), ".*" | "^.*" | "." | ""))
        });
        let default: &[Archive] = &[CARBON_DEFAULT_ARCHIVE];
        let sections = self.schemas.iter().map(|rule| rule.archives.as_slice());
        sections.chain((self.configured && !catches_all).then_some(default))
    }

    /// The layout of `key`, or `None` when no schema files were given.
    pub fn layout_for(&self, key: &str) -> Option<Layout> {
        if !self.configured {
            return None;
        }
        let (schema, archives) = match self.schemas.iter().find(|rule| rule_matches(&rule.pattern, key)) {
            Some(rule) => (rule.name.clone(), rule.archives.clone()),
            None => ("default".to_owned(), vec![CARBON_DEFAULT_ARCHIVE]),
        };
        let rule = self.aggregation.iter().find(|rule| rule_matches(&rule.pattern, key));
        Some(Layout {
            schema,
            archives,
            method: rule.and_then(|rule| rule.method).unwrap_or(AggregationMethod::Average),
            x_files_factor: rule
                .and_then(|rule| rule.x_files_factor)
                .unwrap_or(WHISPER_DEFAULT_X_FILES_FACTOR),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_section_wins_and_carbon_defaults_the_rest() {
        let schemas = StorageSchemas::parse(
            "[carbon]\npattern = ^carbon\\.\nretentions = 60:90d\n\n\
             [fast]\npattern = \\.fast$\nretentions = 10s:6h,1min:7d,10m:5y\n",
            Some("[counts]\npattern = \\.count$\nxFilesFactor = 0\naggregationMethod = sum\n"),
        )
        .unwrap();
        let fast = schemas.layout_for("web.fast").unwrap();
        assert_eq!(fast.schema, "fast");
        let steps: Vec<(i64, i64)> = fast.archives.iter().map(|a| (a.step, a.points)).collect();
        assert_eq!(steps, [(10, 2160), (60, 10080), (600, 262_800)]);
        assert_eq!((fast.method, fast.x_files_factor), (AggregationMethod::Average, 0.5));
        let counted = schemas.layout_for("carbon.agents.count").unwrap();
        assert_eq!(
            (counted.schema.as_str(), counted.archives[0]),
            ("carbon", Archive { step: 60, points: 129_600 })
        );
        assert_eq!((counted.method, counted.x_files_factor), (AggregationMethod::Sum, 0.0));
        let other = schemas.layout_for("other").unwrap();
        assert_eq!(
            (other.schema.as_str(), other.archives.as_slice()),
            ("default", &[CARBON_DEFAULT_ARCHIVE][..])
        );
        assert!(StorageSchemas::default().layout_for("web.fast").is_none());
        let day = 86_400;
        assert_eq!(schemas.longest_retentions(), Some((90 * day, 5 * 365 * day)));
        let only = StorageSchemas::parse("[all]\npattern = .*\nretentions = 10s:1d,1h:30d\n", None).unwrap();
        assert_eq!(only.longest_retentions(), Some((day, 30 * day)), "no key is left to the default");
        let some = StorageSchemas::parse("[a]\npattern = ^a\nretentions = 10s:1d\n", None).unwrap();
        assert_eq!(some.longest_retentions(), Some((7 * day, 7 * day)), "carbon's default for the rest");
        assert_eq!(StorageSchemas::default().longest_retentions(), None);
        assert_eq!(only.retentions(), [day, 30 * day]);
        assert_eq!(some.retentions(), [day, 7 * day]);
    }

    #[test]
    fn aggregation_methods_are_whispers() {
        let known = [3.0, -7.0, 7.0, 1.0];
        let of = |method| AggregationMethod::of(method, &known, 8);
        assert_eq!(of(AggregationMethod::Average), 1.0);
        assert_eq!(of(AggregationMethod::Sum), 4.0);
        assert_eq!(of(AggregationMethod::Last), 1.0);
        assert_eq!((of(AggregationMethod::Max), of(AggregationMethod::Min)), (7.0, -7.0));
        assert_eq!(of(AggregationMethod::AvgZero), 0.5);
        assert_eq!((of(AggregationMethod::AbsMax), of(AggregationMethod::AbsMin)), (-7.0, 1.0));
        assert_eq!(AggregationMethod::parse("avg_zero"), Some(AggregationMethod::AvgZero));
        assert_eq!(AggregationMethod::parse("avg"), None);
    }
}
