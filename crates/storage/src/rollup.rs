//! Rollups: each series' points summed up over fixed slots of time (five
//! minutes and an hour by default), so that a chart of a long range reads a
//! few aggregates per slot instead of every point.
//!
//! A slot's [`Aggregate`] holds what every aggregation a reader offers can
//! be computed from: the count, sum, smallest, largest, first and last of
//! the slot's values (NaN, an agent's "no value", left out). Steps nest: each
//! divides the next and the window, so slots never straddle windows, and each
//! coarser slot is made from the finer slots inside it, in time order. Sums
//! therefore always add in the same grouping (points within the finest slot,
//! then those slots' sums, and so on), whether a reader folds raw points
//! with a [`Roller`] or reads the rollup a checkpoint stored: both give the
//! same bits.
//!
//! A checkpoint stores a series' rollups of a window beside its run in the
//! window's block file (see `checkpoint::block`); a file of changes stores
//! them again, made from the merged points.
//!
//! How they are encoded is in `encoding`.

use crate::error::{Error, Result};
use crate::series::WINDOW_SECONDS;
use crate::RollupLevel;
use std::time::Duration;

/// The rollup steps of a store when its options name none: five minutes
/// and an hour.
pub const DEFAULT_ROLLUP_STEPS: [i64; 2] = [300, 3600];

/// The values of one slot of a rollup: enough for the count, sum, average,
/// minimum, maximum, range, first and last of the slot's points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate {
    /// How many points (NaN aside); at least one.
    pub count: u64,
    /// Their sum, added in the grouping the module describes.
    pub sum: f64,
    /// The smallest (the earliest of equal ones).
    pub min: f64,
    /// The largest (the earliest of equal ones).
    pub max: f64,
    /// The earliest point's value.
    pub first: f64,
    /// The latest point's value.
    pub last: f64,
}

impl Aggregate {
    /// The aggregate of one value.
    pub fn of(value: f64) -> Aggregate {
        Aggregate { count: 1, sum: value, min: value, max: value, first: value, last: value }
    }

    /// Adds `later`, the aggregate of points after this one's.
    pub fn merge(&mut self, later: &Aggregate) {
        self.count += later.count;
        self.sum += later.sum;
        // Strict comparisons keep the earlier of equal values (0.0, -0.0).
        if later.min < self.min {
            self.min = later.min;
        }
        if later.max > self.max {
            self.max = later.max;
        }
        self.last = later.last;
    }

    /// The mean of the points.
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }

    fn columns(&self) -> [f64; 6] {
        [self.count as f64, self.sum, self.min, self.max, self.first, self.last]
    }
}

/// How long a store keeps each tier of its points: the raw points first,
/// then each rollup level's, finest first; `None` for ever. A level whose
/// retention is not given keeps the tier's before it.
pub(crate) fn tier_retention(raw: Option<Duration>, levels: &[RollupLevel]) -> Vec<Option<Duration>> {
    let mut tiers = vec![raw];
    for level in levels {
        let before = tiers[tiers.len() - 1];
        tiers.push(level.retention.or(before));
    }
    tiers
}

/// Checks rollup levels against the raw retention: steps as
/// [`check_steps`] wants them, and each level kept at least as long as the
/// tier before it (the raw points, for the first), since retention removes
/// the finest first.
///
/// # Errors
///
/// [`Error::InvalidOptions`] saying which level breaks which rule.
pub fn check_levels(raw: Option<Duration>, levels: &[RollupLevel]) -> Result<()> {
    let steps: Vec<i64> = levels.iter().map(|level| level.step).collect();
    check_steps(&steps)?;
    let tiers = tier_retention(raw, levels);
    for (at, pair) in tiers.windows(2).enumerate() {
        let shorter = match (pair[0], pair[1]) {
            (Some(before), Some(this)) => this < before,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if shorter {
            let before =
                if at == 0 { "the raw points".to_owned() } else { format!("the {}s rollups", steps[at - 1]) };
            let reason = format!("the {}s rollups must be kept at least as long as {before}", steps[at]);
            return Err(Error::InvalidOptions { reason });
        }
    }
    Ok(())
}

/// Checks rollup steps: at least one second, each dividing the next and
/// the window (two hours), finest first.
///
/// # Errors
///
/// [`Error::InvalidOptions`] saying which step breaks which rule.
pub fn check_steps(steps: &[i64]) -> Result<()> {
    let invalid = |reason: String| Err(Error::InvalidOptions { reason });
    for (index, &step) in steps.iter().enumerate() {
        if step < 1 || WINDOW_SECONDS % step != 0 {
            return invalid(format!("rollup step {step}s must divide {WINDOW_SECONDS}s (two hours)"));
        }
        if let Some(&finer) = index.checked_sub(1).and_then(|before| steps.get(before)) {
            if step <= finer || step % finer != 0 {
                return invalid(format!(
                    "rollup step {step}s must be a multiple of the step before it, {finer}s"
                ));
            }
        }
    }
    Ok(())
}

/// Folds points, in time order, into aggregates over the slots of the last
/// of its steps, through each finer step in turn (see the module's note on
/// sums).
#[derive(Debug)]
pub struct Roller<'s> {
    steps: &'s [i64],
    /// Each level's open slot: its start and aggregate.
    open: Vec<Option<(i64, Aggregate)>>,
}

impl<'s> Roller<'s> {
    /// A roller through `steps` (checked by [`check_steps`]), emitting
    /// slots of the last; with no steps it emits every point as it is.
    pub fn new(steps: &'s [i64]) -> Roller<'s> {
        Roller { steps, open: vec![None; steps.len()] }
    }

    /// Adds a point after those pushed before; `emit(slot_start, aggregate)`
    /// gets each slot of the last step that this closes. NaN is left out.
    pub fn push(&mut self, timestamp: i64, value: f64, emit: &mut dyn FnMut(i64, &Aggregate)) {
        if !value.is_nan() {
            self.add(0, timestamp, Aggregate::of(value), emit);
        }
    }

    /// Emits the slots still open.
    pub fn flush(&mut self, emit: &mut dyn FnMut(i64, &Aggregate)) {
        for level in 0..self.open.len() {
            if let Some((start, aggregate)) = self.open[level].take() {
                self.add(level + 1, start, aggregate, emit);
            }
        }
    }

    /// `aggregate`, of the time from `time` on, into `level`'s slot holding
    /// `time`; a new slot closes the open one, which goes up a level.
    fn add(
        &mut self,
        mut level: usize,
        mut time: i64,
        mut aggregate: Aggregate,
        emit: &mut dyn FnMut(i64, &Aggregate),
    ) {
        while let Some(&step) = self.steps.get(level) {
            let start = time - time.rem_euclid(step);
            match &mut self.open[level] {
                Some((open, sum)) if *open == start => {
                    sum.merge(&aggregate);
                    return;
                }
                open => match open.replace((start, aggregate)) {
                    Some((closed, closed_aggregate)) => {
                        (level, time, aggregate) = (level + 1, closed, closed_aggregate)
                    }
                    None => return,
                },
            }
        }
        emit(time, &aggregate);
    }
}

mod archives;
mod encoding;

pub(crate) use archives::{decode as decode_archive, no_archive, ArchiveLayout, Rolling, SeriesArchives};

pub(crate) use encoding::{decode, encode, retain_levels, LevelKind, FINEST_STEP_BESIDE_POINTS};

#[cfg(test)]
mod tests;
