//! `GET /api/v1/points`: the points of the series a pattern matches,
//! between two times, raw or consolidated into steps.

use super::failure::{ApiError, ApiResult};
use super::limits::Budget;
use super::{find_names, query_params, AppState};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use eardrum_graphite::pattern::Pattern;
use eardrum_graphite::time::{consolidate, parse_time, Aggregation};
use eardrum_protocol::clock::unix_seconds;
use eardrum_protocol::PyFloat;
use eardrum_storage::rollup::Aggregate;
use eardrum_storage::{Backend, Keys, ScanCursor};
use serde::Deserialize;
use std::fmt::Write;

/// The most buckets one series may have in a reply, so that a tiny step
/// over a long range cannot make the server build a huge answer.
const MAX_BUCKETS: i64 = 100_000;

/// The parameters, as given.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PointsParams {
    #[serde(rename = "match")]
    pattern: Option<String>,
    from: Option<String>,
    until: Option<String>,
    step: Option<String>,
    agg: Option<String>,
}

/// What a request asks for, checked.
struct Request {
    pattern: Pattern,
    from: i64,
    until: i64,
    step: Option<(i64, Aggregation)>,
}

/// `?match=PATTERN&from=-1h&until=now[&step=60&agg=avg]`. The points are
/// counted against the budget first (a count stops at the budget), so that
/// an answer too large is a 422 rather than a reply cut short; then they
/// are read again and streamed, a batch at a time.
pub(crate) async fn points(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Response> {
    let now = unix_seconds();
    let reads = state.reads.clone();
    let max_reply_bytes = state.limits.max_reply_bytes;
    reads
        .stream("application/json", max_reply_bytes, move |out| {
            let params: PointsParams = query_params(query.as_deref())?;
            let request = read_request(&params, now).map_err(ApiError::BadRequest)?;
            let (from, until) = (request.from, request.until);
            let mut budget = Budget::new(&state.limits);
            let found: Vec<String> = find_names(&state, &request.pattern)?
                .into_iter()
                .filter(|found| found.series.is_some())
                .map(|found| found.path)
                .collect();
            budget.spend_series(found.len())?;
            let store = &*state.store;
            // The same buckets for every series.
            let stepped = request.step.map(|(step, by)| (Buckets::new(store, from, until, step, by), by));
            let mut total = 0;
            for key in &found {
                match stepped.map(|(buckets, _)| buckets) {
                    // What is read is counted: rollups' slots, or points.
                    Some(buckets) => {
                        total += buckets.count;
                        match buckets.rolled {
                            Some(_) => {
                                let mut slots = 0;
                                buckets.read(store, key, &mut |_, _| slots += 1)?;
                                budget.spend_points(slots)?;
                            }
                            None => scan_range(store, key, buckets.start, buckets.end() - 1, &mut |batch| {
                                budget.spend_points(batch.len())
                            })?,
                        }
                    }
                    None => scan_range(store, key, from, until, &mut |batch| {
                        total += batch.len();
                        budget.spend_points(batch.len())
                    })?,
                }
            }
            // Every point takes a dozen bytes at the least.
            budget.check_reply(total * 12 + found.iter().map(|key| key.len() + 24).sum::<usize>())?;
            out.write("{\"series\":[")?;
            let mut text = String::new();
            for (index, key) in found.iter().enumerate() {
                let separator = if index == 0 { "" } else { "," };
                let quoted = serde_json::Value::String(key.clone());
                out.write(&format!("{separator}{{\"key\":{quoted},\"points\":["))?;
                let mut first = true;
                match stepped {
                    None => scan_range(store, key, from, until, &mut |batch| {
                        text.clear();
                        write_points(&mut text, &mut first, batch.iter().map(|&(t, v)| (t, Some(v))));
                        out.write(&text)
                    })?,
                    Some((buckets, by)) => {
                        let step = buckets.step;
                        text.clear();
                        match reducer(by) {
                            Some(reduce) => {
                                let mut aggregates: Vec<Option<Aggregate>> = vec![None; buckets.count];
                                buckets.read(
                                    store,
                                    key,
                                    &mut |at, aggregate| match aggregates.get_mut(at) {
                                        Some(Some(bucket)) => bucket.merge(aggregate),
                                        Some(empty) => *empty = Some(*aggregate),
                                        None => {}
                                    },
                                )?;
                                let values = aggregates.iter().enumerate().map(|(at, aggregate)| {
                                    (buckets.start + at as i64 * step, aggregate.as_ref().map(reduce))
                                });
                                write_points(&mut text, &mut first, values);
                            }
                            None => {
                                let mut points = Vec::new();
                                scan_range(store, key, buckets.start, buckets.end() - 1, &mut |batch| {
                                    points.extend_from_slice(batch);
                                    Ok(())
                                })?;
                                let values = consolidate(&points, from, until, step, by);
                                write_points(&mut text, &mut first, values.into_iter());
                            }
                        }
                        out.write(&text)?;
                    }
                }
                out.write("]}")?;
            }
            out.write("]}")
        })
        .await
}

/// The buckets of a request with a step: `step` seconds each, from the one
/// holding `from` through the one holding `until`, each made of every point
/// in it (so a bucket's value does not depend on where the range starts).
#[derive(Debug, Clone, Copy)]
struct Buckets {
    start: i64,
    step: i64,
    count: usize,
    /// The coarsest rollup step of the store that divides `step`, when the
    /// aggregation can be made from rollups.
    rolled: Option<i64>,
}

impl Buckets {
    fn new(store: &dyn Backend, from: i64, until: i64, step: i64, by: Aggregation) -> Buckets {
        let start = from.div_euclid(step) * step;
        let count = usize::try_from(until.div_euclid(step) - from.div_euclid(step) + 1).unwrap_or(0);
        let rolled = reducer(by)
            .and_then(|_| store.rollup_steps().iter().rev().copied().find(|&rolled| step % rolled == 0));
        Buckets { start, step, count, rolled }
    }

    fn end(&self) -> i64 {
        self.start + self.step * self.count as i64
    }

    /// Calls `visit(bucket, aggregate)` with each piece of each bucket, in
    /// time order: the rollups' slots inside it, or its points one by one
    /// when no rollup step divides the step. A step is always read the same
    /// way, and the store gives the same rollups from memory as from disk,
    /// so a bucket's value does not change when its points move.
    fn read(
        &self,
        store: &dyn Backend,
        key: &str,
        visit: &mut dyn FnMut(usize, &Aggregate),
    ) -> ApiResult<()> {
        let bucket = |time: i64| ((time - self.start) / self.step) as usize;
        match self.rolled {
            Some(rolled) => store.rollups(key, rolled, self.start, self.end(), &mut |slot, aggregate| {
                visit(bucket(slot), aggregate)
            })?,
            None => scan_range(store, key, self.start, self.end() - 1, &mut |batch| {
                for &(timestamp, value) in batch.iter().filter(|(_, value)| !value.is_nan()) {
                    visit(bucket(timestamp), &Aggregate::of(value));
                }
                Ok(())
            })?,
        }
        Ok(())
    }
}

/// How an aggregation is made from a bucket's [`Aggregate`], for those
/// that can be.
fn reducer(by: Aggregation) -> Option<fn(&Aggregate) -> f64> {
    Some(match by {
        Aggregation::Avg => Aggregate::mean,
        Aggregation::Min => |aggregate| aggregate.min,
        Aggregation::Max => |aggregate| aggregate.max,
        Aggregation::Sum => |aggregate| aggregate.sum,
        Aggregation::Count => |aggregate| aggregate.count as f64,
        Aggregation::First => |aggregate| aggregate.first,
        Aggregation::Last => |aggregate| aggregate.last,
        Aggregation::Range => |aggregate| aggregate.max - aggregate.min,
        Aggregation::Median | Aggregation::Diff | Aggregation::Stddev | Aggregation::Multiply => return None,
    })
}

/// `[t,v]` pairs, comma-separated as serde_json writes them compactly (a
/// comma first unless `first`); a missing value is `null`.
fn write_points(json: &mut String, first: &mut bool, points: impl Iterator<Item = (i64, Option<f64>)>) {
    for (timestamp, value) in points {
        let separator = if std::mem::take(first) { "" } else { "," };
        let _ = match value {
            None => write!(json, "{separator}[{timestamp},null]"),
            Some(value) => write!(json, "{separator}[{timestamp},{}]", Number(value)),
        };
    }
}

/// What [`scan_range`] hands each batch of points to.
type BatchVisitor<'a> = dyn FnMut(&[(i64, f64)]) -> ApiResult<()> + 'a;

/// Points read per hold of the store's lock.
const SCAN_BATCH: usize = 4096;

/// The points of `key` from `from` through `until`, handed to `visit` a
/// batch at a time: the scan starts at `from` (older chunks are skipped
/// undecoded) and stops in the batch that passes `until`.
fn scan_range(
    store: &dyn Backend,
    key: &str,
    from: i64,
    until: i64,
    visit: &mut BatchVisitor<'_>,
) -> ApiResult<()> {
    let mut batch = Vec::with_capacity(SCAN_BATCH);
    let mut cursor = ScanCursor::starting_at(from);
    let mut past_until = false;
    while !cursor.is_done() && !past_until {
        batch.clear();
        store.scan_some(
            Keys::One(key),
            &mut cursor,
            SCAN_BATCH,
            &mut |_, timestamp, value| match timestamp <= until {
                true => batch.push((timestamp, value)),
                false => past_until = true,
            },
        )?;
        visit(&batch)?;
    }
    Ok(())
}

fn read_request(params: &PointsParams, now: i64) -> Result<Request, String> {
    let pattern = params.pattern.as_deref().ok_or("missing required parameter 'match'")?;
    let pattern = Pattern::parse(pattern).map_err(|e| e.to_string())?;
    let time = |given: &Option<String>, default: &str| parse_time(given.as_deref().unwrap_or(default), now);
    let (from, until) = (time(&params.from, "-1d")?, time(&params.until, "now")?);
    if from > until {
        return Err(format!("from ({from}) is after until ({until})"));
    }
    let step = match &params.step {
        None => None,
        Some(step) => {
            let step: i64 = step
                .parse()
                .ok()
                .filter(|&s| s > 0)
                .ok_or(format!("invalid step {step:?}: whole seconds, at least 1"))?;
            if (until - from) / step > MAX_BUCKETS {
                return Err(format!(
                    "step {step} gives more than {MAX_BUCKETS} buckets between from and until"
                ));
            }
            let by = Aggregation::parse(params.agg.as_deref().unwrap_or("avg"))?;
            Some((step, by))
        }
    };
    if step.is_none() && params.agg.is_some() {
        return Err("agg needs a step".to_owned());
    }
    Ok(Request { pattern, from, until, step })
}

/// A value as JSON: a number, or for NaN and the infinities (which JSON
/// lacks) the strings Python prints for them, as `eardrum get --json` does.
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::Number::from_f64(self.0) {
            Some(number) => write!(f, "{number}"),
            None => write!(f, "\"{}\"", PyFloat(self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> PointsParams {
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        serde_urlencoded::from_str(&query).unwrap()
    }

    #[test]
    fn requests_are_checked_with_messages_that_say_what_is_wrong() {
        let now = 1_700_000_000;
        let ok =
            read_request(&params(&[("match", "a.*"), ("from", "-1h"), ("step", "60"), ("agg", "max")]), now)
                .unwrap();
        assert_eq!((ok.from, ok.until, ok.step), (now - 3_600, now, Some((60, Aggregation::Max))));
        for (bad, message) in [
            (params(&[]), "missing required parameter 'match'"),
            (params(&[("match", "a..b")]), "invalid pattern"),
            (params(&[("match", "a"), ("from", "soon")]), "invalid time"),
            (params(&[("match", "a"), ("from", "now"), ("until", "-1h")]), "is after until"),
            (params(&[("match", "a"), ("step", "0")]), "invalid step"),
            (params(&[("match", "a"), ("from", "-10y"), ("step", "1")]), "more than 100000 buckets"),
            (params(&[("match", "a"), ("step", "60"), ("agg", "mode")]), "unknown aggregation"),
            (params(&[("match", "a"), ("agg", "max")]), "agg needs a step"),
        ] {
            let error = read_request(&bad, now).err().unwrap_or_default();
            assert!(error.contains(message), "{bad:?}: {error}");
        }
    }
}
