//! What retention leaves of each series in a window on disk.
//!
//! Without storage schemas, retention is by tier for every series alike:
//! the raw points, then each rollup step, finest first (see
//! [`crate::rollup::check_levels`]). With them, each series keeps what its
//! layout says, as whisper would: its raw points as long as its finest
//! archive, each archive as long as that archive's retention, its rollups
//! as long as its last archive. Either way a window's tiers are the ages at
//! which some series loses something, and it is rewritten when it passes
//! one.

use super::Snapshot;
use crate::rollup::{LevelKind, Rolling};
use crate::series::window_of;

/// What one series keeps of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Its raw points (and so everything made from them).
    pub(crate) points: bool,
    /// Its rollups from this index of the rollup steps on (their count for
    /// none).
    pub(crate) rollups_from: usize,
    /// Its archives of this step and coarser (`i64::MAX` for none).
    pub(crate) archives_from: i64,
}

impl Kept {
    /// Whether a level of this kind and step stays, of rollups at `steps`.
    pub(crate) fn keeps(&self, kind: LevelKind, step: i64, steps: &[i64]) -> bool {
        match kind {
            LevelKind::Aggregates => steps.get(self.rollups_from..).is_some_and(|kept| kept.contains(&step)),
            LevelKind::Archive => step >= self.archives_from,
        }
    }
}

impl Snapshot {
    /// Windows before this one have passed every tier and go whole: their
    /// points in memory are dropped, not written. A window past only the
    /// raw points' tier (a backfill of history) is written, rolled up, and
    /// then loses its points.
    pub(crate) fn whole_windows_from(&self) -> Option<i64> {
        self.tiers_from.last().copied().flatten()
    }

    /// How many of the snapshot's tiers window `number` has passed.
    pub(crate) fn tiers_passed(&self, number: i64) -> u8 {
        let passed = self.tiers_from.iter().take_while(|from| from.is_some_and(|from| number < from)).count();
        u8::try_from(passed).unwrap_or(u8::MAX)
    }

    /// What series `id` keeps of window `number`.
    pub(crate) fn kept(&self, number: i64, id: u32, rolling: &Rolling) -> Kept {
        if !self.per_layout {
            let passed = usize::from(self.tiers_passed(number));
            return Kept {
                points: passed == 0,
                rollups_from: passed.saturating_sub(1),
                archives_from: i64::MAX,
            };
        }
        // Every series in a file has a layout; one without keeps everything.
        let Some((archives, newest)) = rolling.archives.of(id).zip(self.newest_ts) else {
            return Kept { points: true, rollups_from: 0, archives_from: i64::MIN };
        };
        let past = |retention: i64| number < window_of(newest.saturating_sub(retention));
        let longest = archives.layout().archives.iter().map(|archive| archive.retention()).max().unwrap_or(0);
        // The points first, then the stored archives.
        let kept_for = archives.kept_for();
        Kept {
            points: kept_for.first().is_none_or(|&(_, retention)| !past(retention)),
            rollups_from: if past(longest) { rolling.steps.len() } else { 0 },
            archives_from: kept_for
                .iter()
                .skip(1)
                .find(|&&(_, retention)| !past(retention))
                .map_or(i64::MAX, |&(step, _)| step),
        }
    }
}
