//! History on disk: the windows no longer held in memory, read back from
//! their block files on demand, through bounded caches.
//!
//! Memory holds the newest windows whole (the *resident* ones, from
//! [`DiskView::resident_from`] on). Older windows live in their block files;
//! memory keeps only the points put into them since their files were
//! written (each series' overlay), which win over the file's and which the
//! next checkpoint merges into a new file. A [`DiskView`] is the set of
//! files as of one manifest; a reader takes the view and the overlay points
//! under the store's lock, then reads files without it.
//!
//! Two caches bound what reading keeps: open files (at most
//! [`OPEN_BLOCK_FILES`]) and checked bytes, indexes and runs (at most the
//! capacity given to [`Disk::new`]).

pub(crate) mod cache;

use crate::checkpoint::block::{self, BlockFile, Index};
use crate::checkpoint::manifest::{BlockRef, Window};
use crate::error::{Corruption, Error, Result};
use crate::rollup::{self, Aggregate};
use crate::series::{merge_newest_wins, window_of, WINDOW_SECONDS};
use crate::value::Value;
use cache::Clock;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Windows held in memory whole: the newest one, where points arrive, and
/// the one before it, where late points still do.
pub(crate) const RESIDENT_WINDOWS: i64 = 2;

/// The most block files a store keeps open at once, to read windows on
/// disk: enough that reading every series of a few months in turn does not
/// reopen files. A process's open-file limit must leave room for them.
pub const OPEN_BLOCK_FILES: usize = 512;

/// The windows read from their block files, as of one manifest.
#[derive(Debug, Clone)]
pub(crate) struct DiskView {
    /// Windows before this one are read from disk; this one and later ones
    /// are held in memory whole.
    pub(crate) resident_from: i64,
    /// The block files of the windows before `resident_from`.
    pub(crate) windows: BTreeMap<i64, Window>,
}

impl DiskView {
    /// The view of `windows` (a manifest's) with `resident_from`.
    pub(crate) fn new(resident_from: i64, windows: &BTreeMap<i64, Window>) -> DiskView {
        let on_disk = windows.range(..resident_from).map(|(&number, window)| (number, window.clone()));
        DiskView { resident_from, windows: on_disk.collect() }
    }

    /// The first second held in memory.
    pub(crate) fn resident_start(&self) -> i64 {
        self.resident_from.saturating_mul(WINDOW_SECONDS)
    }
}

/// A cached piece of a block file.
#[derive(Debug, Clone)]
enum Cached {
    Index(Arc<Index>),
    /// A series' run, and the generation of the file it is from.
    Run(Arc<[u8]>, u64),
    /// A series' rollups at one step, decoded; `None` when the file has
    /// none at that step.
    Slots(Option<Arc<[(i64, Aggregate)]>>),
    /// A series' archive at one step, decoded; `None` when the file has
    /// none at that step made by the layout asked for.
    Values(Option<Arc<[(i64, f64)]>>),
}

/// A slot of rollups or archives, as the cache holds a window's.
trait CachedSlot: Sized {
    /// A window's slots (`None`: the file has none) as cached.
    fn cached(slots: Option<Arc<[Self]>>) -> Cached;
    /// The slots a cached piece holds, if it holds these.
    fn uncached(cached: Cached) -> Option<Option<Arc<[Self]>>>;
}

impl CachedSlot for (i64, Aggregate) {
    fn cached(slots: Option<Arc<[Self]>>) -> Cached {
        Cached::Slots(slots)
    }

    fn uncached(cached: Cached) -> Option<Option<Arc<[Self]>>> {
        match cached {
            Cached::Slots(slots) => Some(slots),
            _ => None,
        }
    }
}

impl CachedSlot for (i64, f64) {
    fn cached(slots: Option<Arc<[Self]>>) -> Cached {
        Cached::Values(slots)
    }

    fn uncached(cached: Cached) -> Option<Option<Arc<[Self]>>> {
        match cached {
            Cached::Values(slots) => Some(slots),
            _ => None,
        }
    }
}

/// A block file: its window and the generation that wrote it.
type FileKey = (i64, u64);

/// Which piece of a block file a cache key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Piece {
    Index,
    Run(u32),
    /// A series' rollups at a step.
    Slots(u32, i64),
    /// A series' archive at a step, by the layout of a fingerprint.
    Values(u32, i64, u32),
}

/// A piece of the block file of a window (its number) by a generation.
type DataKey = (i64, u64, Piece);

/// A series' slots of one window on disk at one step (rollups or an
/// archive), as [`Disk::rollups`] and [`Disk::archive`] find them.
#[derive(Debug)]
pub(crate) enum WindowSlots<T> {
    /// The window's files hold no points of the series.
    Absent,
    /// The newest file with the series' points has no such slots (a level
    /// finer than those written beside the points, a file of the format
    /// before them, an archive another layout made): they are made from
    /// the points.
    NotRolled,
    /// The slots, in time order.
    Stored(Arc<[T]>),
}

/// Reads windows from block files, through the caches.
#[derive(Debug)]
pub(crate) struct Disk {
    blocks_dir: PathBuf,
    files: Clock<FileKey, Arc<BlockFile>>,
    data: Clock<DataKey, Cached>,
}

/// A read of one series' windows on disk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesRead<'a> {
    pub(crate) id: u32,
    /// Only points after this timestamp (all for `None`).
    pub(crate) after: Option<i64>,
    /// At most this many points.
    pub(crate) limit: usize,
    /// The points put into those windows since their files were written,
    /// sorted: they win on equal timestamps.
    pub(crate) overlay: &'a [(i64, f64)],
    /// Whether the runs read are cached.
    pub(crate) keep: bool,
}

/// What the read caches hold, for the stats.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CacheFigures {
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl Disk {
    /// Reads block files in `blocks_dir`, caching up to `cache_bytes`.
    pub(crate) fn new(blocks_dir: PathBuf, cache_bytes: usize) -> Disk {
        Disk { blocks_dir, files: Clock::new(OPEN_BLOCK_FILES), data: Clock::new(cache_bytes) }
    }

    /// The cache's size and hit counts.
    pub(crate) fn figures(&self) -> CacheFigures {
        let (hits, misses) = self.data.hits_and_misses();
        CacheFigures { bytes: self.data.weight() as u64, hits, misses }
    }

    fn file(&self, window: i64, file: BlockRef) -> Result<Arc<BlockFile>> {
        let key = (window, file.generation);
        if let Some(open) = self.files.get(&key) {
            return Ok(open);
        }
        let path = block::path(&self.blocks_dir, window, file.generation);
        let open = Arc::new(BlockFile::open(&path, window, file.bytes)?);
        self.files.insert(key, Arc::clone(&open), 1);
        Ok(open)
    }

    /// The index of a file, from the cache when it has it: finding that a
    /// file lacks a series opens nothing.
    fn index(&self, window: i64, file: BlockRef) -> Result<Arc<Index>> {
        let key = (window, file.generation, Piece::Index);
        if let Some(Cached::Index(index)) = self.data.get(&key) {
            return Ok(index);
        }
        let index = Arc::new(self.file(window, file)?.index()?);
        self.data.insert(key, Cached::Index(Arc::clone(&index)), index.heap_bytes() + 64);
        Ok(index)
    }

    /// The checked run of series `id` in window `number` (from the newest
    /// of its files that holds one), with the generation of that file; or
    /// `None` when none does. `keep` caches it.
    pub(crate) fn run(
        &self,
        number: i64,
        window: &Window,
        id: u32,
        keep: bool,
    ) -> Result<Option<(Arc<[u8]>, u64)>> {
        let Some(newest) = window.files.last().filter(|_| window.may_hold(id)) else { return Ok(None) };
        // The newest file stands for the whole stack: a later checkpoint
        // that changes the window adds a file, and so a key.
        let key = (number, newest.generation, Piece::Run(id));
        if let Some(Cached::Run(run, generation)) = self.data.get(&key) {
            return Ok(Some((run, generation)));
        }
        for &file in window.files.iter().rev() {
            let Some(entry) = self.index(number, file)?.find(id) else { continue };
            let run = self.file(number, file)?.run(entry)?;
            if keep {
                self.data.insert(key, Cached::Run(Arc::clone(&run), file.generation), run.len() + 64);
            }
            return Ok(Some((run, file.generation)));
        }
        Ok(None)
    }

    /// The error for damage found in what the file of window `number` by
    /// `generation` holds.
    pub(crate) fn corrupt(&self, number: i64, generation: u64, reason: Corruption) -> Error {
        Error::CorruptFile { path: block::path(&self.blocks_dir, number, generation), offset: 0, reason }
    }

    /// The rollups at `step` of series `id` in window `number`, from the
    /// newest of its files that holds the series; cached decoded, since a
    /// chart of a long range reads a few slots from each of many windows.
    pub(crate) fn rollups(
        &self,
        number: i64,
        window: &Window,
        id: u32,
        step: i64,
    ) -> Result<WindowSlots<(i64, Aggregate)>> {
        let decode = |rollups: &[u8]| rollup::decode(rollups, number, step);
        self.slots(number, window, id, Piece::Slots(id, step), decode)
    }

    /// The archive at `step` that the layout of `fingerprint` made of
    /// series `id` in window `number`, as [`Disk::rollups`] reads rollups.
    pub(crate) fn archive(
        &self,
        number: i64,
        window: &Window,
        id: u32,
        step: i64,
        fingerprint: u32,
    ) -> Result<WindowSlots<(i64, f64)>> {
        let decode = |rollups: &[u8]| rollup::decode_archive(rollups, number, step, fingerprint);
        self.slots(number, window, id, Piece::Values(id, step, fingerprint), decode)
    }

    /// The slots `decode` finds in the rollups of series `id` in window
    /// `number`, through the cache under `piece`.
    fn slots<T: CachedSlot>(
        &self,
        number: i64,
        window: &Window,
        id: u32,
        piece: Piece,
        decode: impl Fn(&[u8]) -> std::result::Result<Option<Vec<T>>, Corruption>,
    ) -> Result<WindowSlots<T>> {
        let Some(newest) = window.files.last().filter(|_| window.may_hold(id)) else {
            return Ok(WindowSlots::Absent);
        };
        let key = (number, newest.generation, piece);
        let found = |slots: Option<Arc<[T]>>| slots.map_or(WindowSlots::NotRolled, WindowSlots::Stored);
        if let Some(slots) = self.data.get(&key).and_then(T::uncached) {
            return Ok(found(slots));
        }
        for &file in window.files.iter().rev() {
            let Some(entry) = self.index(number, file)?.find(id) else { continue };
            let slots: Option<Arc<[T]>> = match self.file(number, file)?.rollups(entry)? {
                Some(rollups) => decode(&rollups)
                    .map_err(|reason| self.corrupt(number, file.generation, reason))?
                    .map(Arc::from),
                None => None,
            };
            let weight = slots.as_ref().map_or(0, |slots| std::mem::size_of_val(&**slots)) + 64;
            self.data.insert(key, T::cached(slots.clone()), weight);
            return Ok(found(slots));
        }
        Ok(WindowSlots::Absent)
    }

    /// The points of series `id` in window `number` on disk, the
    /// `overlay`'s (the points put into the window since) winning, in time
    /// order, into `out`.
    pub(crate) fn window_points(
        &self,
        number: i64,
        window: Option<&Window>,
        id: u32,
        overlay: &[(i64, f64)],
        out: &mut Vec<(i64, f64)>,
    ) -> Result<()> {
        let mut points = Vec::new();
        if let Some(window) = window {
            if let Some((run, generation)) = self.run(number, window, id, true)? {
                block::run_points(&run, i64::MIN, |t, v| points.push((t, v)))
                    .map_err(|reason| self.corrupt(number, generation, reason))?;
            }
        }
        let mut base = points.into_iter().peekable();
        let mut overlay = overlay.iter().copied().peekable();
        merge_newest_wins(&mut base, &mut overlay, usize::MAX, |t, v| out.push((t, v)));
        Ok(())
    }

    /// Forgets every cached piece of the files `keep` refuses, once a
    /// checkpoint has replaced them.
    pub(crate) fn forget(&self, mut keep: impl FnMut(i64, u64) -> bool) {
        self.files.retain(|&(window, generation)| keep(window, generation));
        self.data.retain(|&(window, generation, _)| keep(window, generation));
    }

    /// Visits the points `read` asks for in the view's windows, oldest
    /// first. Returns how many it visited; on an error, those visited before
    /// it stay visited.
    ///
    /// # Errors
    ///
    /// [`Error::CorruptFile`] for a damaged file, and I/O errors (a file
    /// deleted by a later checkpoint among them).
    pub(crate) fn scan(
        &self,
        view: &DiskView,
        read: &SeriesRead<'_>,
        mut visit: impl FnMut(i64, Value),
    ) -> Result<usize> {
        let SeriesRead { id, after, limit, overlay, keep } = *read;
        let Some(from) = after.map_or(Some(i64::MIN), |a| a.checked_add(1)) else { return Ok(0) };
        let overlay_from = overlay.partition_point(|&(t, _)| t < from);
        let mut overlay = overlay[overlay_from..].iter().copied().peekable();
        let mut visited = 0;
        let mut points = Vec::new();
        let mut files = view.windows.range(window_of(from)..view.resident_from).peekable();
        while visited < limit {
            // The next window with a file, or the overlay's points before it.
            let next_file = files.peek().map(|(&window, _)| window);
            let next_overlay = overlay.peek().map(|&(t, _)| window_of(t));
            let window = match (next_file, next_overlay) {
                (Some(file), Some(overlay)) => file.min(overlay),
                (Some(window), None) | (None, Some(window)) => window,
                (None, None) => break,
            };
            let window_end = window.saturating_add(1).saturating_mul(WINDOW_SECONDS);
            let overlaid = overlay.peek().is_some_and(|&(t, _)| t < window_end);
            points.clear();
            if let Some((_, files_of_window)) = files.next_if(|&(&file_window, _)| file_window == window) {
                if let Some((run, generation)) = self.run(window, files_of_window, id, keep)? {
                    let read = match overlaid {
                        // Mostly: nothing put over the window, its points
                        // visited as they are decoded.
                        false => block::run_values(&run, from, limit - visited, &mut visit),
                        true => block::run_values(&run, from, usize::MAX, |t, v| points.push((t, v))),
                    };
                    let decoded = read.map_err(|reason| self.corrupt(window, generation, reason))?;
                    if !overlaid {
                        visited += decoded;
                        continue;
                    }
                }
            }
            // The overlay's points of this window only. One this takes
            // and does not visit is lost only when the limit ends the scan.
            let mut in_window = std::iter::from_fn(|| overlay.next_if(|&(t, _)| t < window_end))
                .map(|(t, v)| (t, Value::new(v)))
                .peekable();
            let mut disk = points.iter().copied().peekable();
            visited += merge_newest_wins(&mut disk, &mut in_window, limit - visited, &mut visit);
        }
        Ok(visited)
    }
}
