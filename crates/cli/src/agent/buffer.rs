//! Points waiting for the server: bounded, oldest first, in memory or, with
//! a spool folder, on disk so that an agent restarted while the server is
//! away still sends them.
//!
//! The spool holds one file per round that could not be sent
//! (`<sequence>.points`, protocol lines `key value timestamp`), written to
//! a temporary name, synced and renamed, so a crash leaves whole files
//! only. When a bound is reached the oldest points are dropped, and
//! counted: recent data is worth more to someone watching a host.

use super::Reading;
use anyhow::Context;
use eardrum_protocol::PyFloat;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where the unsent points are.
pub(super) struct Buffer {
    memory: VecDeque<Reading>,
    max_points: usize,
    spool: Option<Spool>,
    /// Points dropped because a bound was reached, since the start.
    pub dropped: u64,
}

impl Buffer {
    /// A buffer of at most `max_points` in memory, or, with `spool`, of at
    /// most `max_spool_bytes` of files in that folder (created if missing;
    /// files left by an earlier run are sent first).
    pub(super) fn new(max_points: usize, spool: Option<(&Path, u64)>) -> anyhow::Result<Buffer> {
        let spool = spool.map(|(dir, max_bytes)| Spool::open(dir, max_bytes)).transpose()?;
        Ok(Buffer { memory: VecDeque::new(), max_points, spool, dropped: 0 })
    }

    /// Points waiting, in memory and in the spool.
    pub(super) fn len(&self) -> usize {
        self.memory.len() + self.spool.as_ref().map_or(0, |spool| spool.points)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps a round's points until they are sent.
    pub(super) fn push(&mut self, points: Vec<Reading>) -> anyhow::Result<()> {
        match &mut self.spool {
            Some(spool) => self.dropped += spool.write(&points)?,
            None => {
                self.memory.extend(points);
                let excess = self.memory.len().saturating_sub(self.max_points);
                self.memory.drain(..excess);
                self.dropped += excess as u64;
            }
        }
        Ok(())
    }

    /// The oldest points, without taking them: up to `limit` from memory,
    /// or the oldest spool file's.
    pub(super) fn oldest(&mut self, limit: usize) -> anyhow::Result<Vec<Reading>> {
        match &mut self.spool {
            Some(spool) => spool.oldest(),
            None => Ok(self.memory.iter().take(limit).cloned().collect()),
        }
    }

    /// Forgets the points the last [`Buffer::oldest`] gave (`count` of
    /// them), which the server has stored.
    pub(super) fn remove_oldest(&mut self, count: usize) -> anyhow::Result<()> {
        match &mut self.spool {
            Some(spool) => spool.remove_oldest(),
            None => {
                self.memory.drain(..count.min(self.memory.len()));
                Ok(())
            }
        }
    }
}

/// The spool folder: files of points, sent and removed oldest first.
struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// The files, oldest first: sequence number, bytes, points.
    files: VecDeque<(u64, u64, usize)>,
    next_sequence: u64,
    points: usize,
}

impl Spool {
    fn open(dir: &Path, max_bytes: u64) -> anyhow::Result<Spool> {
        fs::create_dir_all(dir).with_context(|| format!("creating the spool folder {}", dir.display()))?;
        let mut files = Vec::new();
        for entry in
            fs::read_dir(dir).with_context(|| format!("reading the spool folder {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            let Some(sequence) =
                name.to_str().and_then(|n| n.strip_suffix(".points")).and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let text = fs::read_to_string(entry.path())?;
            files.push((sequence, text.len() as u64, text.lines().count()));
        }
        files.sort_unstable();
        let next_sequence = files.last().map_or(0, |&(sequence, _, _)| sequence + 1);
        let points = files.iter().map(|&(_, _, points)| points).sum();
        Ok(Spool { dir: dir.to_owned(), max_bytes, files: files.into(), next_sequence, points })
    }

    fn path(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence:016}.points"))
    }

    /// Writes `points` as a new file; the points dropped to stay in bounds.
    fn write(&mut self, points: &[Reading]) -> anyhow::Result<u64> {
        if points.is_empty() {
            return Ok(0);
        }
        let mut text = String::new();
        for point in points {
            let _ = writeln!(text, "{} {} {}", point.key, PyFloat(point.value), point.timestamp);
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let temporary = self.dir.join(format!("{sequence:016}.tmp"));
        let mut file = fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, self.path(sequence))
            .with_context(|| format!("writing to the spool folder {}", self.dir.display()))?;
        self.files.push_back((sequence, text.len() as u64, points.len()));
        self.points += points.len();
        let mut dropped = 0;
        while self.files.len() > 1
            && self.files.iter().map(|&(_, bytes, _)| bytes).sum::<u64>() > self.max_bytes
        {
            dropped += self.remove_first()? as u64;
        }
        Ok(dropped)
    }

    /// The points of the oldest file.
    fn oldest(&mut self) -> anyhow::Result<Vec<Reading>> {
        let Some(&(sequence, _, _)) = self.files.front() else {
            return Ok(Vec::new());
        };
        let text = fs::read_to_string(self.path(sequence))?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let key = fields.next()?.to_owned();
                let value = fields.next()?.parse().ok()?;
                let timestamp = fields.next()?.parse().ok()?;
                Some(Reading { key, value, timestamp })
            })
            .collect())
    }

    fn remove_oldest(&mut self) -> anyhow::Result<()> {
        self.remove_first().map(|_| ())
    }

    fn remove_first(&mut self) -> anyhow::Result<usize> {
        let Some((sequence, _, points)) = self.files.pop_front() else {
            return Ok(0);
        };
        fs::remove_file(self.path(sequence))?;
        self.points -= points;
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(from: i64, count: i64) -> Vec<Reading> {
        (from..from + count)
            .map(|t| Reading { key: "h.cpu".to_owned(), value: t as f64 / 2.0, timestamp: t })
            .collect()
    }

    #[test]
    fn memory_keeps_the_newest_points_and_counts_the_rest() {
        let mut buffer = Buffer::new(5, None).unwrap();
        buffer.push(points(0, 3)).unwrap();
        buffer.push(points(3, 4)).unwrap();
        assert_eq!((buffer.len(), buffer.dropped), (5, 2));
        let oldest = buffer.oldest(2).unwrap();
        assert_eq!(oldest.iter().map(|p| p.timestamp).collect::<Vec<_>>(), [2, 3]);
        buffer.remove_oldest(2).unwrap();
        assert_eq!(buffer.oldest(10).unwrap().len(), 3);
    }

    #[test]
    fn the_spool_survives_a_restart_and_drops_its_oldest_files_beyond_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = Buffer::new(0, Some((dir.path(), 1_000_000))).unwrap();
        buffer.push(points(0, 3)).unwrap();
        buffer.push(points(3, 2)).unwrap();
        drop(buffer);
        let mut buffer = Buffer::new(0, Some((dir.path(), 1_000_000))).unwrap();
        assert_eq!(buffer.len(), 5);
        assert_eq!(buffer.oldest(100).unwrap(), points(0, 3));
        buffer.remove_oldest(3).unwrap();
        assert_eq!(buffer.oldest(100).unwrap(), points(3, 2));
        buffer.push(points(5, 1)).unwrap();
        assert_eq!(buffer.len(), 3);

        // 3 files of 10 points, 120 to 140 bytes each, in a 300-byte spool.
        let small = tempfile::tempdir().unwrap();
        let mut buffer = Buffer::new(0, Some((small.path(), 300))).unwrap();
        for round in 0..3 {
            buffer.push(points(round * 10, 10)).unwrap();
        }
        assert_eq!((buffer.len(), buffer.dropped), (20, 10));
        assert_eq!(buffer.oldest(100).unwrap()[0].timestamp, 10);
    }
}
