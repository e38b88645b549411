//! The points of one series: sealed compressed chunks, an open head, and an
//! overlay for out-of-order puts.
//!
//! Points that arrive in time order (nearly all of them) go to the head,
//! which compresses as it goes and is sealed into an immutable chunk after
//! [`CHUNK_MAX_POINTS`] points or when time crosses into the next window.
//! A put older than the newest point goes to the overlay, which reads merge
//! over the chunks (the overlay's value wins on equal timestamps) and which
//! is folded into the chunks once it grows, at checkpoints, and at sealing.
//!
//! Invariants: chunks are sorted, do not overlap, and each lies within one
//! [window](window_of); the head is newer than every chunk and lies within
//! one window; timestamps are unique within chunks and head together.

use crate::codec::chunk::{self, Decoder, Head, Summary, CHUNK_MAX_POINTS};
use crate::value::Value;
use std::collections::BTreeMap;

/// Seconds of metric time per window: the unit of block files and of
/// retention. Two hours, as Prometheus' blocks.
pub(crate) const WINDOW_SECONDS: i64 = 2 * 3600;

/// Out-of-order points waiting in the overlay before they are folded in.
const OVERLAY_FOLD_POINTS: usize = 64;

/// The window a timestamp falls in.
pub(crate) fn window_of(timestamp: i64) -> i64 {
    timestamp.div_euclid(WINDOW_SECONDS)
}

/// What a series holds for one window, for a checkpoint to write.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// A sealed chunk, already encoded.
    Chunk(Box<[u8]>),
    /// The open head, to be encoded outside the store's lock.
    Head(Head),
    /// Points put into a window on disk since its file was written, in
    /// time order, to merge into a new file.
    Points(Vec<(i64, f64)>),
}

/// Where a put's timestamp stands against memory and disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// Windows before this second are read from disk.
    pub(crate) disk_before: i64,
    /// Chunks before this second are kept as they are (a checkpoint has
    /// copied them and will drop them from memory): puts before it go to
    /// the overlay. Never before `disk_before`.
    pub(crate) chunks_from: i64,
}

impl Bounds {
    /// Everything in memory, taking puts.
    #[cfg(test)]
    pub(crate) const IN_MEMORY: Bounds = Bounds { disk_before: i64::MIN, chunks_from: i64::MIN };
}

/// One series' points.
#[derive(Debug, Default, Clone)]
pub(crate) struct Series {
    chunks: Vec<Box<[u8]>>,
    head: Option<Head>,
    overlay: BTreeMap<i64, f64>,
}

fn chunk_summary(chunk: &[u8]) -> Summary {
    // Chunks in memory were encoded by this process or checked on load.
    chunk::summary(chunk).unwrap_or(Summary { count: 0, first_ts: i64::MAX, last_ts: i64::MIN })
}

impl Series {
    /// Stores `value` at `timestamp`, replacing any value already there.
    /// Returns whether the timestamp is new to the series (for a window on
    /// disk, whether it is new to memory).
    pub(crate) fn insert(&mut self, timestamp: i64, value: f64, bounds: Bounds) -> bool {
        if timestamp < bounds.chunks_from {
            // A window on disk, or one whose chunks a checkpoint has copied
            // and is about to drop from memory: the point waits in the
            // overlay until a checkpoint merges it into the window's file.
            let new = !self.overlay.contains_key(&timestamp)
                && (timestamp < bounds.disk_before || !self.sealed_or_head_contains(timestamp));
            self.overlay.insert(timestamp, value);
            return new;
        }
        match &mut self.head {
            Some(head) if timestamp > head.last_ts() => {
                if head.len() >= CHUNK_MAX_POINTS || window_of(timestamp) != window_of(head.first_ts()) {
                    self.seal_head(bounds);
                    self.head = Some(Head::new(timestamp, value));
                } else {
                    head.push(timestamp, value);
                }
                true
            }
            None if self.chunks.last().is_none_or(|c| timestamp > chunk_summary(c).last_ts) => {
                self.head = Some(Head::new(timestamp, value));
                true
            }
            _ => {
                let new = !self.overlay.contains_key(&timestamp) && !self.sealed_or_head_contains(timestamp);
                self.overlay.insert(timestamp, value);
                // Only what memory may fold counts (the overlay's length
                // first: it bounds that, and costs nothing).
                if self.overlay.len() >= OVERLAY_FOLD_POINTS
                    && self.overlay.range(bounds.chunks_from..).nth(OVERLAY_FOLD_POINTS - 1).is_some()
                {
                    self.fold(bounds.chunks_from);
                }
                new
            }
        }
    }

    /// Whether a chunk or the head holds `timestamp`: only the one chunk
    /// whose range covers it is decoded.
    fn sealed_or_head_contains(&self, timestamp: i64) -> bool {
        if let Some(head) = self.head.as_ref().filter(|h| (h.first_ts()..=h.last_ts()).contains(&timestamp)) {
            return head.decoder().holds_timestamp(timestamp);
        }
        let after = self.chunks.partition_point(|c| chunk_summary(c).first_ts <= timestamp);
        let Some(chunk) = after.checked_sub(1).and_then(|index| self.chunks.get(index)) else {
            return false;
        };
        chunk_summary(chunk).last_ts >= timestamp
            && Decoder::new(chunk).is_ok_and(|decoder| decoder.holds_timestamp(timestamp))
    }

    /// Adds a chunk read from a block file. Chunks arrive in time order.
    pub(crate) fn load_chunk(&mut self, chunk: Box<[u8]>) {
        self.push_chunk(chunk);
    }

    /// Appends a chunk, growing the list by exactly one: with ~8 chunks per
    /// series per day, doubling would leave a third of the list empty on
    /// average, which at 16 bytes a slot costs more than the reallocation.
    fn push_chunk(&mut self, chunk: Box<[u8]>) {
        self.chunks.reserve_exact(1);
        self.chunks.push(chunk);
    }

    /// Seals the head into a chunk, with any overlay points of its window
    /// (unless the window's chunks are about to leave memory: its overlay
    /// points are then newer than what the checkpoint copied).
    fn seal_head(&mut self, bounds: Bounds) {
        let Some(head) = self.head.take() else { return };
        let window = window_of(head.first_ts());
        if head.first_ts() >= bounds.chunks_from && self.overlay_touches(window) {
            self.head = Some(head);
            self.fold_window(window);
        } else {
            let mut bytes = Vec::new();
            head.seal(&mut bytes);
            self.push_chunk(bytes.into_boxed_slice());
        }
    }

    fn overlay_touches(&self, window: i64) -> bool {
        let start = window.saturating_mul(WINDOW_SECONDS);
        let end = start.saturating_add(WINDOW_SECONDS);
        self.overlay.range(start..end).next().is_some()
    }

    /// Folds every overlay point from `resident_start` on into the chunks
    /// (those before it wait for a checkpoint to merge them on disk).
    pub(crate) fn fold(&mut self, resident_start: i64) {
        let mut windows: Vec<i64> =
            self.overlay.range(resident_start..).map(|(&t, _)| window_of(t)).collect();
        windows.dedup();
        for window in windows {
            self.fold_window(window);
        }
    }

    /// Rewrites the chunks of `window` (and the head, if it lies there) with
    /// the overlay's points of that window merged in, newest value winning.
    fn fold_window(&mut self, window: i64) {
        let start = window.saturating_mul(WINDOW_SECONDS);
        let end = start.saturating_add(WINDOW_SECONDS);
        let mut merged: BTreeMap<i64, f64> = BTreeMap::new();
        let first_inside = self.chunks.partition_point(|c| window_of(chunk_summary(c).first_ts) < window);
        let past_inside = self.chunks.partition_point(|c| window_of(chunk_summary(c).first_ts) <= window);
        for chunk in self.chunks.drain(first_inside..past_inside) {
            merged.extend(Decoder::new(&chunk).into_iter().flatten().filter_map(Result::ok));
        }
        if self.head.as_ref().is_some_and(|h| window_of(h.first_ts()) == window) {
            if let Some(head) = self.head.take() {
                merged.extend(head.points());
            }
        }
        let overlay_points: Vec<i64> = self.overlay.range(start..end).map(|(&t, _)| t).collect();
        for timestamp in overlay_points {
            if let Some(value) = self.overlay.remove(&timestamp) {
                merged.insert(timestamp, value);
            }
        }
        let points: Vec<(i64, f64)> = merged.into_iter().collect();
        let mut rewritten = Vec::new();
        chunk::encode_pieces(&points, |piece| rewritten.push(Box::<[u8]>::from(piece)));
        self.chunks.splice(first_inside..first_inside, rewritten);
        self.chunks.shrink_to_fit();
        // A window newer than every chunk that took the head may leave
        // newer chunks behind it only if they existed already; the chunk
        // order is by window, so the invariants hold.
    }

    /// Calls `visit` for every point, oldest first, the overlay merged in.
    #[cfg(test)]
    pub(crate) fn for_each(&self, mut visit: impl FnMut(i64, f64)) {
        self.scan(None, usize::MAX, |timestamp, value| visit(timestamp, value.as_f64()));
    }

    /// Calls `visit` for the points after timestamp `after` (all of them
    /// for `None`), oldest first, at most `limit` of them. Returns how many
    /// it visited; fewer than `limit` means the series is done.
    pub(crate) fn scan(&self, after: Option<i64>, limit: usize, visit: impl FnMut(i64, Value)) -> usize {
        let is_after = |t: i64| after.is_none_or(|a| t > a);
        // Chunks that end before the resume point need no decoding.
        let first = after.map_or(0, |a| self.chunks.partition_point(|c| chunk_summary(c).last_ts <= a));
        let sealed = self.chunks[first..].iter().flat_map(|chunk| match Decoder::new(chunk) {
            Ok(decoder) => Some(decoded_values(decoder)),
            Err(error) => {
                tracing::error!(%error, "skipping an undecodable chunk in memory");
                None
            }
        });
        let head = self.head.iter().flat_map(|h| decoded_values(h.decoder()));
        let mut base = sealed.flatten().chain(head).filter(|&(t, _)| is_after(t)).peekable();
        let overlay = match after {
            Some(a) => self.overlay.range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            None => self.overlay.range(..),
        };
        merge_newest_wins(&mut base, &mut overlay.map(|(&t, &v)| (t, Value::new(v))).peekable(), limit, visit)
    }

    /// The series' parts in `window`, for a checkpoint. The overlay must
    /// have been folded first.
    pub(crate) fn parts_in(&self, window: i64) -> Vec<Part> {
        let first = self.chunks.partition_point(|c| window_of(chunk_summary(c).first_ts) < window);
        let mut parts: Vec<Part> = self.chunks[first..]
            .iter()
            .take_while(|c| window_of(chunk_summary(c).first_ts) == window)
            .map(|c| Part::Chunk(c.clone()))
            .collect();
        if let Some(head) = self.head.as_ref().filter(|h| window_of(h.first_ts()) == window) {
            parts.push(Part::Head(head.clone()));
        }
        parts
    }

    /// Whether the overlay holds points from `resident_start` on, not yet
    /// folded in.
    pub(crate) fn has_overlay(&self, resident_start: i64) -> bool {
        self.overlay.range(resident_start..).next().is_some()
    }

    /// The overlay's points after `after` and before `until`, for a read of
    /// the windows on disk.
    pub(crate) fn overlay_between(&self, after: Option<i64>, until: i64) -> Vec<(i64, f64)> {
        let from = after.map_or(Some(i64::MIN), |a| a.checked_add(1));
        match from {
            Some(from) if from < until => self.overlay.range(from..until).map(|(&t, &v)| (t, v)).collect(),
            _ => Vec::new(),
        }
    }

    /// Forgets overlay points a checkpoint has merged into a block file,
    /// unless they were put again since with another value.
    pub(crate) fn forget_written(&mut self, points: &[(i64, f64)]) {
        for &(timestamp, value) in points {
            if self.overlay.get(&timestamp).is_some_and(|held| held.to_bits() == value.to_bits()) {
                self.overlay.remove(&timestamp);
            }
        }
    }

    /// Drops the chunks and head of windows before `window`, which a
    /// checkpoint has written: they are read from disk from now on. The
    /// overlay stays.
    pub(crate) fn evict_before(&mut self, window: i64) {
        let keep_from = self.chunks.partition_point(|c| window_of(chunk_summary(c).first_ts) < window);
        if keep_from > 0 {
            self.chunks.drain(..keep_from);
            self.chunks.shrink_to_fit();
        }
        if self.head.as_ref().is_some_and(|h| window_of(h.first_ts()) < window) {
            self.head = None;
        }
    }

    /// Drops every point in windows before `window`; returns how many
    /// points it dropped (those of the overlay each counted, as they were
    /// when put).
    pub(crate) fn drop_before(&mut self, window: i64) -> u64 {
        let mut dropped = 0;
        self.chunks.retain(|c| {
            let summary = chunk_summary(c);
            let kept = window_of(summary.first_ts) >= window;
            if !kept {
                dropped += u64::from(summary.count);
            }
            kept
        });
        if self.head.as_ref().is_some_and(|h| window_of(h.first_ts()) < window) {
            dropped += self.head.take().map_or(0, |head| head.len() as u64);
        }
        let cutoff = window.saturating_mul(WINDOW_SECONDS);
        let kept = self.overlay.split_off(&cutoff);
        dropped += std::mem::replace(&mut self.overlay, kept).len() as u64;
        dropped
    }

    /// Points in chunks, for counting what a block file loaded.
    pub(crate) fn sealed_len(&self) -> u64 {
        self.chunks.iter().map(|c| u64::from(chunk_summary(c).count)).sum()
    }

    /// Memory held by the points, approximately: chunk bytes, head streams
    /// and overlay nodes.
    pub(crate) fn heap_bytes(&self) -> usize {
        let chunks: usize = self.chunks.iter().map(|c| c.len() + 16).sum();
        chunks + self.head.as_ref().map_or(0, Head::heap_bytes) + self.overlay.len() * 40
    }
}

/// Visits the points of `base` and `overlay`, each in time order, merged
/// in time order, an overlay point replacing a base point at the same
/// timestamp (the overlay holds what was put later), at most `limit` of
/// them; returns how many it visited.
pub(crate) fn merge_newest_wins<B, O, V>(
    base: &mut std::iter::Peekable<B>,
    overlay: &mut std::iter::Peekable<O>,
    limit: usize,
    mut visit: impl FnMut(i64, V),
) -> usize
where
    B: Iterator<Item = (i64, V)>,
    O: Iterator<Item = (i64, V)>,
    V: Copy,
{
    let mut visited = 0;
    while visited < limit {
        let point = match (base.peek().copied(), overlay.peek().copied()) {
            (Some(b), Some(o)) if o.0 <= b.0 => {
                if o.0 == b.0 {
                    base.next();
                }
                overlay.next();
                o
            }
            (Some(b), _) => {
                base.next();
                b
            }
            (None, Some(o)) => {
                overlay.next();
                o
            }
            (None, None) => break,
        };
        visit(point.0, point.1);
        visited += 1;
    }
    visited
}

/// A decoder's points with their stored decimals, those it cannot decode
/// left out.
fn decoded_values(mut decoder: Decoder<'_>) -> impl Iterator<Item = (i64, Value)> + '_ {
    std::iter::from_fn(move || decoder.next_value()).filter_map(Result::ok)
}

#[cfg(test)]
mod tests;
