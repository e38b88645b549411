//! Reading a range of a series with a layout: the archive whisper would
//! read it from, and that archive's slots made from the raw points as
//! carbon and whisper would have made them.

use super::{AggregationMethod, Layout};
use crate::series::slots;

/// How one range of one series is read: the slots returned and the steps
/// the raw points are rolled up through to make them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// The time of the first slot returned.
    pub start: i64,
    /// Seconds between the slots returned.
    pub step: i64,
    /// How many slots are returned.
    pub count: usize,
    /// The step of each level of the roll-up, finest first: the archives
    /// up to the one read, then a coarser step if the range holds more
    /// than [`crate::series::MAX_SLOTS_PER_SERIES`] of its slots.
    steps: Vec<i64>,
    /// The archive read.
    archive: usize,
    method: AggregationMethod,
    x_files_factor: f64,
}

impl Layout {
    /// How whisper reads `from..until` at `now`: a range reaching past the
    /// oldest archive's retention starts at it, one past `now` ends at
    /// `now`, and the finest archive that reaches back to the start is
    /// read. `None` when the range lies wholly in the future or before
    /// the retention (whisper returns no series then).
    pub fn plan(&self, from: i64, until: i64, now: i64) -> Option<ReadPlan> {
        let widest = self.archives.last()?;
        let oldest = now.saturating_sub(widest.retention());
        if from > now || until < oldest {
            return None;
        }
        let (from, until) = (from.max(oldest), until.min(now));
        let age = now - from;
        let index = self.archives.iter().position(|archive| archive.retention() >= age)?;
        let mut steps: Vec<i64> = self.archives[..=index].iter().map(|archive| archive.step).collect();
        let (start, step, count) = slots(from, until, self.archives[index].step);
        if step != self.archives[index].step {
            steps.push(step);
        }
        Some(ReadPlan {
            start,
            step,
            count,
            steps,
            archive: index,
            method: self.method,
            x_files_factor: self.x_files_factor,
        })
    }
}

impl Layout {
    /// A cascade through the archives up to `archive` (level `k` is
    /// archive `k`), or `None` when the layout has no such archive.
    pub fn cascade_through(&self, archive: usize) -> Option<Cascade> {
        let steps = self.archives.get(..=archive)?.iter().map(|archive| archive.step).collect();
        Some(Cascade::new(steps, self.method, self.x_files_factor))
    }

    /// The slots of archive `archive` that have a value once `points`
    /// (time order) are written, as (start, value): what whisper would
    /// hold. `None` when the layout has no such archive.
    pub fn archive_of(
        &self,
        archive: usize,
        points: impl IntoIterator<Item = (i64, f64)>,
    ) -> Option<Vec<(i64, f64)>> {
        let mut cascade = self.cascade_through(archive)?;
        let mut slots = Vec::new();
        let mut keep = |level: usize, start: i64, value: f64| {
            if level == archive {
                slots.push((start, value));
            }
        };
        for (timestamp, value) in points {
            cascade.push(timestamp, value, &mut keep);
        }
        cascade.finish(&mut keep);
        Some(slots)
    }
}

impl ReadPlan {
    /// Just after the last slot: raw points from [`ReadPlan::start`] up to
    /// here make the slots.
    pub fn end(&self) -> i64 {
        self.start + self.step * self.count as i64
    }

    /// The index of the archive read, in the layout's archives.
    pub fn archive(&self) -> usize {
        self.archive
    }

    /// A fold of this plan's raw points (or of its archive's stored slots)
    /// into its slots.
    pub fn fold(&self) -> SlotFold<'_> {
        SlotFold {
            plan: self,
            cascade: Cascade::new(self.steps.clone(), self.method, self.x_files_factor),
            values: vec![f64::NAN; self.count],
        }
    }
}

/// One level of a roll-up: the slot being filled and its known values.
#[derive(Debug, Clone)]
struct Level {
    slot: i64,
    known: Vec<f64>,
}

/// Values folded through a chain of steps as carbon and whisper fold them:
/// at the finest step the latest point in a slot is its value (carbon
/// writes each over the last); each coarser step takes the method of the
/// finer slots inside it, when at least `xFilesFactor` of them are known.
/// Every slot closed at every level is handed to an `emit(level, slot,
/// value)`, in time order within each level.
#[derive(Debug, Clone)]
pub struct Cascade {
    steps: Vec<i64>,
    method: AggregationMethod,
    x_files_factor: f64,
    levels: Vec<Level>,
}

impl Cascade {
    /// A cascade through `steps` (finest first, each dividing the next).
    pub fn new(steps: Vec<i64>, method: AggregationMethod, x_files_factor: f64) -> Cascade {
        let levels = vec![Level { slot: 0, known: Vec::new() }; steps.len()];
        Cascade { steps, method, x_files_factor, levels }
    }

    /// The steps, finest first.
    pub fn steps(&self) -> &[i64] {
        &self.steps
    }

    /// One raw point, after those pushed before; NaN is left out (carbon
    /// stores no value for it).
    pub fn push(&mut self, timestamp: i64, value: f64, emit: &mut dyn FnMut(usize, i64, f64)) {
        if !value.is_nan() && !self.steps.is_empty() {
            self.feed(0, timestamp, value, emit);
        }
    }

    /// The value of a closed slot of `level` starting at `slot`, made
    /// elsewhere (a stored archive): it counts toward the next level's
    /// slot as one this cascade closed would. A value at the last level is
    /// emitted as it is.
    pub fn push_closed(
        &mut self,
        level: usize,
        slot: i64,
        value: f64,
        emit: &mut dyn FnMut(usize, i64, f64),
    ) {
        match level + 1 < self.steps.len() {
            true => self.feed(level + 1, slot, value, emit),
            false => emit(level, slot, value),
        }
    }

    /// Closes the slots still open, finest first, emitting them.
    pub fn finish(&mut self, emit: &mut dyn FnMut(usize, i64, f64)) {
        self.close_through(self.levels.len().saturating_sub(1), emit);
    }

    /// Closes the slots open at the levels up to `level`, finest first,
    /// emitting them and carrying each into the next level: for when no
    /// later value can fall in them (the next values are past a boundary
    /// those levels' steps divide).
    pub fn close_through(&mut self, level: usize, emit: &mut dyn FnMut(usize, i64, f64)) {
        for level in 0..self.levels.len().min(level + 1) {
            if let Some((slot, value)) = self.close(level) {
                emit(level, slot, value);
                if level + 1 < self.levels.len() {
                    self.feed(level + 1, slot, value, emit);
                }
            }
        }
    }

    /// `value` for the slot holding `time` at `level`, closing the slot
    /// before when this starts another and carrying it up.
    fn feed(
        &mut self,
        mut level: usize,
        mut time: i64,
        mut value: f64,
        emit: &mut dyn FnMut(usize, i64, f64),
    ) {
        while let Some(&step) = self.steps.get(level) {
            let slot = time - time.rem_euclid(step);
            let current = &mut self.levels[level];
            if current.known.is_empty() || current.slot == slot {
                current.slot = slot;
                if level == 0 {
                    // The last write wins.
                    current.known.clear();
                }
                current.known.push(value);
                return;
            }
            let closed = self.close(level);
            // The slot's buffer is kept: a fold allocates per level, not
            // per slot.
            let current = &mut self.levels[level];
            current.slot = slot;
            current.known.push(value);
            let Some((closed_slot, closed_value)) = closed else { return };
            emit(level, closed_slot, closed_value);
            (level, time, value) = (level + 1, closed_slot, closed_value);
        }
    }

    /// The value of `level`'s current slot, if it has one, emptying it.
    fn close(&mut self, level: usize) -> Option<(i64, f64)> {
        let current = &mut self.levels[level];
        let last = *current.known.last()?;
        let closed = match level {
            0 => Some((current.slot, last)),
            _ => {
                let slots = (self.steps[level] / self.steps[level - 1]).max(1) as usize;
                // whisper's test, in floating point as it makes it.
                let enough = current.known.len() as f64 / slots as f64 >= self.x_files_factor;
                enough.then(|| (current.slot, self.method.of(&current.known, slots)))
            }
        };
        current.known.clear();
        closed
    }
}

/// Raw points, pushed in time order, made into a plan's slots through a
/// [`Cascade`] of its steps.
#[derive(Debug)]
pub struct SlotFold<'p> {
    plan: &'p ReadPlan,
    cascade: Cascade,
    values: Vec<f64>,
}

impl SlotFold<'_> {
    /// One raw point; those outside the plan's slots and NaNs are left out.
    pub fn push(&mut self, timestamp: i64, value: f64) {
        if timestamp >= self.plan.start && timestamp < self.plan.end() {
            let (plan, values) = (self.plan, &mut self.values);
            self.cascade
                .push(timestamp, value, &mut |level, slot, value| keep(plan, values, level, slot, value));
        }
    }

    /// The value of a slot of archive [`ReadPlan::archive`] starting at
    /// `slot`, read from where it is stored instead of made from points;
    /// those outside the plan's slots are left out.
    pub fn push_archived(&mut self, slot: i64, value: f64) {
        if slot >= self.plan.start && slot < self.plan.end() {
            let (plan, values) = (self.plan, &mut self.values);
            let level = plan.archive;
            self.cascade.push_closed(level, slot, value, &mut |level, slot, value| {
                keep(plan, values, level, slot, value)
            });
        }
    }

    /// The slots' values, NaN where nothing is known.
    pub fn finish(mut self) -> Vec<f64> {
        let (plan, values) = (self.plan, &mut self.values);
        self.cascade.finish(&mut |level, slot, value| keep(plan, values, level, slot, value));
        self.values
    }
}

/// A value the cascade emitted: the plan's slots are its last level's.
fn keep(plan: &ReadPlan, values: &mut [f64], level: usize, time: i64, value: f64) {
    if level + 1 != plan.steps.len() {
        return;
    }
    let slot = (time - plan.start) / plan.step;
    if let Some(out) = usize::try_from(slot).ok().and_then(|slot| values.get_mut(slot)) {
        *out = value;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Archive, StorageSchemas};
    use super::*;

    fn layout(retentions: &str, aggregation: &str) -> Layout {
        let schemas = format!("[all]\npattern = .\nretentions = {retentions}\n");
        let aggregation = format!("[all]\npattern = .\n{aggregation}\n");
        StorageSchemas::parse(&schemas, Some(&aggregation)).unwrap().layout_for("a").unwrap()
    }

    fn shown(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().map(|value| (!value.is_nan()).then_some(*value)).collect()
    }

    #[test]
    fn whisper_picks_the_finest_archive_that_reaches_back() {
        let layout = layout("10s:1h,1m:1d,10m:30d", "aggregationMethod = average");
        assert_eq!(layout.archives[2], Archive { step: 600, points: 4320 });
        let now = 10_000_000;
        let plan = layout.plan(now - 3600, now, now).unwrap();
        assert_eq!((plan.start, plan.step, plan.count), (now - 3600 + 10, 10, 360));
        let plan = layout.plan(now - 3601, now + 500, now).unwrap();
        assert_eq!((plan.step, plan.end()), (60, now - now % 60 + 60), "until clipped to now");
        let plan = layout.plan(0, now - 86_400 * 20, now).unwrap();
        let oldest = now - 86_400 * 30;
        assert_eq!(
            (plan.step, plan.start),
            (600, oldest - oldest % 600 + 600),
            "from clipped to the retention"
        );
        assert!(layout.plan(now + 1, now + 100, now).is_none(), "wholly in the future");
        assert!(layout.plan(0, oldest - 1, now).is_none(), "wholly before the retention");
        // A range within one slot still returns it, as whisper does.
        assert_eq!(layout.plan(now - 5, now - 3, now).unwrap().count, 1);
    }

    #[test]
    fn the_last_write_in_a_slot_wins_and_rollups_follow_the_x_files_factor() {
        let layout = layout("10s:1h,1m:1d", "xFilesFactor = 0.5\naggregationMethod = sum");
        let now = 100_000 * 60;
        let fine = layout.plan(now - 120, now, now).unwrap();
        let mut fold = fine.fold();
        for (timestamp, value) in [(now - 110, 1.0), (now - 105, 2.0), (now - 90, f64::NAN), (now - 60, 4.0)]
        {
            fold.push(timestamp, value);
        }
        let values = fold.finish();
        assert_eq!(fine.count, 12, "through the slot holding now, as whisper's");
        assert_eq!(shown(&values[..6]), [Some(2.0), None, None, None, None, Some(4.0)]);

        // Two hours back reads the minute archive: each minute the sum of
        // its six 10 s slots, when at least three are known.
        let coarse = layout.plan(now - 7200, now, now).unwrap();
        assert_eq!(coarse.step, 60);
        let mut fold = coarse.fold();
        let minute = now - 3600;
        for offset in [0, 10, 20, 60, 70, 125, 120] {
            fold.push(minute + offset, 1.0);
        }
        let values = fold.finish();
        let first = ((minute - coarse.start) / 60) as usize;
        assert_eq!(shown(&values[first..first + 3]), [Some(3.0), None, None]);
    }

    #[test]
    fn a_range_of_too_many_slots_is_rolled_up_once_more() {
        let layout = layout("1s:10y", "xFilesFactor = 0\naggregationMethod = max");
        let now = 400_000_000;
        let plan = layout.plan(0, now, now).unwrap();
        assert!(plan.step > 1 && plan.count <= crate::series::MAX_SLOTS_PER_SERIES as usize);
        let mut fold = plan.fold();
        fold.push(plan.start, 1.0);
        fold.push(plan.start + 1, 5.0);
        assert_eq!(fold.finish()[0], 5.0);
    }
}
