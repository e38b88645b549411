//! Reads through a front end: ClickHouse's answer merged with the points
//! still in the outboxes, so that a front end reads its own writes before
//! they are shipped.
//!
//! Series come in first-put order (their first-seen time, then key):
//! ClickHouse's `series` table for the keys it knows, each outbox's own
//! times for keys only the outboxes hold. For one timestamp the highest
//! version wins, wherever it is; a point in both places (shipped, its
//! outbox not yet deleted) has one version and one value.

use super::outbox::Outbox;
use crate::reads::{KeysFrom, VersionedPoint};
use crate::{ClickHouse, Result};
use eardrum_storage::ScanCursor;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Keys read from ClickHouse per page of `get *`.
const KEYS_PER_PAGE: usize = 1000;
/// The fewest points asked of ClickHouse per call: each call is a round
/// trip and a query, whatever the caller's batch. A page of keys whose
/// points do not fit is queried again from where the call stopped, so
/// this is large enough for a page of keys of a few hundred points each
/// (about 10 MB of rows in flight).
const MIN_POINTS_PER_CALL: usize = 256 * 1024;

/// One read's view: ClickHouse, and the outboxes at the moment it began.
pub(super) struct Reader<'a> {
    pub(super) clickhouse: &'a ClickHouse,
    /// Oldest first.
    pub(super) outboxes: &'a [Outbox],
}

/// A key of a `get *` page, with its rank.
struct PageKey {
    key: String,
    first_seen: u64,
}

/// Where a front end's scan is, kept in the [`ScanCursor`]: the series (its
/// rank and key) and the last timestamp visited in it (`i64::MAX` once the
/// series is done).
#[derive(Debug)]
struct Place {
    first_seen: u64,
    key: String,
    after: i64,
}

/// Records that the scan visited `timestamp` in the series ranked
/// `first_seen` with `key`.
fn visited(cursor: &mut ScanCursor, first_seen: u64, key: &str, timestamp: i64) {
    match cursor.place_mut::<Place>() {
        Some(place) if place.first_seen == first_seen && place.key == key => place.after = timestamp,
        _ => cursor.set_place(Place { first_seen, key: key.to_owned(), after: timestamp }),
    }
}

/// The timestamp the scan resumes after: the place's, else where the
/// cursor was told to start.
fn resumes_after(cursor: &ScanCursor) -> Option<i64> {
    cursor.place::<Place>().map(|place| place.after).or(cursor.after())
}

impl Reader<'_> {
    /// The points of `key` from the cursor on.
    pub(super) fn one(
        &self,
        key: &str,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, f64),
    ) -> Result<()> {
        let after = resumes_after(cursor);
        if after == Some(i64::MAX) {
            cursor.finish();
            return Ok(());
        }
        let budget = limit.max(MIN_POINTS_PER_CALL);
        let rows = self.clickhouse.points_page(&[key], after.map(|after| (key, after)), budget)?;
        let horizon = if rows.len() == budget { rows.last().map(|row| row.timestamp) } else { None };
        for (timestamp, value) in self.merge(key, &rows, after, horizon)? {
            visit(key, timestamp, value);
            visited(cursor, 0, key, timestamp);
        }
        if horizon.is_none() {
            cursor.finish();
        }
        Ok(())
    }

    /// The points of every series from the cursor on: a page of keys, then
    /// up to a page of their points.
    pub(super) fn all(
        &self,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, f64),
    ) -> Result<()> {
        let after = resumes_after(cursor);
        let resume = cursor.place::<Place>().map(|place| (place.first_seen, place.key.clone()));
        // The series the cursor is in, when it has points left.
        let unfinished = resume.clone().filter(|_| after != Some(i64::MAX));
        let from = resume.as_ref().map(|(first_seen, key)| KeysFrom {
            first_seen: *first_seen,
            key,
            inclusive: unfinished.is_some(),
        });
        let (page, more_keys) = self.keys_page(from)?;
        if page.is_empty() {
            cursor.finish();
            return Ok(());
        }
        let names: Vec<&str> = page.iter().map(|k| k.key.as_str()).collect();
        let skip = unfinished.as_ref().zip(after).map(|((_, key), after)| (key.as_str(), after));
        let budget = limit.max(MIN_POINTS_PER_CALL);
        let rows = self.clickhouse.points_page(&names, skip, budget)?;
        // A full page of points ends within the last row's key: the keys
        // after it wait for the next call.
        let horizon =
            (rows.len() == budget).then(|| rows.last().map(|row| (row.key_index, row.timestamp))).flatten();
        let mut rest = rows.as_slice();
        for (index, page_key) in page.iter().enumerate() {
            let split = rest.iter().position(|row| row.key_index != index).unwrap_or(rest.len());
            let (own, others) = rest.split_at(split);
            rest = others;
            // The cursor's series resumes after its last point; it is the
            // first of the page unless it moved (shipped meanwhile, its
            // first-seen time became its outbox's version).
            let key_after =
                skip.filter(|(key, _)| index == 0 && *key == page_key.key).map(|(_, after)| after);
            let key_horizon = horizon.filter(|(at, _)| *at == index).map(|(_, timestamp)| timestamp);
            for (timestamp, value) in self.merge(&page_key.key, own, key_after, key_horizon)? {
                visit(&page_key.key, timestamp, value);
                visited(cursor, page_key.first_seen, &page_key.key, timestamp);
            }
            if key_horizon.is_some() {
                return Ok(());
            }
            visited(cursor, page_key.first_seen, &page_key.key, i64::MAX);
        }
        if !more_keys {
            cursor.finish();
        }
        Ok(())
    }

    /// Every key, in first-put order.
    pub(super) fn every_key(&self) -> Result<Vec<String>> {
        let mut keys = self.clickhouse.keys_page(None, usize::MAX)?;
        let known: HashSet<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
        let local_only: Vec<(String, u64)> =
            self.local_keys().into_iter().filter(|(key, _)| !known.contains(key.as_str())).collect();
        keys.extend(local_only);
        keys.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(keys.into_iter().map(|(key, _)| key).collect())
    }

    /// The next keys from `from` on, ClickHouse's and the outboxes' own,
    /// and whether more may follow.
    fn keys_page(&self, from: Option<KeysFrom<'_>>) -> Result<(Vec<PageKey>, bool)> {
        let remote = self.clickhouse.keys_page(from, KEYS_PER_PAGE)?;
        let more = remote.len() == KEYS_PER_PAGE;
        let last_remote = remote.last().map(|(key, first_seen)| (*first_seen, key.clone()));
        let in_page: HashSet<&str> = remote.iter().map(|(key, _)| key.as_str()).collect();
        let starts_after = |first_seen: u64, key: &str| match from {
            None => true,
            Some(from) if from.inclusive => (first_seen, key) >= (from.first_seen, from.key),
            Some(from) => (first_seen, key) > (from.first_seen, from.key),
        };
        // Local keys in this page's span that ClickHouse does not hold yet
        // (a key it holds comes in its own order, in this page or another).
        let mut local: Vec<(String, u64)> = self
            .local_keys()
            .into_iter()
            .filter(|(key, first_seen)| starts_after(*first_seen, key) && !in_page.contains(key.as_str()))
            .filter(|(key, first_seen)| {
                !more || last_remote.as_ref().is_none_or(|(seen, last)| (*first_seen, key) < (*seen, last))
            })
            .collect();
        if !local.is_empty() {
            let names: Vec<&str> = local.iter().map(|(key, _)| key.as_str()).collect();
            let known = self.clickhouse.first_seen(&names)?;
            local.retain(|(key, _)| !known.contains_key(key));
        }
        let mut page: Vec<PageKey> =
            remote.into_iter().chain(local).map(|(key, first_seen)| PageKey { key, first_seen }).collect();
        page.sort_unstable_by(|a, b| (a.first_seen, &a.key).cmp(&(b.first_seen, &b.key)));
        Ok((page, more))
    }

    /// The outboxes' keys with the earliest first-seen time each has.
    fn local_keys(&self) -> Vec<(String, u64)> {
        let mut earliest: HashMap<String, u64> = HashMap::new();
        for outbox in self.outboxes {
            for (key, first_seen) in outbox.keys() {
                earliest.entry(key).or_insert(first_seen);
            }
        }
        earliest.into_iter().collect()
    }

    /// `key`'s points from ClickHouse (`rows`, ascending) merged with the
    /// outboxes' after `after` and through `horizon`: for one timestamp
    /// the highest version's value.
    fn merge(
        &self,
        key: &str,
        rows: &[VersionedPoint],
        after: Option<i64>,
        horizon: Option<i64>,
    ) -> Result<Vec<(i64, f64)>> {
        let mut merged: BTreeMap<i64, (u64, f64)> =
            rows.iter().map(|row| (row.timestamp, (row.version, row.value))).collect();
        for outbox in self.outboxes {
            for (timestamp, value) in outbox.points_after(key, after)? {
                if horizon.is_some_and(|horizon| timestamp > horizon) {
                    break;
                }
                let slot = merged.entry(timestamp).or_insert((outbox.version, value));
                if outbox.version >= slot.0 {
                    *slot = (outbox.version, value);
                }
            }
        }
        Ok(merged.into_iter().map(|(timestamp, (_, value))| (timestamp, value)).collect())
    }
}
