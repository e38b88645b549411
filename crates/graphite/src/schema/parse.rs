//! Reading carbon's two files: INI sections as Python's `ConfigParser`
//! reads them (keys case-insensitive, `=` or `:`, `#` and `;` comments),
//! retentions as carbon's `parseRetentionDef` reads them, archives checked
//! as `whisper.create` checks them.

use super::{AggregationMethod, AggregationRule, Archive, SchemaRule};
use regex::Regex;

/// One `[name]` section: its line and its `key = value` pairs (keys
/// lowercased, each with its line).
struct Section {
    name: String,
    line: usize,
    entries: Vec<(String, String, usize)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<(&str, usize)> {
        self.entries.iter().find(|(name, _, _)| name == key).map(|(_, value, line)| (value.as_str(), *line))
    }

    /// Refuses a key outside `known`: a misspelt `retention` would
    /// otherwise be a schema silently ignored.
    fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.entries.iter().find(|(key, _, _)| !known.contains(&key.as_str())) {
            None => Ok(()),
            Some((key, _, line)) => Err(format!(
                "line {line}: unknown key {key:?} in [{}] (known: {})",
                self.name,
                known.join(", ")
            )),
        }
    }

    /// The section's pattern, or `None` for `match-all = true`.
    fn pattern(&self) -> Result<Option<Regex>, String> {
        if let Some((value, line)) = self.get("match-all") {
            return match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(None),
                _ => Err(format!("line {line}: match-all is {value:?}: only true is meaningful")),
            };
        }
        let (pattern, line) = self.get("pattern").ok_or_else(|| {
            format!("line {}: [{}] has no pattern (nor match-all = true)", self.line, self.name)
        })?;
        Regex::new(pattern).map(Some).map_err(|error| format!("line {line}: pattern {pattern:?}: {error}"))
    }
}

/// The sections of an INI text, in order.
fn sections(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            return Err(format!("line {line}: an indented line (a continued value) is not read: join it"));
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let name =
                name.strip_suffix(']').ok_or_else(|| format!("line {line}: a section header without `]`"))?;
            if sections.iter().any(|section| section.name == name) {
                return Err(format!("line {line}: section [{name}] appears twice"));
            }
            sections.push(Section { name: name.to_owned(), line, entries: Vec::new() });
            continue;
        }
        let section =
            sections.last_mut().ok_or_else(|| format!("line {line}: a value before any [section]"))?;
        let split = trimmed.find(['=', ':']).ok_or_else(|| format!("line {line}: expected `key = value`"))?;
        let key = trimmed[..split].trim().to_ascii_lowercase();
        let value = trimmed[split + 1..].trim().to_owned();
        if section.entries.iter().any(|(seen, _, _)| *seen == key) {
            return Err(format!("line {line}: {key} appears twice in [{}]", section.name));
        }
        section.entries.push((key, value, line));
    }
    Ok(sections)
}

/// The sections of `storage-schemas.conf`.
pub(super) fn schema_rules(text: &str) -> Result<Vec<SchemaRule>, String> {
    let mut rules = Vec::new();
    for section in sections(text)? {
        // carbon reads `priority` from old files and ignores it.
        section.only(&["pattern", "match-all", "retentions", "priority"])?;
        let pattern = section.pattern()?;
        let (retentions, line) = section
            .get("retentions")
            .ok_or_else(|| format!("line {}: [{}] has no retentions", section.line, section.name))?;
        let archives = archives(retentions).map_err(|reason| format!("line {line}: {reason}"))?;
        rules.push(SchemaRule { name: section.name, pattern, archives });
    }
    Ok(rules)
}

/// The sections of `storage-aggregation.conf`.
pub(super) fn aggregation_rules(text: &str) -> Result<Vec<AggregationRule>, String> {
    let mut rules = Vec::new();
    for section in sections(text)? {
        section.only(&["pattern", "match-all", "xfilesfactor", "aggregationmethod"])?;
        let pattern = section.pattern()?;
        let x_files_factor = match section.get("xfilesfactor") {
            None => None,
            Some((text, line)) => {
                Some(text.parse::<f64>().ok().filter(|share| (0.0..=1.0).contains(share)).ok_or_else(
                    || format!("line {line}: xFilesFactor {text:?} is not a number from 0 to 1"),
                )?)
            }
        };
        let method = match section.get("aggregationmethod") {
            None => None,
            Some((name, line)) => Some(AggregationMethod::parse(name).ok_or_else(|| {
                format!(
                    "line {line}: aggregationMethod {name:?} is not one of average, sum, last, max, min, \
                     avg_zero, absmax, absmin"
                )
            })?),
        };
        rules.push(AggregationRule { pattern, x_files_factor, method });
    }
    Ok(rules)
}

/// Seconds in a unit carbon names by any prefix of `seconds`, `minutes`,
/// `hours`, `days`, `weeks` or `years` (so `m` is minutes).
fn unit_seconds(unit: &str) -> Option<i64> {
    [
        ("seconds", 1),
        ("minutes", 60),
        ("hours", 3600),
        ("days", 86_400),
        ("weeks", 604_800),
        ("years", 31_536_000),
    ]
    .into_iter()
    .find(|(name, _)| !unit.is_empty() && name.starts_with(unit))
    .map(|(_, seconds)| seconds)
}

/// `COUNT` or `COUNT UNIT` (lowercase), as carbon's regular expression
/// `^(\d+)([a-z]+)$` reads it: the count and the unit's seconds (`None`
/// for a bare count).
fn count_and_unit(text: &str) -> Option<(i64, Option<i64>)> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let count = text[..digits].parse::<i64>().ok()?;
    let unit = &text[digits..];
    match unit.is_empty() {
        true => Some((count, None)),
        false if unit.bytes().all(|byte| byte.is_ascii_lowercase()) => {
            Some((count, Some(unit_seconds(unit)?)))
        }
        false => None,
    }
}

/// One `precision:retention` definition: a bare precision is seconds, a
/// bare retention a count of points, else a duration.
fn archive(definition: &str) -> Result<Archive, String> {
    let (precision, retention) = definition
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("retention {definition:?} is not precision:retention, such as 10s:6h"))?;
    let step = count_and_unit(precision)
        .and_then(|(count, unit)| count.checked_mul(unit.unwrap_or(1)))
        .filter(|&step| step > 0)
        .ok_or_else(|| format!("precision {precision:?} is not a length of time such as 10s, 1m or 60"))?;
    let points = count_and_unit(retention)
        .and_then(|(count, unit)| match unit {
            None => Some(count),
            Some(unit) => count.checked_mul(unit).map(|seconds| seconds / step),
        })
        .filter(|&points| points > 0)
        .ok_or_else(|| format!("retention {retention:?} is not a count of points nor a length such as 7d"))?;
    Ok(Archive { step, points })
}

/// A `retentions` list, sorted finest first and checked as whisper checks
/// it.
fn archives(retentions: &str) -> Result<Vec<Archive>, String> {
    let mut archives = retentions
        .split(',')
        .filter(|one| !one.trim().is_empty())
        .map(archive)
        .collect::<Result<Vec<_>, _>>()?;
    if archives.is_empty() {
        return Err("retentions is empty".to_owned());
    }
    archives.sort_by_key(|archive| archive.step);
    for pair in archives.windows(2) {
        let (finer, coarser) = (pair[0], pair[1]);
        if finer.step == coarser.step {
            return Err(format!("two archives of the same precision ({}s)", finer.step));
        }
        if coarser.step % finer.step != 0 {
            return Err(format!("precision {}s does not divide {}s evenly", finer.step, coarser.step));
        }
        if coarser.retention() <= finer.retention() {
            return Err(format!(
                "the {}s archive must reach further back than the {}s one",
                coarser.step, finer.step
            ));
        }
        if finer.points < coarser.step / finer.step {
            return Err(format!(
                "the {}s archive holds fewer slots than one {}s slot covers",
                finer.step, coarser.step
            ));
        }
    }
    Ok(archives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retentions_read_as_carbon_reads_them() {
        assert_eq!(archive("60:1440").unwrap(), Archive { step: 60, points: 1440 });
        assert_eq!(archive("10s:6h").unwrap(), Archive { step: 10, points: 2160 });
        assert_eq!(archive("1min:1y").unwrap(), Archive { step: 60, points: 525_600 });
        assert_eq!(archive("5m:2weeks").unwrap(), Archive { step: 300, points: 4032 });
        for wrong in ["10s", "10x:6h", "10S:6h", "0s:6h", "10s:", "-1s:6h", "10s:1s"] {
            assert!(archive(wrong).is_err(), "{wrong}");
        }
        let sorted = archives("1m:7d, 10s:6h").unwrap();
        assert_eq!(sorted[0].step, 10, "finest first, as whisper sorts them");
        assert!(archives("10s:6h,15s:7d").unwrap_err().contains("evenly"));
        assert!(archives("10s:7d,1m:6h").unwrap_err().contains("further back"));
        assert!(archives("10s:6h,10s:7d").unwrap_err().contains("same precision"));
        assert!(archives("10s:3,1m:7d").unwrap_err().contains("fewer slots"));
    }

    #[test]
    fn sections_read_as_configparser_reads_them() {
        let text = "# comment\n[a]\nPattern: ^a\\.\n; another\nRETENTIONS = 10s:1d\npriority = 5\n\n[all]\nmatch-all = true\nretentions = 60:100\n";
        let rules = schema_rules(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert!(rules[0].pattern.as_ref().unwrap().is_match("a.b"));
        assert!(rules[1].pattern.is_none());
        for (wrong, says) in [
            ("retentions = 1:1\n", "line 1: a value before any [section]"),
            ("[a]\npattern = x\n", "line 1: [a] has no retentions"),
            ("[a]\nretentions = 1:2\n", "has no pattern"),
            ("[a]\npattern = (\nretentions = 1:2\n", "line 2: pattern"),
            ("[a]\npattern = x\nretention = 1:2\n", "line 3: unknown key \"retention\""),
            ("[a]\npattern = x\nretentions = 10s:6h,1m\n", "line 3: retention \"1m\""),
            ("[a]\npattern = x\nretentions = 1:2\n[a]\n", "line 4: section [a] appears twice"),
            ("[a]\npattern = x\n  retentions = 1:2\n", "line 3: an indented line"),
        ] {
            let error = schema_rules(wrong).err().unwrap_or_default();
            assert!(error.contains(says), "{wrong:?}: {error}");
        }
        let rules =
            aggregation_rules("[sum]\npattern = \\.count$\nxFilesFactor = 0.1\naggregationMethod = sum\n")
                .unwrap();
        assert_eq!((rules[0].x_files_factor, rules[0].method), (Some(0.1), Some(AggregationMethod::Sum)));
        assert!(aggregation_rules("[a]\npattern = x\nxFilesFactor = 2\n")
            .unwrap_err()
            .contains("from 0 to 1"));
        assert!(aggregation_rules("[a]\npattern = x\naggregationMethod = mean\n")
            .unwrap_err()
            .contains("avg_zero"));
    }
}
