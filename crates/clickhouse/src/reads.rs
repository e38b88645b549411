//! The paged reads a front end merges with its local log: keys in
//! first-put order from a resume point, and the points of a page of keys
//! from a resume point, each with the version that won.

use crate::error::{Error, Result};
use crate::{tsv, ClickHouse};
use std::collections::HashMap;

/// One point read back, of the key at `key_index` in the keys asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VersionedPoint {
    /// Which of the keys asked for it belongs to.
    pub key_index: usize,
    /// Unix seconds.
    pub timestamp: i64,
    /// The value of the highest version.
    pub value: f64,
    /// That version.
    pub version: u64,
}

/// Where a page of keys starts: after the key ranked `first_seen` with
/// `key` (or at it, when `inclusive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeysFrom<'a> {
    /// The key's first-seen time.
    pub first_seen: u64,
    /// The key.
    pub key: &'a str,
    /// Whether the page starts with this key itself.
    pub inclusive: bool,
}

impl ClickHouse {
    /// Up to `limit` keys with their first-seen times, in first-put order
    /// (first-seen time, then key), from `from` on.
    ///
    /// # Errors
    ///
    /// As every query, and [`Error::Malformed`] for a bad row.
    pub(crate) fn keys_page(&self, from: Option<KeysFrom<'_>>, limit: usize) -> Result<Vec<(String, u64)>> {
        let having = match from {
            None => String::new(),
            Some(KeysFrom { first_seen, key, inclusive }) => format!(
                "HAVING seen > {first_seen} OR (seen = {first_seen} AND key {} {})",
                if inclusive { ">=" } else { ">" },
                tsv::sql_string(key)
            ),
        };
        let query = format!(
            "SELECT key, min(first_seen) AS seen FROM series GROUP BY key {having} \
             ORDER BY seen, key LIMIT {limit} FORMAT TabSeparated"
        );
        self.run(&query, b"")?.lines().map(key_and_seen).collect()
    }

    /// The first-seen times of those of `keys` that ClickHouse knows.
    ///
    /// # Errors
    ///
    /// As [`keys_page`](ClickHouse::keys_page).
    pub(crate) fn first_seen(&self, keys: &[&str]) -> Result<HashMap<String, u64>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let query = format!(
            "SELECT key, min(first_seen) FROM series WHERE key IN ({}) GROUP BY key FORMAT TabSeparated",
            sql_list(keys)
        );
        self.run(&query, b"")?.lines().map(key_and_seen).collect()
    }

    /// Up to `limit` points of `keys`, key by key in the order given, each
    /// key's points ascending, one per timestamp (the highest version's);
    /// `resume` skips the points of one key up to and including a time.
    ///
    /// # Errors
    ///
    /// As [`keys_page`](ClickHouse::keys_page).
    pub(crate) fn points_page(
        &self,
        keys: &[&str],
        resume: Option<(&str, i64)>,
        limit: usize,
    ) -> Result<Vec<VersionedPoint>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let list = sql_list(keys);
        let positions = (1..=keys.len()).map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        let skip = match resume {
            None => String::new(),
            Some((key, after)) => {
                format!("AND NOT (key = {} AND timestamp <= {after})", tsv::sql_string(key))
            }
        };
        let query = format!(
            "SELECT transform(key, [{list}], [{positions}], 0) AS position, timestamp, \
             argMax(value, version), max(version) \
             FROM points WHERE key IN ({list}) {skip} GROUP BY key, timestamp \
             ORDER BY position, timestamp LIMIT {limit} FORMAT TabSeparated"
        );
        let text = self.run(&query, b"")?;
        text.lines()
            .map(|line| {
                let mut fields = line.split('\t');
                let position = fields.next().and_then(|p| p.parse::<usize>().ok()).filter(|&p| p >= 1);
                let timestamp = fields.next().and_then(|t| t.parse().ok());
                let value = fields.next().and_then(tsv::parse_float);
                let version = fields.next().and_then(|v| v.parse().ok());
                match (position, timestamp, value, version) {
                    (Some(position), Some(timestamp), Some(value), Some(version)) => {
                        Ok(VersionedPoint { key_index: position - 1, timestamp, value, version })
                    }
                    _ => Err(Error::Malformed(format!("row {line:?}"))),
                }
            })
            .collect()
    }
}

/// `'a', 'b', …`.
fn sql_list(keys: &[&str]) -> String {
    let mut list = String::new();
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            list.push_str(", ");
        }
        list.push_str(&tsv::sql_string(key));
    }
    list
}

fn key_and_seen(line: &str) -> Result<(String, u64)> {
    let (key, seen) = line.rsplit_once('\t').ok_or_else(|| Error::Malformed(format!("row {line:?}")))?;
    let seen = seen.parse().map_err(|_| Error::Malformed(format!("row {line:?}")))?;
    Ok((tsv::unescape(key), seen))
}
