//! How a series' rollups of one window are stored: each level's slots as
//! six columns, each column packed as the store's chunks pack values.
//!
//! ```text
//! rollups  = 1 level*                                     (format 1; finest step first)
//!          | 2 (kind:u8 level)*                           (format 2: with archives)
//! level    = step:varint length:varint body               (length: the body's bytes)
//! body     = slots                                        (kind 0, and format 1: aggregates)
//!          | fingerprint:u32le slots                      (kind 1: a storage schema's archive)
//! slots    = count:varint present? columns                (present: when some slots are empty)
//! present  = bitmap, one bit per slot of the window, lowest first
//! columns  = bits of column{6}                            (count sum min max first last)
//!          | bits of column                               (an archive's values)
//! column   = 1 decimals:u3 first:bucketed (delta:bucketed){slots - 1}
//!          | 0 xor{slots}
//! ```
//!
//! Format 1 is written when a series has no archives, so a store without
//! storage schemas writes the bytes it always did. An archive level's
//! fingerprint names the layout that made it (see `archives`): a level
//! made by another layout is not read as this one's.
//!
//! A column whose values all have a few decimals (counts always do, and so
//! do the sums, extremes and ends of most metrics) is stored as integers
//! scaled by a power of ten, each as its difference from the one before; any
//! other column as Gorilla's XOR of doubles. The slots' times are implied
//! by the bitmap, and by nothing at all when every slot of the window has
//! points. So a series reporting every 10 s costs a few bytes a slot
//! instead of six doubles.

use super::Aggregate;
use crate::codec::bits::{BitReader, BitWriter};
use crate::codec::ints::{read_bucketed, write_bucketed};
use crate::codec::values::{scale, unscale, write_deltas_bucketed, XorDecoder, XorEncoder, MAX_DECIMALS};
use crate::error::Corruption;
use crate::series::WINDOW_SECONDS;
use crate::varint;

const FORMAT: u8 = 1;
const FORMAT_WITH_ARCHIVES: u8 = 2;

/// What a level of a series' rollups holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelKind {
    /// Six columns of [`Aggregate`]s.
    Aggregates,
    /// The values of one archive of a storage schema's layout.
    Archive,
}

/// The levels of a series' rollups of one window, gathered to be written
/// together.
#[derive(Debug, Default)]
pub(crate) struct Levels {
    frames: Vec<(LevelKind, i64, Vec<u8>)>,
}

impl Levels {
    /// Adds a level's body.
    pub(crate) fn push(&mut self, kind: LevelKind, step: i64, body: Vec<u8>) {
        self.frames.push((kind, step, body));
    }

    /// Appends the encoding of the levels to `out`: nothing for none, the
    /// first format when every level is of aggregates.
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        if self.frames.is_empty() {
            return;
        }
        let tagged = self.frames.iter().any(|(kind, _, _)| *kind == LevelKind::Archive);
        out.push(if tagged { FORMAT_WITH_ARCHIVES } else { FORMAT });
        for (kind, step, body) in &self.frames {
            if tagged {
                out.push(match kind {
                    LevelKind::Aggregates => 0,
                    LevelKind::Archive => 1,
                });
            }
            varint::write_u64(out, *step as u64);
            varint::write_u64(out, body.len() as u64);
            out.extend_from_slice(body);
        }
    }
}

/// The finest step written beside a window's points: finer levels are
/// rolled up from the points when read, and written only once retention
/// takes the points. Five-minute rollups beside every point would add a
/// third to the disk a point takes; an hour's, a thirtieth of that.
pub(crate) const FINEST_STEP_BESIDE_POINTS: i64 = 3600;

/// Rolls a window's points (time order) up through every step and adds
/// the levels from `steps[written_from]` on to `levels`; nothing when there
/// are none, or the points are all NaN.
pub(crate) fn encode(
    steps: &[i64],
    written_from: usize,
    points: impl Iterator<Item = (i64, f64)>,
    levels: &mut Levels,
) {
    let mut rolled: Vec<Vec<(i64, Aggregate)>> = vec![Vec::new(); steps.len()];
    // The finest level from the points, each coarser one from the one
    // before: the grouping a Roller through the steps makes.
    if !steps.is_empty() {
        let mut roller = super::Roller::new(&steps[..1]);
        let mut emit = |start, aggregate: &Aggregate| rolled[0].push((start, *aggregate));
        for (timestamp, value) in points {
            roller.push(timestamp, value, &mut emit);
        }
        roller.flush(&mut emit);
    }
    for level in 1..steps.len() {
        let mut roller = super::Roller::new(&steps[level..=level]);
        let (finer, coarser) = rolled.split_at_mut(level);
        let mut emit = |start, aggregate: &Aggregate| coarser[0].push((start, *aggregate));
        for (start, aggregate) in &finer[level - 1] {
            roller.add(0, *start, *aggregate, &mut emit);
        }
        roller.flush(&mut emit);
    }
    if rolled.first().is_none_or(Vec::is_empty) {
        return;
    }
    for (&step, slots) in steps.iter().zip(&rolled).skip(written_from) {
        let mut body = Vec::new();
        let starts: Vec<i64> = slots.iter().map(|(start, _)| *start).collect();
        let columns: Vec<Vec<f64>> =
            (0..6).map(|at| slots.iter().map(|(_, aggregate)| aggregate.columns()[at]).collect()).collect();
        encode_slots(step, &starts, &columns, &mut body);
        levels.push(LevelKind::Aggregates, step, body);
    }
}

/// Encodes slots of one window at `step` (their starts, ascending, and
/// their values column by column) as the module's `slots`.
pub(super) fn encode_slots(step: i64, starts: &[i64], columns: &[Vec<f64>], out: &mut Vec<u8>) {
    varint::write_u64(out, starts.len() as u64);
    let per_window = (WINDOW_SECONDS / step) as usize;
    if starts.len() < per_window {
        let mut present = vec![0u8; per_window.div_ceil(8)];
        for start in starts {
            let at = (start.rem_euclid(WINDOW_SECONDS) / step) as usize;
            present[at / 8] |= 1 << (at % 8);
        }
        out.extend_from_slice(&present);
    }
    let mut bits = BitWriter::default();
    for column in columns {
        match scale(column) {
            Some(scaled) => {
                bits.write_bit(true);
                bits.write_bits(u64::from(scaled.decimals), 3);
                write_bucketed(&mut bits, scaled.integers[0]);
                write_deltas_bucketed(&mut bits, &scaled.integers);
            }
            None => {
                bits.write_bit(false);
                let mut xor = XorEncoder::default();
                for &value in column {
                    xor.push(&mut bits, value);
                }
            }
        }
    }
    bits.write_to(out);
}

/// The slots at `step` in `rollups` (as [`encode`] wrote them for
/// `window`), or `None` when they were not rolled up at that step.
///
/// # Errors
///
/// [`Corruption`] when the encoding is damaged: levels or columns that do
/// not decode, slots the window cannot have, counts that are not counts.
pub(crate) fn decode(
    rollups: &[u8],
    window: i64,
    step: i64,
) -> Result<Option<Vec<(i64, Aggregate)>>, Corruption> {
    for level in levels(rollups) {
        let (kind, level_step, body) = level?;
        if kind == LevelKind::Aggregates && level_step == step {
            return decode_level(body, window, step).map(Some);
        }
    }
    Ok(None)
}

/// The body of the archive level at `step` in `rollups`, if there is one.
///
/// # Errors
///
/// [`Corruption`] when the levels' framing is damaged.
pub(super) fn archive_body(rollups: &[u8], step: i64) -> Result<Option<&[u8]>, Corruption> {
    for level in levels(rollups) {
        let (kind, level_step, body) = level?;
        if kind == LevelKind::Archive && level_step == step {
            return Ok(Some(body));
        }
    }
    Ok(None)
}

/// Each level's kind, step and body, checked as far as their framing.
fn levels(rollups: &[u8]) -> impl Iterator<Item = Result<(LevelKind, i64, &[u8]), Corruption>> {
    let bad = |what| Corruption::BadEntry { what };
    let (mut input, tagged) = match rollups.split_first() {
        Some((&FORMAT, rest)) => (Ok(rest), false),
        Some((&FORMAT_WITH_ARCHIVES, rest)) => (Ok(rest), true),
        Some(_) => (Err(bad("rollup format")), false),
        None => (Ok(&[][..]), false),
    };
    std::iter::from_fn(move || {
        let rest = match &mut input {
            Ok([]) => return None,
            Ok(rest) => rest,
            Err(error) => {
                let error = error.clone();
                input = Ok(&[]);
                return Some(Err(error));
            }
        };
        let kind = match tagged {
            false => Some(LevelKind::Aggregates),
            true => match rest.split_first() {
                Some((&0, after)) => {
                    *rest = after;
                    Some(LevelKind::Aggregates)
                }
                Some((&1, after)) => {
                    *rest = after;
                    Some(LevelKind::Archive)
                }
                _ => None,
            },
        };
        let step = varint::read_u64(rest).and_then(|step| i64::try_from(step).ok());
        let length = varint::read_u64(rest).and_then(|length| usize::try_from(length).ok());
        let framed = kind
            .zip(step)
            .zip(length)
            .and_then(|((kind, step), length)| Some((kind, step, rest.get(..length)?)));
        match framed {
            Some((kind, step, body)) => {
                *rest = &rest[body.len()..];
                Some(Ok((kind, step, body)))
            }
            None => {
                input = Ok(&[]);
                Some(Err(bad("rollup level runs past its frame")))
            }
        }
    })
}

fn decode_level(body: &[u8], window: i64, step: i64) -> Result<Vec<(i64, Aggregate)>, Corruption> {
    let bad = |what| Corruption::BadEntry { what };
    let (starts, columns) = decode_slots(body, window, step, 6)?;
    let mut out: Vec<(i64, Aggregate)> = Vec::with_capacity(starts.len());
    for (at, start) in starts.into_iter().enumerate() {
        let column = |index: usize| columns[index][at];
        let count = column(0);
        let whole = count >= 1.0 && count.fract() == 0.0 && count < 2f64.powi(53);
        if !whole {
            return Err(bad("rollup count"));
        }
        let aggregate = Aggregate {
            count: count as u64,
            sum: column(1),
            min: column(2),
            max: column(3),
            first: column(4),
            last: column(5),
        };
        out.push((start, aggregate));
    }
    Ok(out)
}

/// Decodes the module's `slots` of window `window` at `step` with
/// `columns` columns: the slots' starts and each column's values.
pub(super) fn decode_slots(
    mut body: &[u8],
    window: i64,
    step: i64,
    columns: usize,
) -> Result<(Vec<i64>, Vec<Vec<f64>>), Corruption> {
    let bad = |what| Corruption::BadEntry { what };
    if step < 1 || WINDOW_SECONDS % step != 0 {
        return Err(bad("rollup step"));
    }
    let per_window = (WINDOW_SECONDS / step) as usize;
    let slots = varint::read_u64(&mut body).and_then(|slots| usize::try_from(slots).ok());
    let slots = slots.filter(|&slots| (1..=per_window).contains(&slots)).ok_or(bad("rollup slot count"))?;
    let window_start = window.saturating_mul(WINDOW_SECONDS);
    let starts: Vec<i64> = if slots == per_window {
        (0..per_window as i64).map(|at| window_start + at * step).collect()
    } else {
        let present = body.get(..per_window.div_ceil(8)).ok_or(bad("truncated rollup slots"))?;
        body = &body[present.len()..];
        (0..per_window)
            .filter(|at| present[at / 8] & (1 << (at % 8)) != 0)
            .map(|at| window_start + at as i64 * step)
            .collect()
    };
    if starts.len() != slots {
        return Err(bad("rollup slots disagree with their count"));
    }
    let mut bits = BitReader::new(body);
    let mut decoded = Vec::with_capacity(columns);
    for _ in 0..columns {
        let truncated = || bad("truncated rollup column");
        let decimal = bits.read_bit().ok_or_else(truncated)?;
        let mut column = Vec::with_capacity(slots);
        if decimal {
            let decimals = bits.read_bits(3).ok_or_else(truncated)? as u8;
            if decimals > MAX_DECIMALS {
                return Err(bad("rollup column decimals"));
            }
            let mut integer = read_bucketed(&mut bits).ok_or_else(truncated)?;
            for index in 0..slots {
                if index > 0 {
                    integer = integer.wrapping_add(read_bucketed(&mut bits).ok_or_else(truncated)?);
                }
                column.push(unscale(integer, decimals).ok_or(bad("rollup value out of range"))?);
            }
        } else {
            let mut xor = XorDecoder::default();
            for _ in 0..slots {
                column.push(xor.next(&mut bits).ok_or_else(truncated)?);
            }
        }
        decoded.push(column);
    }
    Ok((starts, decoded))
}

/// `rollups` (as [`encode`] wrote them) with only the levels `keep`
/// accepts (by kind and step): what a window keeps once retention removes
/// its finer levels.
///
/// # Errors
///
/// [`Corruption`] when the levels' framing is damaged.
pub(crate) fn retain_levels(
    rollups: &[u8],
    keep: impl Fn(LevelKind, i64) -> bool,
) -> Result<Vec<u8>, Corruption> {
    let mut kept = Levels::default();
    for level in levels(rollups) {
        let (kind, step, body) = level?;
        if keep(kind, step) {
            kept.push(kind, step, body.to_vec());
        }
    }
    let mut out = Vec::new();
    kept.write(&mut out);
    Ok(out)
}
