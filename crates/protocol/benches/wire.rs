//! Parse and format throughput: the per-line work of every request.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eardrum_protocol::{format_value, next_line, parse_put_line, reply, Request};
use std::hint::black_box;

/// A fleet-shaped pipelined burst: `host<N>.<metric>` keys, 10 s steps,
/// values with one or two decimals.
fn put_burst(lines: usize) -> Vec<u8> {
    let metrics = ["cpu", "mem", "disk", "net.rx"];
    let mut buf = Vec::new();
    for i in 0..lines {
        let key = format!("host{}.{}", i % 100, metrics[i % metrics.len()]);
        let value = (i % 1000) as f64 / 7.0;
        buf.extend_from_slice(format!("put {key} {value:.2} {}\n", 1_700_000_000 + 10 * i).as_bytes());
    }
    buf
}

fn parse(c: &mut Criterion) {
    let burst = put_burst(10_000);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("put_lines", |b| {
        b.iter(|| {
            let mut rest = black_box(&burst[..]);
            let mut puts = 0usize;
            while let Ok(Some((line, used))) = next_line(rest, 64 * 1024) {
                if let Ok(Some(Request::Put(_))) = Request::parse(line) {
                    puts += 1;
                }
                rest = &rest[used..];
            }
            puts
        })
    });
    group.bench_function("put_lines_one_pass", |b| {
        b.iter(|| {
            let mut rest = black_box(&burst[..]);
            let mut puts = 0usize;
            while let Some((_, used)) = parse_put_line(rest, 64 * 1024) {
                puts += 1;
                rest = &rest[used..];
            }
            puts
        })
    });
    group.finish();
}

fn format(c: &mut Criterion) {
    let gauges: Vec<f64> = (0..10_000).map(|i| (i % 1000) as f64 / 100.0).collect();
    let randoms: Vec<f64> =
        (0..10_000u64).map(|i| f64::from_bits(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 2)).collect();
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(10_000));
    for (name, values) in [("gauge_values", &gauges), ("random_doubles", &randoms)] {
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || Vec::with_capacity(256 * 1024),
                |out| values.iter().for_each(|&v| format_value(v, out)),
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("rows", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(512 * 1024),
            |out| {
                for (i, &v) in gauges.iter().enumerate() {
                    reply::write_row(out, "host17.cpu", v, 1_700_000_000 + i as i64);
                }
            },
            BatchSize::SmallInput,
        )
    });
    // What a store that keeps decimals hands over: 23.7 as (237, 1).
    let counters: Vec<i64> = (0..10_000).map(|i| 7_011_361_040 + 5_000 * i).collect();
    let tenths: Vec<i64> = (0..10_000).map(|i| i % 1000).collect();
    for (name, integers) in [("decimal_rows_gauge", &tenths), ("decimal_rows_counter", &counters)] {
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || Vec::with_capacity(512 * 1024),
                |out| {
                    let mut rows = reply::RowWriter::default();
                    for (i, &integer) in integers.iter().enumerate() {
                        rows.write_decimal(
                            out,
                            "host17.cpu.user",
                            (integer, 1),
                            1_700_000_000 + 10 * i as i64,
                        );
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("rows_of_a_series", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(512 * 1024),
            |out| {
                let mut rows = reply::RowWriter::default();
                for (i, &v) in gauges.iter().enumerate() {
                    rows.write(out, "host17.cpu", v, 1_700_000_000 + 10 * i as i64);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, parse, format);
criterion_main!(benches);
