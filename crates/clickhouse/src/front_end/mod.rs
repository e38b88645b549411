//! A front end: the server's [`Backend`] over ClickHouse.
//!
//! Puts are acknowledged once they are in the local log (an
//! [outbox]), with the embedded engine's durability; a shipper
//! thread sends each outbox to ClickHouse, at least once, retrying with
//! backoff while ClickHouse is down, and deletes it once ClickHouse holds
//! it. Reads ask ClickHouse and merge in what the outboxes still hold, so
//! a front end reads its own writes at once and the other front ends'
//! once they are shipped.

mod outbox;
mod reads;
mod shipper;

use crate::versions::Version;
use crate::ClickHouse;
use eardrum_protocol::clock::{unix_micros, unix_millis};
use eardrum_storage::{
    Backend, Keys, Options, Outcome, Sample, ScanCursor, ShippingStats, Stats, Store, SyncMode, Ticket,
};
use outbox::Outbox;
use parking_lot::RwLock;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the shipper sends what was put, by default.
pub const DEFAULT_SHIP_INTERVAL: Duration = Duration::from_secs(1);

/// A front end over ClickHouse: puts into a local log, shipped to ClickHouse,
/// reads merged from both (see the crate documentation).
#[derive(Debug)]
pub struct FrontEnd {
    shared: Arc<Shared>,
    shipper: parking_lot::Mutex<Option<shipper::Handle>>,
}

/// What the front end and its shipper share.
#[derive(Debug)]
struct Shared {
    clickhouse: ClickHouse,
    /// The folder holding the outboxes.
    dir: PathBuf,
    options: Options,
    outboxes: RwLock<Outboxes>,
    versions: parking_lot::Mutex<SealVersions>,
    /// The number of the next active outbox's folder.
    next_number: AtomicU64,
    /// Set by every stage: the active outbox has something to ship.
    dirty: AtomicBool,
    /// Held for a shipping round, by the thread or an inline commit.
    shipping: parking_lot::Mutex<shipper::ShipState>,
    /// Whether every commit ships before acknowledging (no interval).
    ship_inline: bool,
    /// Set while shipping fails: inline commits then leave it to the
    /// thread rather than each wait for ClickHouse to time out.
    ship_failing: AtomicBool,
    counters: Counters,
}

/// The outboxes: sealed ones oldest first, waiting to be shipped, and the
/// active one taking puts.
#[derive(Debug)]
struct Outboxes {
    sealed: Vec<Outbox>,
    active: Outbox,
}

/// The shipper's figures.
#[derive(Debug, Default)]
struct Counters {
    points_shipped: AtomicU64,
    inserts: AtomicU64,
    failed_attempts: AtomicU64,
    /// See [`ShippingStats::caught_up_unix_ms`].
    caught_up_unix_ms: AtomicU64,
}

impl FrontEnd {
    /// Opens the front end's local log in `dir` (reopening the outboxes an
    /// earlier run left, which are shipped first) and starts shipping to
    /// `clickhouse` every `ship_interval`. The schema is created if missing;
    /// while ClickHouse is unreachable the front end still takes puts, and
    /// the shipper creates the schema once it answers.
    ///
    /// A zero `ship_interval` ships in every commit, before its puts are
    /// acknowledged, so that other front ends see them at once: a put then
    /// costs a ClickHouse insert. If the insert fails the puts are still
    /// acknowledged (they are in the local log) and a thread retries.
    ///
    /// # Errors
    ///
    /// The local log's errors, as [`Store::open`](eardrum_storage::Store::open)'s.
    pub fn open(
        dir: impl AsRef<Path>,
        options: Options,
        clickhouse: ClickHouse,
        ship_interval: Duration,
    ) -> eardrum_storage::Result<FrontEnd> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir)
            .map_err(eardrum_storage::Error::io("creating the front end's folder", &dir))?;
        let (reopened, last_number) = Outbox::reopen_all(&dir, &options)?;
        let mut versions = SealVersions { clock: Version::new(node_number(&dir)), floor: 0 };
        // Outboxes left active by a crash are sealed now, after the sealed
        // ones: their points were put before this moment.
        let mut sealed = Vec::new();
        for outbox in reopened {
            let outbox = match outbox.is_sealed() {
                true => outbox,
                false => outbox.seal(versions.next())?,
            };
            versions.floor = versions.floor.max(outbox.version + outbox.key_count());
            sealed.push(outbox);
        }
        let active = Outbox::create(&dir, last_number + 1, &options)?;
        if !sealed.is_empty() {
            tracing::info!(outboxes = sealed.len(), "found outboxes not yet shipped; shipping them first");
        }
        let schema_ready = match clickhouse.ensure_schema() {
            Ok(()) => true,
            Err(error) => {
                let error: &dyn std::error::Error = &error;
                tracing::warn!(error, "ClickHouse is not ready yet; taking puts meanwhile, and retrying");
                false
            }
        };
        let shared = Arc::new(Shared {
            clickhouse,
            dir,
            options,
            outboxes: RwLock::new(Outboxes { sealed, active }),
            versions: parking_lot::Mutex::new(versions),
            next_number: AtomicU64::new(last_number + 2),
            dirty: AtomicBool::new(false),
            shipping: parking_lot::Mutex::new(shipper::ShipState::new(schema_ready)),
            ship_failing: AtomicBool::new(false),
            ship_inline: ship_interval.is_zero(),
            counters: Counters::default(),
        });
        // Inline shipping still needs the thread, to retry what failed.
        let interval = if ship_interval.is_zero() { DEFAULT_SHIP_INTERVAL } else { ship_interval };
        let shipper = shipper::Handle::start(Arc::clone(&shared), interval);
        Ok(FrontEnd { shared, shipper: parking_lot::Mutex::new(Some(shipper)) })
    }

    /// The ClickHouse database the front end ships to.
    pub fn clickhouse(&self) -> &ClickHouse {
        &self.shared.clickhouse
    }
}

impl Shared {
    /// Seals the active outbox and opens a new one, when the active one
    /// took puts and every sealed one was shipped (while ClickHouse is down
    /// the active outbox grows instead of leaving a trail of small ones).
    /// Returns whether it sealed one.
    fn rotate(&self) -> eardrum_storage::Result<bool> {
        let mut outboxes = self.outboxes.write();
        if !outboxes.sealed.is_empty() || !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        // Stagers hold the lock while staging: every batch staged in the
        // old outbox is committed here, before anyone can ship it.
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        let fresh =
            outboxes.active.store.commit().and_then(|()| Outbox::create(&self.dir, number, &self.options));
        let fresh = fresh.inspect_err(|_| self.dirty.store(true, Ordering::Release))?;
        let retired = std::mem::replace(&mut outboxes.active, fresh);
        outboxes.sealed.push(retired.clone());
        drop(outboxes);
        // Sealing syncs and renames, outside the lock: puts go on into the
        // fresh outbox, reads see the retired one's points meanwhile, and
        // only the shipper, which called this, ships.
        self.seal(&retired)?;
        Ok(true)
    }

    /// Seals `outbox`, an unsealed one in the sealed list, in place.
    fn seal(&self, outbox: &Outbox) -> eardrum_storage::Result<()> {
        let mut versions = self.versions.lock();
        let sealed = outbox.seal(versions.next())?;
        versions.floor = sealed.version + sealed.key_count();
        drop(versions);
        let mut outboxes = self.outboxes.write();
        if let Some(slot) = outboxes.sealed.iter_mut().find(|o| o.dir == outbox.dir) {
            *slot = sealed;
        }
        Ok(())
    }

    /// The outboxes, sealed ones first, for reading.
    fn snapshot(&self) -> Vec<Outbox> {
        let outboxes = self.outboxes.read();
        outboxes.sealed.iter().chain([&outboxes.active]).cloned().collect()
    }
}

impl Backend for FrontEnd {
    fn stage(&self, samples: &[Sample<'_>]) -> Ticket {
        let outboxes = self.shared.outboxes.read();
        let store = &outboxes.active.store;
        let ticket = store.stage(samples).with_state(Arc::clone(store) as Arc<dyn Any + Send + Sync>);
        self.shared.dirty.store(true, Ordering::Release);
        ticket
    }

    fn commit(&self) -> eardrum_storage::Result<()> {
        let active = Arc::clone(&self.shared.outboxes.read().active.store);
        active.commit()?;
        if self.shared.ship_inline && !self.shared.ship_failing.load(Ordering::Acquire) {
            // A failure is the thread's to retry: the puts are in the log.
            let _ = self.shared.ship_round();
        }
        Ok(())
    }

    fn outcome(&self, ticket: &Ticket) -> Outcome {
        // The outbox that staged the batch, kept by the ticket: it may have
        // been sealed (or shipped and dropped here) since.
        ticket.state::<Store>().map_or(Outcome::Failed, |store| store.outcome(ticket))
    }

    fn commits_wait(&self) -> bool {
        self.shared.options.sync == SyncMode::Always || self.shared.ship_inline
    }

    fn reads_wait(&self) -> bool {
        true
    }

    fn scan_some(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, f64),
    ) -> eardrum_storage::Result<()> {
        let outboxes = self.shared.snapshot();
        let read = reads::Reader { clickhouse: &self.shared.clickhouse, outboxes: &outboxes };
        match keys {
            Keys::One(key) => read.one(key, cursor, limit, visit),
            Keys::All => read.all(cursor, limit, visit),
        }
        .map_err(remote)
    }

    fn keys_from(
        &self,
        from: usize,
        limit: usize,
        visit: &mut dyn FnMut(u32, &str),
    ) -> eardrum_storage::Result<usize> {
        let outboxes = self.shared.snapshot();
        let read = reads::Reader { clickhouse: &self.shared.clickhouse, outboxes: &outboxes };
        let keys = read.every_key().map_err(remote)?;
        for (position, key) in keys.iter().enumerate().skip(from).take(limit) {
            visit(position as u32, key);
        }
        Ok(keys.len())
    }

    fn key_positions_stable(&self) -> bool {
        false
    }

    fn stats(&self) -> Stats {
        let mut total = Stats::default();
        let outboxes = self.shared.snapshot();
        let counters = &self.shared.counters;
        let mut shipping = ShippingStats::default();
        shipping.points_shipped = counters.points_shipped.load(Ordering::Relaxed);
        shipping.inserts = counters.inserts.load(Ordering::Relaxed);
        shipping.failed_attempts = counters.failed_attempts.load(Ordering::Relaxed);
        shipping.caught_up_unix_ms = counters.caught_up_unix_ms.load(Ordering::Relaxed);
        shipping.lag_ms = unix_millis().saturating_sub(shipping.caught_up_unix_ms);
        shipping.outboxes_waiting = outboxes.len().saturating_sub(1) as u64;
        total.shipping = Some(shipping);
        for outbox in outboxes {
            let stats = outbox.store.stats();
            total.series += stats.series;
            total.points += stats.points;
            total.memory_bytes += stats.memory_bytes;
            // A sealed outbox's store still names the folder it had before
            // sealing renamed it: measure the folder where it is now.
            let (blocks, log) = match outbox.is_sealed() {
                true => (outbox.disk_bytes("blocks"), outbox.disk_bytes("wal")),
                false => (stats.block_bytes, stats.log_bytes),
            };
            total.block_bytes += blocks;
            total.log_bytes += log;
            total.log_bytes_written += stats.log_bytes_written;
            total.records_replayed += stats.records_replayed;
            total.checkpoints += stats.checkpoints;
            total.memory_budget_bytes += stats.memory_budget_bytes;
            total.windows_on_disk += stats.windows_on_disk;
            total.cache_bytes += stats.cache_bytes;
            total.cache_hits += stats.cache_hits;
            total.cache_misses += stats.cache_misses;
        }
        total
    }

    fn describe(&self) -> String {
        format!(
            "ClickHouse {}, local log in {}",
            self.shared.clickhouse.describe(),
            self.shared.dir.display()
        )
    }

    fn close(&self) -> eardrum_storage::Result<()> {
        if let Some(shipper) = self.shipper.lock().take() {
            shipper.stop();
        }
        let outboxes = self.shared.outboxes.read();
        for outbox in outboxes.sealed.iter().chain([&outboxes.active]) {
            Backend::close(&*outbox.store)?;
        }
        Ok(())
    }
}

impl Drop for FrontEnd {
    fn drop(&mut self) {
        if let Some(shipper) = self.shipper.get_mut().take() {
            shipper.stop();
        }
    }
}

/// A ClickHouse failure as the storage boundary reports it; a local
/// outbox's failure as it is.
fn remote(error: crate::Error) -> eardrum_storage::Error {
    match error {
        crate::Error::Outbox(local) => local,
        error => eardrum_storage::Error::Remote { message: error.to_string(), source: Box::new(error) },
    }
}

/// The versions outboxes are sealed with.
#[derive(Debug)]
struct SealVersions {
    clock: Version,
    /// Above every first-seen time of the outboxes sealed so far (a
    /// version plus a key's place in its outbox).
    floor: u64,
}

impl SealVersions {
    /// A version for sealing now: the time, and above the floor, so that
    /// an outbox's keys come after every earlier outbox's in `get *`.
    fn next(&mut self) -> u64 {
        self.clock.next(unix_micros().max((self.floor >> 12) + 1))
    }
}

/// This front end's number in the versions it writes (see [`Version`]):
/// chosen at random on first start and kept in the folder, so that two
/// front ends writing one point in the same microsecond still differ.
fn node_number(dir: &Path) -> u16 {
    let path = dir.join("node-number");
    if let Some(number) = std::fs::read_to_string(&path).ok().and_then(|text| text.trim().parse().ok()) {
        return number;
    }
    let seed = unix_micros() ^ u64::from(std::process::id()).rotate_left(32);
    let number = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as u16;
    if let Err(error) = std::fs::write(&path, format!("{number}\n")) {
        tracing::warn!(%error, path = %path.display(), "could not keep the front end's number");
    }
    number
}
