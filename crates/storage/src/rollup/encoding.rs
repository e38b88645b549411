//! How a series' rollups of one window are stored: each level's slots as
//! six columns, each column packed as the store's chunks pack values.
//!
//! ```text
//! rollups  = 1 level*                                     (format 1; finest step first)
//! level    = step:varint length:varint body               (length: the body's bytes)
//! body     = slots:varint present? columns                (present: when some slots are empty)
//! present  = bitmap, one bit per slot of the window, lowest first
//! columns  = bits of column{6}                            (count sum min max first last)
//! column   = 1 decimals:u3 first:bucketed (delta:bucketed){slots - 1}
//!          | 0 xor{slots}
//! ```
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

/// The finest step written beside a window's points: finer levels are
/// rolled up from the points when read, and written only once retention
/// takes the points. Five-minute rollups beside every point would add a
/// third to the disk a point takes; an hour's, a thirtieth of that.
pub(crate) const FINEST_STEP_BESIDE_POINTS: i64 = 3600;

/// Rolls a window's points (time order) up through every step and appends
/// the encoding of the levels from `steps[written_from]` on to `out`;
/// nothing when there are none, or the points are all NaN.
pub(crate) fn encode(
    steps: &[i64],
    written_from: usize,
    points: impl Iterator<Item = (i64, f64)>,
    out: &mut Vec<u8>,
) {
    let mut levels: Vec<Vec<(i64, Aggregate)>> = vec![Vec::new(); steps.len()];
    // The finest level from the points, each coarser one from the one
    // before: the grouping a Roller through the steps makes.
    if !steps.is_empty() {
        let mut roller = super::Roller::new(&steps[..1]);
        let mut emit = |start, aggregate: &Aggregate| levels[0].push((start, *aggregate));
        for (timestamp, value) in points {
            roller.push(timestamp, value, &mut emit);
        }
        roller.flush(&mut emit);
    }
    for level in 1..steps.len() {
        let mut roller = super::Roller::new(&steps[level..=level]);
        let (finer, coarser) = levels.split_at_mut(level);
        let mut emit = |start, aggregate: &Aggregate| coarser[0].push((start, *aggregate));
        for (start, aggregate) in &finer[level - 1] {
            roller.add(0, *start, *aggregate, &mut emit);
        }
        roller.flush(&mut emit);
    }
    if levels.first().is_none_or(Vec::is_empty) || written_from >= steps.len() {
        return;
    }
    out.push(FORMAT);
    let mut body = Vec::new();
    for (&step, slots) in steps.iter().zip(&levels).skip(written_from) {
        body.clear();
        encode_level(step, slots, &mut body);
        varint::write_u64(out, step as u64);
        varint::write_u64(out, body.len() as u64);
        out.extend_from_slice(&body);
    }
}

fn encode_level(step: i64, slots: &[(i64, Aggregate)], out: &mut Vec<u8>) {
    varint::write_u64(out, slots.len() as u64);
    let per_window = (WINDOW_SECONDS / step) as usize;
    if slots.len() < per_window {
        let mut present = vec![0u8; per_window.div_ceil(8)];
        for (start, _) in slots {
            let at = (start.rem_euclid(WINDOW_SECONDS) / step) as usize;
            present[at / 8] |= 1 << (at % 8);
        }
        out.extend_from_slice(&present);
    }
    let mut bits = BitWriter::default();
    let mut column = Vec::with_capacity(slots.len());
    for at in 0..6 {
        column.clear();
        column.extend(slots.iter().map(|(_, aggregate)| aggregate.columns()[at]));
        match scale(&column) {
            Some(scaled) => {
                bits.write_bit(true);
                bits.write_bits(u64::from(scaled.decimals), 3);
                write_bucketed(&mut bits, scaled.integers[0]);
                write_deltas_bucketed(&mut bits, &scaled.integers);
            }
            None => {
                bits.write_bit(false);
                let mut xor = XorEncoder::default();
                for &value in &column {
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
        let (level_step, body) = level?;
        if level_step == step {
            return decode_level(body, window, step).map(Some);
        }
    }
    Ok(None)
}

/// Each level's step and body, checked as far as their framing.
fn levels(rollups: &[u8]) -> impl Iterator<Item = Result<(i64, &[u8]), Corruption>> {
    let bad = |what| Corruption::BadEntry { what };
    let mut input = match rollups.split_first() {
        Some((&FORMAT, rest)) => Ok(rest),
        Some(_) => Err(bad("rollup format")),
        None => Ok(&[][..]),
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
        let step = varint::read_u64(rest).and_then(|step| i64::try_from(step).ok());
        let length = varint::read_u64(rest).and_then(|length| usize::try_from(length).ok());
        let framed = step.zip(length).and_then(|(step, length)| Some((step, rest.get(..length)?)));
        match framed {
            Some((step, body)) => {
                *rest = &rest[body.len()..];
                Some(Ok((step, body)))
            }
            None => {
                input = Ok(&[]);
                Some(Err(bad("rollup level runs past its frame")))
            }
        }
    })
}

fn decode_level(mut body: &[u8], window: i64, step: i64) -> Result<Vec<(i64, Aggregate)>, Corruption> {
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
    let mut out: Vec<(i64, Aggregate)> =
        starts.iter().map(|&start| (start, Aggregate::of(f64::NAN))).collect();
    let mut bits = BitReader::new(body);
    for at in 0..6 {
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
        for ((_, aggregate), value) in out.iter_mut().zip(column) {
            match at {
                0 => {
                    let whole = value >= 1.0 && value.fract() == 0.0 && value < 2f64.powi(53);
                    aggregate.count = if whole { value as u64 } else { return Err(bad("rollup count")) };
                }
                1 => aggregate.sum = value,
                2 => aggregate.min = value,
                3 => aggregate.max = value,
                4 => aggregate.first = value,
                _ => aggregate.last = value,
            }
        }
    }
    Ok(out)
}

/// `rollups` (as [`encode`] wrote them) with only the levels whose step
/// `keep` accepts: what a window keeps once retention removes its finer
/// levels.
///
/// # Errors
///
/// [`Corruption`] when the levels' framing is damaged.
pub(crate) fn retain_levels(rollups: &[u8], keep: impl Fn(i64) -> bool) -> Result<Vec<u8>, Corruption> {
    let mut kept = vec![FORMAT];
    for level in levels(rollups) {
        let (step, body) = level?;
        if keep(step) {
            varint::write_u64(&mut kept, step as u64);
            varint::write_u64(&mut kept, body.len() as u64);
            kept.extend_from_slice(body);
        }
    }
    Ok(if kept.len() == 1 { Vec::new() } else { kept })
}
