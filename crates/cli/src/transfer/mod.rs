//! `eardrum import` and `eardrum export`: bulk loading and dumping of
//! points, in the protocol's own row format or CSV.
//!
//! Import sends pipelined batches and counts a batch stored only once every
//! point in it is answered `ok`. Because the store keeps the last value
//! written for a key and timestamp, importing a file again changes
//! nothing, so an interrupted import is simply run again; to save time it
//! can skip the lines it already stored (`--skip-lines`, which it prints
//! when it stops). Export streams `get` replies row by row into the file,
//! so it holds no more than a buffer whatever the store's size.

mod format;

use crate::args::{ExportArgs, ImportArgs};
use crate::remote::connect;
use anyhow::{bail, Context};
use eardrum_client::Point;
use eardrum_graphite::pattern::Pattern;
use eardrum_protocol::clock::unix_seconds;
use format::{CsvColumns, Format};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Instant;

/// Points per pipelined batch.
const BATCH: usize = 16_384;

/// `eardrum import FILE|-`.
pub(crate) fn import(args: ImportArgs) -> anyhow::Result<()> {
    let format = Format::of(args.format, &args.file);
    let (input, size): (Box<dyn Read>, Option<u64>) = match args.file.as_str() {
        "-" => (Box::new(std::io::stdin().lock()), None),
        path => {
            let file = std::fs::File::open(path).with_context(|| format!("opening {path}"))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        }
    };
    let progress = progress_bar(size, args.quiet);
    let mut reader = BufReader::with_capacity(1 << 20, progress.wrap_read(input));
    let mut client = connect(&args.remote)?;
    let started = Instant::now();

    let mut columns: Option<CsvColumns> = None;
    let mut batch: Vec<(String, f64, i64)> = Vec::with_capacity(BATCH);
    // Lines wholly handled (stored, blank or skipped), and points stored.
    let (mut lines_done, mut stored) = (0u64, 0u64);
    let mut line_number = 0u64;
    let mut line = String::new();
    let mut send = |batch: &mut Vec<(String, f64, i64)>,
                    through_line: u64,
                    lines_done: &mut u64,
                    stored: &mut u64| {
        let sent = client
            .put_many(batch.iter().map(|(key, value, timestamp)| (key, Point::new(*timestamp, *value))));
        sent.with_context(|| format!("storing the points of lines {} to {through_line}", *lines_done + 1))?;
        *stored += batch.len() as u64;
        *lines_done = through_line;
        batch.clear();
        progress.set_message(rate_message(*stored, started));
        anyhow::Ok(())
    };
    let outcome = (|| -> anyhow::Result<()> {
        loop {
            line.clear();
            if reader.read_line(&mut line).context("reading the input")? == 0 {
                break;
            }
            line_number += 1;
            if line_number <= args.skip_lines {
                lines_done = line_number;
                continue;
            }
            if format == Format::Csv && columns.is_none() {
                columns = Some(
                    CsvColumns::from_header(&line)
                        .map_err(|reason| anyhow::anyhow!("line {line_number}: {reason}"))?,
                );
                continue;
            }
            match format::parse_line(&line, format, columns) {
                Ok(Some(point)) => batch.push(point),
                Ok(None) => {}
                Err(reason) => {
                    send(&mut batch, line_number - 1, &mut lines_done, &mut stored)?;
                    bail!("line {line_number}: {reason}: {:?}", line.trim_end());
                }
            }
            if batch.len() == BATCH {
                send(&mut batch, line_number, &mut lines_done, &mut stored)?;
            }
        }
        send(&mut batch, line_number, &mut lines_done, &mut stored)
    })();
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => {
            if !args.quiet {
                eprintln!(
                    "imported {stored} points from {line_number} lines in {seconds:.1} s ({:.0} points/s)",
                    stored as f64 / seconds.max(1e-9)
                );
            }
            Ok(())
        }
        Err(error) => Err(error.context(format!(
            "stopped: the points of the first {lines_done} lines are stored ({stored} this run); \
             to go on from there, run the same import with --skip-lines {lines_done} \
             (running it again from the start is safe too)"
        ))),
    }
}

/// `eardrum export [PATTERN]`.
pub(crate) fn export(args: ExportArgs) -> anyhow::Result<()> {
    let now = unix_seconds();
    let time = |text: &Option<String>, default: i64| match text {
        None => Ok(default),
        Some(text) => eardrum_graphite::time::parse_time(text, now).map_err(|reason| anyhow::anyhow!(reason)),
    };
    let (from, until) = (time(&args.from, i64::MIN)?, time(&args.until, i64::MAX)?);
    if from > until {
        bail!("--from ({from}) is after --until ({until})");
    }
    // Every key by default; a plain key is asked for alone; a pattern needs
    // every key, filtered here.
    let (key, matcher) = match args.pattern.as_deref() {
        None => (None, None),
        Some(key) if !key.contains(['*', '?', '[', '{']) => (Some(key), None),
        Some(pattern) => (None, Some(Pattern::parse(pattern).map_err(anyhow::Error::msg)?)),
    };
    let output: Box<dyn Write> = match &args.output {
        None => Box::new(std::io::stdout().lock()),
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
    };
    let mut output = std::io::BufWriter::with_capacity(1 << 20, output);
    let mut text = String::with_capacity(1 << 16);
    text.push_str(format::header(args.format).unwrap_or_default());
    let mut client = connect(&args.remote)?;
    let (mut written, mut failed) = (0u64, None);
    let visit = |key: &str, point: Point| {
        if failed.is_some()
            || !(from..=until).contains(&point.timestamp)
            || matcher.as_ref().is_some_and(|pattern| !pattern.matches(key))
        {
            return;
        }
        format::write_point(&mut text, args.format, key, point.value, point.timestamp);
        written += 1;
        if text.len() >= 1 << 16 {
            failed = output.write_all(text.as_bytes()).err();
            text.clear();
        }
    };
    match key {
        Some(key) => client.get_each(key, visit),
        None => client.get_all_each(visit),
    }
    .context("reading the points")?;
    if let Some(error) = failed {
        return Err(error).context("writing the export");
    }
    output.write_all(text.as_bytes()).and_then(|()| output.flush()).context("writing the export")?;
    if args.output.is_some() {
        eprintln!("exported {written} points");
    }
    Ok(())
}

fn progress_bar(size: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} (eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar
}

fn rate_message(stored: u64, started: Instant) -> String {
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    format!("{stored} points, {:.0} points/s", stored as f64 / seconds)
}
