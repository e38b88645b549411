//! eardrum's `/render` against graphite-web 1.1.10's on the same data:
//! the generated series are written as whisper files for graphite-web (run
//! in-process by `graphite_web/reference.py`, in a virtual environment of
//! Python 3.8 under the target folder, installed from PyPI at the versions
//! `graphite_web/requirements.txt` pins) and put through the protocol into
//! eardrum; every request goes to both and the JSON answers are compared:
//! names, tags, timestamps and values (to 1e-9, relative).
//!
//! [`KNOWN_DIFFERENT`] lists the cases that answer differently by design,
//! each with its reason: the test fails when any other case differs (a
//! regression) and when a listed one matches (the list is stale).

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_graphite::schema::{AggregationMethod, StorageSchemas};
use eardrum_server::Config;
use eardrum_storage::{Options, Store, SyncMode};
use eardrum_test_support::server::{connect, http_get, start_server_over};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Seconds between the points of every generated series (carbon's `60s`).
const STEP: i64 = 60;
/// Points per series: six hours.
const POINTS: i64 = 360;
/// Seconds between the points of the `fast.*` series.
const FAST_STEP: i64 = 10;

/// The storage schemas both sides hold the series by: `fast.*` in three
/// archives (a range of the last hour reads the 10 s one, one 5 to 6 hours
/// back the minute one, the whole 7 hours the 10 minutes one), the rest
/// carbon's usual minute.
const STORAGE_SCHEMAS: &str = "\
[fast]
pattern = ^fast\\.
retentions = 10s:3h,1m:410min,10m:7d

[default]
pattern = .*
retentions = 60s:7d
";

/// How the coarser archives roll up.
const STORAGE_AGGREGATION: &str = "\
[counts]
pattern = \\.count$
xFilesFactor = 0
aggregationMethod = sum

[peaks]
pattern = \\.peak$
aggregationMethod = max

[default]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
";

/// Cases that eardrum answers differently from graphite-web by design,
/// each with why (docs/http-api.md lists them too).
const KNOWN_DIFFERENT: &[(&str, &str)] = &[
    ("/metrics/expand?query=hosts.web*.cpu&query=*&groupByExpr=1", TAGGED_FOLDER),
    ("/metrics/index.json?", TAGGED_FOLDER),
    ("verticalLine(\"-6h\")", UNLABELLED),
    ("events(\"deploy\")", NO_EVENTS),
    ("template(movingAverage(hosts.$h.cpu,$n),h=\"web2\",n=\"5\")", TEMPLATE_WINDOW),
];

const TEMPLATE_WINDOW: &str = "graphite-web reads a moving window's extra points by the call's first argument \
     as written, without the template's values (hosts.$h.cpu), and finds no series; eardrum reads the filled one";

const NO_EVENTS: &str = "graphite-web reads events from its event database (here empty, so []); \
     eardrum keeps no events and answers a 400 that says so";

/// Why `verticalLine` without a label differs.
const UNLABELLED: &str =
    "graphite-web names the line None (JSON null); eardrum's names are strings: \"None\"";

/// Why the routes that walk graphite-web's whisper folder differ.
const TAGGED_FOLDER: &str = "graphite-web lists the _tagged folder carbon keeps tagged series in (by hash), \
     eardrum lists tagged series by name in index.json and not in the dotted hierarchy";

/// A generated series: its name and its points (missing ones are gaps).
struct Series {
    name: String,
    points: Vec<(i64, f64)>,
    /// For a tagged series, the name as sent to eardrum's Graphite port
    /// (tags in another order), which stores it under `name`.
    sent_as: Option<String>,
}

/// A deterministic pseudo-random sequence (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The fleet both sides hold: gauges with decimals, counters, negative
/// values, and series with gaps, from `start` on.
fn generate(start: i64) -> Vec<Series> {
    let mut random = Random(18);
    let mut all = Vec::new();
    for host in ["web1", "web2", "web3", "db1"] {
        let mut cpu = Vec::new();
        let mut requests = Vec::new();
        let mut total = random.below(1000) as f64;
        for i in 0..POINTS {
            let timestamp = start + i * STEP;
            // db1 misses every seventh point, and runs below zero at times.
            if host == "db1" && i % 7 == 3 {
                continue;
            }
            let offset = if host == "db1" { -20.0 } else { 0.0 };
            cpu.push((timestamp, offset + random.below(10_000) as f64 / 100.0));
            total += random.below(50) as f64;
            requests.push((timestamp, total));
        }
        all.push(Series::plain(&format!("hosts.{host}.cpu"), cpu));
        all.push(Series::plain(&format!("hosts.{host}.requests"), requests));
    }
    // Mostly gaps: a point now and then.
    let sparse = (0..POINTS).filter(|i| i % 13 == 0).map(|i| (start + i * STEP, i as f64 * 1.5)).collect();
    all.push(Series::plain("sparse.load", sparse));
    // Seven hours every 10 s in three archives: a gauge that misses four
    // points of six for an hour (its minutes then below the xFilesFactor),
    // a count that misses as many (summed regardless), a peak that runs
    // negative.
    let (mut load, mut count, mut peak) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..7 * 3600 / FAST_STEP {
        let timestamp = start + i * FAST_STEP;
        let sparse_hour = (1080..1440).contains(&i) && (1..=4).contains(&(i % 6));
        if !sparse_hour {
            load.push((timestamp, random.below(1000) as f64 / 10.0));
            count.push((timestamp, random.below(20) as f64));
        }
        peak.push((timestamp, random.below(2000) as f64 / 8.0 - 125.0));
    }
    all.push(Series::plain("fast.web1.load", load));
    all.push(Series::plain("fast.web1.count", count));
    all.push(Series::plain("fast.web1.peak", peak));
    // Tagged series, sent with their tags in any order.
    for (name, sent_as) in [
        ("disk.used;dc=east;host=db1", "disk.used;host=db1;dc=east"),
        ("disk.used;dc=east;host=web1", "disk.used;dc=east;host=web1"),
        ("disk.used;dc=west;host=web2", "disk.used;host=web2;dc=west"),
        ("cpu.load;dc=west;host=web2;rack=r1", "cpu.load;rack=r1;host=web2;dc=west"),
        ("cpu.load;dc=east;host=web1", "cpu.load;host=web1;dc=east"),
    ] {
        let points = (0..POINTS)
            .filter(|i| i % 11 != 5)
            .map(|i| (start + i * STEP, random.below(100_000) as f64 / 1000.0 - 20.0))
            .collect();
        all.push(Series { name: name.to_owned(), points, sent_as: Some(sent_as.to_owned()) });
    }
    all
}

impl Series {
    fn plain(name: &str, points: Vec<(i64, f64)>) -> Series {
        Series { name: name.to_owned(), points, sent_as: None }
    }
}

/// Targets over the `fast.*` series, compared over each range of
/// [`requests`] and over the last hour.
fn fast_targets() -> Vec<&'static str> {
    vec![
        "fast.web1.*",
        "sumSeries(fast.web1.*)",
        "sumSeries(fast.web1.load,hosts.web1.cpu)",
        "summarize(fast.web1.count,\"30min\",\"sum\")",
        "movingAverage(fast.web1.load,\"15min\")",
        "perSecond(fast.web1.count)",
    ]
}

/// The targets compared, each over the whole six hours and over an hour
/// in the middle, and thinned with `maxDataPoints`.
fn targets() -> Vec<&'static str> {
    vec![
        // Raw series, globs and their order.
        "hosts.web1.cpu",
        "hosts.*.cpu",
        "hosts.web{1,3}.requests",
        "hosts.web[12].cpu",
        "sparse.load",
        "hosts.db1.cpu",
        // Combining.
        "sumSeries(hosts.*.cpu)",
        "averageSeries(hosts.*.cpu)",
        "maxSeries(hosts.*.cpu)",
        "minSeries(hosts.*.cpu)",
        "sumSeries(hosts.db1.cpu,sparse.load)",
        // Transforming.
        "scale(hosts.web1.cpu,2.5)",
        "offset(hosts.web1.cpu,-10)",
        "absolute(hosts.db1.cpu)",
        "derivative(hosts.web1.requests)",
        "nonNegativeDerivative(hosts.web1.requests)",
        "perSecond(hosts.web1.requests)",
        "integral(hosts.web1.cpu)",
        "movingAverage(hosts.web1.cpu,5)",
        "movingAverage(hosts.db1.cpu,\"10min\")",
        "movingSum(hosts.*.requests,3)",
        "movingMax(sparse.load,\"30min\")",
        "movingMedian(hosts.db1.cpu,4)",
        "movingWindow(hosts.web2.cpu,6,\"min\")",
        "keepLastValue(sparse.load)",
        "transformNull(sparse.load,0)",
        "transformNull(hosts.db1.cpu,-1)",
        "keepLastValue(hosts.db1.cpu,1)",
        "nonNegativeDerivative(hosts.web2.requests,100)",
        "perSecond(hosts.db1.cpu)",
        "timeShift(hosts.web1.cpu,\"1h\")",
        "summarize(hosts.web1.cpu,\"10min\",\"sum\")",
        "summarize(hosts.web1.cpu,\"1h\",\"avg\")",
        "hitcount(hosts.web1.requests,\"10min\")",
        "hitcount(hosts.db1.cpu,\"7min\")",
        "hitcount(perSecond(hosts.web2.requests),\"1h\",true)",
        "hitcount(hosts.web1.cpu,\"45s\")",
        // Naming.
        "alias(hosts.web1.cpu,\"cpu\")",
        "aliasByNode(hosts.*.cpu,1)",
        "aliasByMetric(hosts.*.cpu)",
        "aliasSub(hosts.*.cpu,\"web\",\"w\")",
        r#"aliasSub(hosts.*.cpu,"^hosts\.(\w+)\..*","\1 cpu")"#,
        "aliasByMetric(scale(hosts.web1.cpu,2))",
        // Filtering and sorting.
        "highestAverage(hosts.*.cpu,2)",
        "highestCurrent(hosts.*.cpu,1)",
        "currentAbove(hosts.*.cpu,50)",
        "limit(hosts.*.cpu,2)",
        "exclude(hosts.*.cpu,\"db\")",
        "sortByName(hosts.*.cpu)",
        "sortByMaxima(hosts.*.cpu)",
        "sortByName(hosts.*.requests,natural=true,reverse=true)",
        "highestAverage(hosts.*.requests)",
        "removeAboveValue(hosts.web1.cpu,50)",
        "removeBelowValue(hosts.web1.cpu,50)",
        // Grouping and arithmetic between series.
        "groupByNode(hosts.*.cpu,1,\"sum\")",
        "countSeries(hosts.*.cpu)",
        "diffSeries(hosts.web1.cpu,hosts.web2.cpu)",
        "divideSeries(hosts.web1.cpu,hosts.web2.cpu)",
        "divideSeries(hosts.*.cpu,hosts.db1.cpu)",
        "diffSeries(hosts.*.cpu)",
        "multiplySeries(hosts.db1.cpu,hosts.web1.cpu)",
        "multiplySeries(hosts.web1.cpu,hosts.web2.cpu)",
        "asPercent(hosts.web1.cpu,hosts.web2.cpu)",
        "asPercent(hosts.*.cpu)",
        "asPercent(hosts.*.requests,1000)",
        "asPercent(hosts.web{1,2}.cpu,hosts.web{2,3}.requests)",
        "nPercentile(hosts.web1.cpu,95)",
        // The filter, sort and transform families.
        "sortByMinima(hosts.*.cpu)",
        "sortBy(hosts.*.cpu,\"max\",true)",
        "sortByTotal(hosts.*.requests)",
        "highest(hosts.*.cpu,2,\"max\")",
        "lowest(hosts.*.cpu)",
        "highestMax(hosts.*.cpu,1)",
        "lowestAverage(hosts.*.cpu,2)",
        "lowestCurrent(hosts.*.cpu,1)",
        "filterSeries(hosts.*.cpu,\"max\",\">=\",99)",
        "averageAbove(hosts.*.cpu,40)",
        "averageBelow(hosts.*.cpu,40)",
        "currentBelow(hosts.*.cpu,50)",
        "maximumAbove(hosts.*.cpu,99.5)",
        "maximumBelow(hosts.*.cpu,99.5)",
        "minimumAbove(hosts.*.cpu,0)",
        "minimumBelow(hosts.*.cpu,0)",
        "removeEmptySeries(hosts.*.cpu,0.9)",
        "unique(hosts.*.cpu,hosts.web1.cpu)",
        "grep(hosts.*.cpu,\"web[13]\")",
        "pow(hosts.web1.cpu,2)",
        "squareRoot(hosts.db1.cpu)",
        "invert(hosts.web1.cpu)",
        "delay(hosts.web1.cpu,3)",
        "delay(hosts.db1.cpu,-2)",
        "offsetToZero(hosts.db1.cpu)",
        "scaleToSeconds(hosts.web1.requests,1)",
        "isNonNull(hosts.db1.cpu)",
        "changed(sparse.load)",
        "changed(hosts.db1.cpu)",
        "minMax(hosts.web1.cpu)",
        "cumulative(hosts.web1.cpu)",
        "color(hosts.web1.cpu,\"red\")",
        "lineWidth(hosts.web1.cpu,3)",
        "dashed(hosts.web1.cpu)",
        "secondYAxis(hosts.web1.cpu)",
        "drawAsInfinite(hosts.web1.cpu)",
        "stacked(hosts.*.cpu)",
        "rangeOfSeries(hosts.*.cpu)",
        "stddevSeries(hosts.*.cpu)",
        "aggregate(hosts.*.cpu,\"median\")",
        "aggregate(hosts.*.requests,\"count\")",
        "aggregate(hosts.db1.cpu,\"multiply\")",
        "sumSeriesWithWildcards(hosts.*.cpu,1)",
        "averageSeriesWithWildcards(hosts.*.*,2)",
        "aggregateWithWildcards(hosts.*.*,\"max\",1)",
        "group(hosts.web1.cpu,hosts.db1.cpu)",
        "fallbackSeries(nothing.here,hosts.web1.cpu)",
        "percentileOfSeries(hosts.*.cpu,50)",
        "percentileOfSeries(hosts.*.cpu,90,true)",
        "add(hosts.web1.cpu,1.5)",
        "exp(scale(hosts.web1.cpu,0.01))",
        "log(hosts.web1.cpu)",
        "log(hosts.db1.cpu,2)",
        "logit(scale(hosts.web1.cpu,0.01))",
        "sigmoid(hosts.db1.cpu)",
        "round(hosts.web1.cpu)",
        "round(hosts.web1.cpu,1)",
        "removeAbovePercentile(hosts.web1.cpu,90)",
        "removeBelowPercentile(hosts.db1.cpu,10)",
        "substr(hosts.web1.cpu,1)",
        "substr(scale(hosts.web1.cpu,2),0,2)",
        "threshold(75,\"limit\")",
        "constantLine(100)",
        "constantLine(-2.5)",
        "identity(\"clock\")",
        "time(\"clock\",300)",
        "sin(\"wave\",5,120)",
        "exponentialMovingAverage(hosts.web1.cpu,5)",
        "exponentialMovingAverage(hosts.db1.cpu,\"10min\")",
        "legendValue(hosts.*.cpu,\"avg\",\"max\",\"last\")",
        "legendValue(sparse.*,\"sum\")",
        "pct(hosts.*.cpu)",
        "sumSeriesLists(hosts.*.cpu,hosts.*.requests)",
        "diffSeriesLists(hosts.*.requests,hosts.*.cpu)",
        "multiplySeriesLists(hosts.web*.cpu,hosts.web*.cpu)",
        "aggregateSeriesLists(hosts.*.cpu,hosts.*.requests,\"max\")",
        "divideSeriesLists(hosts.*.requests,hosts.*.cpu)",
        "weightedAverage(hosts.*.cpu,hosts.*.requests,1)",
        "integralByInterval(hosts.web1.cpu,\"1h\")",
        "interpolate(hosts.db1.cpu)",
        "interpolate(sparse.load,5)",
        "mostDeviant(hosts.*.cpu,2)",
        "averageOutsidePercentile(hosts.*.cpu,75)",
        "removeBetweenPercentile(hosts.*.cpu,30)",
        "upper(hosts.web1.cpu)",
        "lower(upper(hosts.web1.cpu),0,-1)",
        "nPercentile(hosts.*.cpu,50)",
        "groupByNode(hosts.*.requests,1)",
        "groupByNodes(hosts.*.*,\"max\",2)",
        "groupByNode(hosts.*.cpu,-1,\"sumSeries\")",
        "timeShift(hosts.*.cpu,\"-30min\")",
        "timeShift(sumSeries(hosts.*.cpu),\"2h\",false)",
        // xFilesFactor, set by function.
        "xFilesFactor(hosts.db1.cpu,0.9)",
        "setXFilesFactor(hosts.db1.cpu,1)",
        "sumSeries(setXFilesFactor(hosts.db1.cpu,1),hosts.web1.cpu)",
        "summarize(xFilesFactor(sparse.load,0.1),\"30min\",\"avg\")",
        "movingAverage(xFilesFactor(hosts.db1.cpu,0.9),8)",
        "movingSum(hosts.db1.cpu,8,0.9)",
        "aggregate(hosts.*.cpu,\"sum\",0.9)",
        "aggregateSeriesLists(hosts.web*.cpu,hosts.web*.requests,\"sum\",1)",
        // Tagged series.
        "seriesByTag('name=disk.used')",
        "seriesByTag('dc=east')",
        "seriesByTag('name=~disk','host!=db1')",
        "seriesByTag(\"name=cpu.load\",\"rack=\")",
        "seriesByTag('name=cpu.load','rack!=~r[0-9]')",
        "seriesByTag('host=~web[12]', 'name=disk.used')",
        "sumSeries(seriesByTag('name=disk.used'))",
        "groupByTags(seriesByTag('name=disk.used'),'sum','dc')",
        "groupByTags(seriesByTag('dc=east'),'average','name')",
        "groupByTags(seriesByTag('dc=~.+'),'maxSeries','dc','host')",
        "groupByTags(seriesByTag('dc=~.+'),'max','host','dc')",
        "aliasByTags(seriesByTag('name=disk.used'),'host','dc')",
        "aliasByNode(seriesByTag('name=cpu.load'),1,'dc')",
        "scale(seriesByTag('host=web2'),2)",
        "averageSeries(seriesByTag('dc=west'),hosts.web1.cpu)",
        "seriesByTag('name=nothing')",
        // Lines, slices, stacks, pairs.
        "aggregateLine(hosts.*.cpu)",
        "aggregateLine(hosts.web1.requests,\"max\")",
        "aggregateLine(hosts.db1.cpu,\"sum\",true)",
        "aggregateLine(seriesByTag('name=nothing'))",
        "timeStack(hosts.web1.cpu,\"1h\",0,3)",
        "timeStack(sumSeries(hosts.*.cpu),\"-30min\",1,2)",
        "powSeries(hosts.web1.cpu,hosts.web2.cpu)",
        "powSeries(hosts.db1.cpu,hosts.web1.cpu)",
        "areaBetween(hosts.web{1,2}.cpu)",
        "areaBetween(hosts.*.cpu)",
        // Intervals and windows.
        "smartSummarize(hosts.web1.cpu,\"25min\",\"avg\")",
        "smartSummarize(hosts.db1.cpu,\"1h\",\"max\",\"hours\")",
        "smartSummarize(hosts.*.requests,\"2h\",\"last\",\"days\")",
        "smartSummarize(fast.web1.count,\"7min\",\"sum\",\"minutes\")",
        "compressPeriodicGaps(sparse.load)",
        "compressPeriodicGaps(hosts.db1.cpu)",
        "stdev(hosts.web1.cpu,5)",
        "stdev(hosts.db1.cpu,10,0.95)",
        "stdev(sparse.load,30)",
        // Targets that functions write, and names in columns.
        "applyByNode(hosts.*.cpu,1,\"sumSeries(%.cpu,%.requests)\")",
        "applyByNode(hosts.*.requests,1,\"scale(%.requests,2)\",\"%.doubled\")",
        "applyByNode(hosts.web*.cpu,0,\"averageSeries(%.*.cpu)\")",
        "aliasQuery(hosts.web1.cpu,\"cpu\",\"requests\",\"%d requests\")",
        "aliasQuery(hosts.*.cpu,\"cpu$\",\"requests\",\"%.1f req\")",
        // graphite-web's max() fails on a gap: transformNull fills them.
        "useSeriesAbove(transformNull(hosts.*.cpu,-1),99,\"cpu\",\"requests\")",
        "useSeriesAbove(transformNull(hosts.*.cpu,-1),99.5,\"hosts.(.*).cpu\",\"hosts.\\1.requests\")",
        "useSeriesAbove(transformNull(hosts.*.cpu,-1),1000,\"cpu\",\"requests\")",
        "cactiStyle(hosts.*.cpu)",
        "cactiStyle(hosts.*.requests,\"si\",\"req\")",
        "cactiStyle(hosts.web1.requests,\"binary\")",
        "cactiStyle(sparse.load,units=\"load\")",
        // asPercent by nodes, None as an argument.
        "asPercent(hosts.*.*,None,1)",
        "asPercent(hosts.*.cpu,hosts.*.requests,1)",
        // graphite-web fails on this one (a MISSING series before any pair)
        // and answers the next.
        "asPercent(hosts.web{1,2}.cpu,hosts.web{2,3}.requests,1)",
        "asPercent(hosts.web{1,2}.cpu,hosts.web{1,3}.requests,1)",
        "pct(hosts.*.requests,None,0)",
        "asPercent(seriesByTag('name=disk.used'),None,\"dc\")",
        "asPercent(hosts.*.cpu,100,1)",
        "movingAverage(hosts.web1.cpu,5,None)",
        "events(\"deploy\")",
        // Templates.
        "template(hosts.$host.cpu,host=\"web1\")",
        "template(sumSeries(hosts.$1.$2),\"web*\",\"requests\")",
        "template(scale(hosts.$h.cpu,$f),h=\"db1\",f=0.5)",
        "template(movingAverage(hosts.$h.cpu,$n),h=\"web2\",n=\"5\")",
        "template(alias(hosts.web1.$m,\"$m\"),m=\"cpu\")",
        // Short forms and the rest of each family.
        "avg(hosts.*.cpu)",
        "sum(hosts.web*.requests,hosts.db1.requests)",
        "multiplySeriesWithWildcards(hosts.*.cpu,1)",
        "movingMin(hosts.db1.cpu,5)",
        "movingMin(fast.web1.peak,\"5min\")",
        "alpha(hosts.web1.cpu,0.5)",
        "consolidateBy(hosts.*.cpu,\"max\")",
        "sinFunction(\"wave\",2,300)",
        "timeFunction(\"clock\",600)",
        // Pipes.
        "hosts.web1.cpu|scale(2)",
        "sumSeries(hosts.*.cpu) | alias('all')",
        "hosts.*.requests|perSecond()|aliasByNode(1)",
        "seriesByTag('name=disk.used')|sumSeries()",
        "group(hosts.web1.cpu|offset(1),hosts.db1.cpu)",
        // Map and reduce; random walks (their values scaled away).
        "reduceSeries(mapSeries(hosts.*.*,1),\"asPercent\",2,\"cpu\",\"requests\")",
        "reduce(map(hosts.*.*,1),\"divideSeries\",2,\"requests\",\"cpu\")",
        "reduceSeries(mapSeries(hosts.*.*,1),\"sumSeries\",-1,\"cpu\",\"requests\")",
        "reduceSeries(mapSeries(hosts.web*.*,1),\"diffSeries\",2,\"requests\",\"cpu\")",
        "reduceSeries(mapSeries(hosts.*.*,1),\"averageSeries\",2,\"cpu\")",
        "mapSeries(hosts.*.cpu,1)",
        "scale(randomWalk(\"the.walk\",30),0)",
        "offset(scale(randomWalkFunction(\"walk\"),0),1)",
        // Forecasts.
        "holtWintersForecast(hosts.web1.cpu)",
        "holtWintersForecast(hosts.db1.cpu,\"2h\",\"30min\")",
        "holtWintersForecast(seriesByTag('name=disk.used'),\"1h\",\"10min\")",
        "holtWintersConfidenceBands(hosts.web*.requests,3,\"1h\",\"20min\")",
        "holtWintersConfidenceBands(fast.web1.load,2,\"30min\",\"15min\")",
        "holtWintersConfidenceArea(hosts.web2.cpu,2,\"2h\",\"30min\")",
        "holtWintersAberration(hosts.*.cpu,1,\"2h\",\"30min\")",
        "holtWintersAberration(sparse.load,1,\"1h\",\"10min\")",
        "holtWintersAberration(fast.web1.peak,0.5,\"20min\",\"10min\")",
        "linearRegression(hosts.web1.requests)",
        "linearRegression(hosts.*.cpu)",
        "linearRegression(sparse.load)",
        "cactiStyle(fast.web1.peak,\"sec\")",
        "legendValue(hosts.*.requests,\"avg\",\"max\",\"si\")",
        "legendValue(hosts.web1.cpu,\"last\",\"binary\")",
        "legendValue(sparse.load,\"si\",\"avg\")",
        "legendValue(fast.web1.peak,\"bogus\",\"min\",\"si\")",
        "legendValue(seriesByTag('name=nothing'),\"avg\",\"si\")",
    ]
}

/// Every request, as `(name, value)` pairs of its query.
fn requests(start: i64) -> Vec<Vec<(String, String)>> {
    let whole = (start.to_string(), (start + POINTS * STEP).to_string());
    let hour = ((start + 2 * 3600).to_string(), (start + 3 * 3600).to_string());
    let recent = ((start + 6 * 3600).to_string(), (start + 7 * 3600).to_string());
    let mut all = Vec::new();
    // The other formats, compared byte for byte.
    for (target, format, extra) in [
        ("hosts.db1.cpu", "csv", None),
        ("sumSeries(hosts.web{1,2}.cpu)", "csv", None),
        ("hosts.db1.cpu", "raw", None),
        ("aliasByNode(hosts.*.cpu,1)", "raw", None),
        ("hosts.web1.cpu", "json", Some(("jsonp", "draw"))),
        ("hosts.web1.cpu", "json", Some(("noNullPoints", "1"))),
        ("sparse.load", "json", Some(("noNullPoints", "1"))),
        // The request's template values override the target's.
        ("template(hosts.$host.cpu,host=\"web1\")", "json", Some(("template[host]", "web2"))),
        ("template(sumSeries(hosts.$1.cpu))", "json", Some(("template[1]", "web*"))),
    ] {
        let mut pairs = vec![
            ("target".to_owned(), target.to_owned()),
            ("from".to_owned(), hour.0.clone()),
            ("until".to_owned(), hour.1.clone()),
            ("format".to_owned(), format.to_owned()),
        ];
        if let Some((name, value)) = extra {
            pairs.push((name.to_owned(), value.to_owned()));
        }
        all.push(pairs);
    }
    // Functions that take times, at times within the generated hours.
    let at = |offset: i64| (start + offset).to_string();
    for target in [
        format!("timeSlice(hosts.web1.cpu,\"{}\",\"{}\")", at(3600), at(7200)),
        format!("timeSlice(hosts.db1.cpu,\"{}\",\"{}\")", at(5 * 3600 + 30), at(9 * 3600)),
        format!("verticalLine(\"{}\",\"deploy\",\"red\")", at(3 * 3600)),
        "verticalLine(\"-6h\")".to_owned(),
        format!("verticalLine(\"{}\",\"late\")", at(9 * 3600)),
        format!("linearRegression(hosts.*.cpu,\"{}\",\"{}\")", at(3600), at(3 * 3600)),
        format!("linearRegression(hosts.web1.requests,\"{}\")", at(5 * 3600)),
        format!("linearRegression(sparse.load,endSourceAt=\"{}\")", at(2 * 3600)),
    ] {
        all.push(vec![
            ("target".to_owned(), target),
            ("from".to_owned(), whole.0.clone()),
            ("until".to_owned(), whole.1.clone()),
            ("format".to_owned(), "json".to_owned()),
        ]);
    }
    // The request's xFilesFactor, over consolidation and aggregation.
    for (target, share) in [
        ("hosts.db1.cpu", "0.9"),
        ("sumSeries(hosts.db1.cpu,sparse.load)", "0.5"),
        ("sumSeries(fast.web1.load,hosts.web1.cpu)", "0.9"),
        ("summarize(sparse.load,\"30min\",\"avg\")", "0.1"),
        ("movingAverage(hosts.db1.cpu,8)", "0.9"),
    ] {
        for max_points in ["50", "1000"] {
            all.push(vec![
                ("target".to_owned(), target.to_owned()),
                ("from".to_owned(), whole.0.clone()),
                ("until".to_owned(), whole.1.clone()),
                ("format".to_owned(), "json".to_owned()),
                ("xFilesFactor".to_owned(), share.to_owned()),
                ("maxDataPoints".to_owned(), max_points.to_owned()),
            ]);
        }
    }
    // The other routes Grafana reads.
    for pairs in [
        vec![("__path", "/metrics/expand"), ("query", "hosts.*")],
        vec![("__path", "/metrics/expand"), ("query", "hosts.*.*"), ("leavesOnly", "1")],
        vec![
            ("__path", "/metrics/expand"),
            ("query", "hosts.web*.cpu"),
            ("query", "*"),
            ("groupByExpr", "1"),
        ],
        vec![("__path", "/metrics/expand"), ("query", "sparse.*"), ("jsonp", "got")],
        vec![("__path", "/metrics/index.json")],
        vec![("__path", "/functions")],
        vec![("__path", "/functions"), ("grouped", "1")],
        vec![("__path", "/functions/"), ("group", "Transform"), ("pretty", "1")],
        vec![("__path", "/functions/keepLastValue")],
        vec![("__path", "/functions/sumSeries"), ("pretty", "1")],
        vec![("__path", "/functions/noSuchFunction")],
        vec![("__path", "/tags/findSeries"), ("expr", "dc=east")],
        vec![("__path", "/tags/findSeries"), ("expr", "name=~disk"), ("expr", "host!=db1")],
        vec![("__path", "/tags/findSeries"), ("expr", "rack=")],
        vec![("__path", "/tags/autoComplete/tags")],
        vec![("__path", "/tags/autoComplete/tags"), ("expr", "name=disk.used")],
        vec![("__path", "/tags/autoComplete/tags"), ("tagPrefix", "h")],
        vec![("__path", "/tags/autoComplete/tags"), ("expr", "dc=west"), ("limit", "2")],
        vec![("__path", "/tags/autoComplete/values"), ("tag", "host")],
        vec![("__path", "/tags/autoComplete/values"), ("tag", "host"), ("expr", "dc=east")],
        vec![("__path", "/tags/autoComplete/values"), ("tag", "dc"), ("valuePrefix", "w")],
        vec![("__path", "/tags/autoComplete/values"), ("tag", "name"), ("limit", "1")],
        vec![("__path", "/tags")],
        vec![("__path", "/tags"), ("filter", "d")],
        vec![("__path", "/tags/host")],
        vec![("__path", "/tags/name"), ("filter", "cpu")],
        vec![("__path", "/tags/nope")],
    ] {
        all.push(pairs.into_iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect());
    }
    let ranges = [(&whole, None), (&hour, None), (&whole, Some("50"))];
    let fast_ranges = [(&whole, None), (&hour, None), (&recent, None), (&recent, Some("50"))];
    let all_targets = targets().into_iter().map(|target| (target, &ranges[..]));
    for (target, ranges) in
        all_targets.chain(fast_targets().into_iter().map(|target| (target, &fast_ranges[..])))
    {
        for &((from, until), max_points) in ranges {
            let mut pairs = vec![
                ("target".to_owned(), target.to_owned()),
                ("from".to_owned(), from.clone()),
                ("until".to_owned(), until.clone()),
                ("format".to_owned(), "json".to_owned()),
            ];
            if let Some(max_points) = max_points {
                pairs.push(("maxDataPoints".to_owned(), max_points.to_owned()));
            }
            all.push(pairs);
        }
    }
    all
}

/// Python 3.8, which graphite-web 1.1.10's Django needs: on the `PATH`, or
/// installed by pyenv.
fn python38() -> PathBuf {
    if Command::new("python3.8").arg("--version").output().is_ok_and(|out| out.status.success()) {
        return PathBuf::from("python3.8");
    }
    let root = Command::new("pyenv").arg("root").output().ok().filter(|out| out.status.success());
    let root = root.map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let installed = root.and_then(|root| {
        let versions = std::fs::read_dir(root.join("versions")).ok()?;
        versions.filter_map(Result::ok).map(|entry| entry.path()).find(|path| {
            path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with("3.8"))
        })
    });
    installed
        .map(|version| version.join("bin/python3.8"))
        .expect("Python 3.8 is missing (graphite-web 1.1.10 needs it): install it, e.g. `pyenv install 3.8`")
}

/// The virtual environment with graphite-web, made once per target folder.
fn reference_python(here: &Path) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("graphite-web-venv");
    let python = venv.join("bin/python");
    let requirements = here.join("requirements.txt");
    let installed = venv.join("installed-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    if std::fs::read_to_string(&installed).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let run = |command: &mut Command, what: &str| {
        let output = command.output().unwrap_or_else(|error| panic!("{what}: {error}"));
        let printed =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{what} failed:\n{printed}");
    };
    run(
        Command::new(python38()).args(["-m", "venv", "--clear"]).arg(&venv),
        "creating the virtual environment",
    );
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        "installing graphite-web from PyPI",
    );
    std::fs::write(&installed, wanted).unwrap();
    python
}

/// graphite-web's answers to `requests` over `series`.
fn graphite_web_answers(
    series: &[Series],
    schemas: &StorageSchemas,
    requests: &[Vec<(String, String)>],
) -> Vec<(u16, String)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphite_web");
    let python = reference_python(&here);
    let spec = json!({
        "series": series.iter().map(|s| {
            let layout = schemas.layout_for(&s.name).unwrap();
            let archives: Vec<(i64, i64)> = layout.archives.iter().map(|a| (a.step, a.points)).collect();
            let method = match layout.method {
                AggregationMethod::Sum => "sum",
                AggregationMethod::Max => "max",
                AggregationMethod::Average => "average",
                other => panic!("{other:?} is not generated"),
            };
            json!({"name": s.name, "archives": archives, "xFilesFactor": layout.x_files_factor,
                   "aggregationMethod": method, "points": s.points})
        }).collect::<Vec<_>>(),
        "requests": requests,
    });
    let mut child = Command::new(python)
        .arg(here.join("reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = spec.to_string();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "reference.py failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    answers
        .iter()
        .map(|answer| {
            (answer["status"].as_u64().unwrap() as u16, answer["body"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Whether two `/render` JSON bodies say the same: the same series, in the
/// same order, with the same names, tags, timestamps and values.
fn same_render(ours: &str, theirs: &str) -> Result<(), String> {
    let parse = |body: &str| serde_json::from_str::<Value>(body).map_err(|error| format!("{error}: {body}"));
    let (ours, theirs) = (parse(ours)?, parse(theirs)?);
    let (Some(ours), Some(theirs)) = (ours.as_array(), theirs.as_array()) else {
        return Err("not a list of series".to_owned());
    };
    if ours.len() != theirs.len() {
        return Err(format!("{} series, graphite-web {}", ours.len(), theirs.len()));
    }
    for (our, their) in ours.iter().zip(theirs) {
        let name = &our["target"];
        if *name != their["target"] {
            return Err(format!("target {name}, graphite-web {}", their["target"]));
        }
        if our["tags"] != their["tags"] {
            return Err(format!("{name}: tags {}, graphite-web {}", our["tags"], their["tags"]));
        }
        let (ours, theirs) = (our["datapoints"].as_array(), their["datapoints"].as_array());
        let (Some(ours), Some(theirs)) = (ours, theirs) else { return Err("no datapoints".to_owned()) };
        if ours.len() != theirs.len() {
            return Err(format!("{name}: {} points, graphite-web {}", ours.len(), theirs.len()));
        }
        for (our, their) in ours.iter().zip(theirs) {
            let same_time = our[1] == their[1];
            let same_value = match (our[0].as_f64(), their[0].as_f64()) {
                (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
                (None, None) => our[0].is_null() && their[0].is_null(),
                _ => false,
            };
            if !same_time || !same_value {
                return Err(format!("{name}: point {our}, graphite-web {their}"));
            }
        }
    }
    Ok(())
}

/// Whether two `/tags` answers say the same but for the `id`s, which in
/// graphite-web are its database's row ids.
fn same_without_ids(ours: &str, theirs: &str) -> Result<(), String> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.shift_remove("id");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let parse = |body: &str| serde_json::from_str::<Value>(body).map_err(|error| format!("{error}: {body}"));
    let (mut ours, mut theirs) = (parse(ours)?, parse(theirs)?);
    strip(&mut ours);
    strip(&mut theirs);
    // As text, so that the order of fields counts too.
    let (ours, theirs) = (ours.to_string(), theirs.to_string());
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("{ours}, graphite-web {theirs}"))
    }
}

/// Whether eardrum's `/functions` answer is graphite-web's for the
/// functions eardrum serves: the same entries in the same order (those
/// eardrum does not serve left out), field for field and in graphite-web's
/// field order, but for the descriptions, which are eardrum's own words.
fn same_functions(ours: &str, theirs: &str) -> Result<(), String> {
    // JSON has no infinity; graphite-web writes 1e9999, as eardrum does.
    let parse = |body: &str| {
        serde_json::from_str::<Value>(&body.replace("1e9999", "\"inf\""))
            .map_err(|error| format!("{error}: {body}"))
    };
    let (ours, mut theirs) = (parse(ours)?, parse(theirs)?);
    // One function, or a map of them, or a map of groups of them.
    fn entries(value: &mut Value) -> Vec<&mut Value> {
        match value.get("params").is_some() {
            true => vec![value],
            false => {
                value.as_object_mut().into_iter().flat_map(|map| map.values_mut()).flat_map(entries).collect()
            }
        }
    }
    let our_entries = entries(&mut ours.clone()).into_iter().map(|entry| entry.clone()).collect::<Vec<_>>();
    let served: Vec<&str> = our_entries.iter().filter_map(|entry| entry["name"].as_str()).collect();
    if served.is_empty() {
        return Err(format!("no functions: {ours}"));
    }
    // graphite-web's answer without the functions eardrum does not serve,
    // with eardrum's descriptions.
    fn keep(value: &mut Value, served: &[&str], ours: &[Value]) {
        if let Some(name) = value.get("params").and(value["name"].as_str()) {
            let description =
                ours.iter().find(|entry| entry["name"] == name).map(|entry| entry["description"].clone());
            value["description"] = description.unwrap_or(Value::Null);
            return;
        }
        if let Some(map) = value.as_object_mut() {
            map.retain(|key, item| item.get("params").is_none() || served.contains(&key.as_str()));
            map.values_mut().for_each(|item| keep(item, served, ours));
            map.retain(|_, item| item.as_object().is_none_or(|inner| !inner.is_empty()));
        }
    }
    keep(&mut theirs, &served, &our_entries);
    // Compared as text, so that the order of fields counts too.
    let (ours, theirs) = (ours.to_string(), theirs.to_string());
    match ours == theirs {
        true => Ok(()),
        false => {
            let at = ours.bytes().zip(theirs.bytes()).take_while(|(a, b)| a == b).count().saturating_sub(80);
            Err(format!(
                "ours …{}…, graphite-web's …{}…",
                &ours[at..(at + 240).min(ours.len())],
                &theirs[at..(at + 240).min(theirs.len())]
            ))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs graphite-web 1.1.10 from PyPI under Python 3.8: `cargo xtask test` runs it"]
async fn render_answers_as_graphite_web_does() {
    let now = eardrum_protocol::clock::unix_seconds();
    // Whole minutes, seven hours back: inside whisper's seven days, and
    // `until` never in the future.
    let start = now - now.rem_euclid(3600) - 7 * 3600;
    let series = generate(start);
    let requests = requests(start);

    let dir = tempfile::tempdir().unwrap();
    let schemas = StorageSchemas::parse(STORAGE_SCHEMAS, Some(STORAGE_AGGREGATION)).unwrap();
    let schemas_held = Arc::new(schemas.clone());
    let config = Config { storage_schemas: Arc::clone(&schemas_held), ..Config::default() };
    // The store keeps the layouts' archives too: the checkpoint below
    // moves all but the newest windows to disk, whose renders read them.
    let options =
        Options { sync: SyncMode::Never, storage_schemas: Some(schemas_held), ..Options::default() };
    let store = Arc::new(Store::open(dir.path(), options).unwrap());
    let server = start_server_over(Arc::clone(&store) as Arc<dyn eardrum_storage::Backend>, config).await;
    let mut protocol = connect(server.addr).await;
    // Tagged series through the Graphite port (which normalises their
    // names), the rest through the protocol.
    let (mut lines, mut graphite_lines) = (String::new(), String::new());
    for one in &series {
        for (timestamp, value) in &one.points {
            match &one.sent_as {
                Some(sent_as) => graphite_lines.push_str(&format!("{sent_as} {value} {timestamp}\n")),
                None => lines.push_str(&format!("put {} {value} {timestamp}\n", one.name)),
            }
        }
    }
    let mut graphite = connect(server.graphite_addr).await;
    graphite.write_all(graphite_lines.as_bytes()).await.unwrap();
    graphite.shutdown().await.unwrap();
    protocol.write_all(lines.as_bytes()).await.unwrap();
    let puts = series.iter().filter(|s| s.sent_as.is_none()).map(|s| s.points.len()).sum::<usize>();
    let mut acknowledged = Vec::new();
    while acknowledged.len() < puts * 4 {
        let mut chunk = vec![0; 64 * 1024];
        let read = tokio::io::AsyncReadExt::read(&mut protocol, &mut chunk).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        acknowledged.extend_from_slice(&chunk[..read]);
    }
    assert_eq!(acknowledged, b"ok\n\n".repeat(puts));
    // The Graphite port answers nothing: wait until every tagged point is
    // there, under its normalised name.
    for one in series.iter().filter(|s| s.sent_as.is_some()) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            protocol.write_all(format!("get {}\n", one.name).as_bytes()).await.unwrap();
            let mut reply = Vec::new();
            while !reply.ends_with(b"\n\n") {
                let mut chunk = vec![0; 64 * 1024];
                let read = tokio::io::AsyncReadExt::read(&mut protocol, &mut chunk).await.unwrap();
                assert!(read > 0, "the server closed the connection");
                reply.extend_from_slice(&chunk[..read]);
            }
            let rows = reply.iter().filter(|&&b| b == b'\n').count() - 2;
            if rows == one.points.len() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: {rows} of {} points",
                one.name,
                one.points.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    let evicted = tokio::task::spawn_blocking(move || {
        store.checkpoint().unwrap();
        store.stats().windows_on_disk
    });
    assert!(evicted.await.unwrap() >= 2, "the older windows are read from their files");

    let theirs = tokio::task::spawn_blocking({
        let requests = requests.clone();
        move || graphite_web_answers(&series, &schemas, &requests)
    })
    .await
    .unwrap();

    let mut regressions = Vec::new();
    let mut still_different = std::collections::BTreeSet::new();
    let mut known = 0;
    let mut graphite_web_failed = Vec::new();
    for (pairs, (their_status, their_body)) in requests.iter().zip(&theirs) {
        let path = pairs.iter().find(|(key, _)| key == "__path").map_or("/render", |(_, path)| path.as_str());
        let parameters = pairs.iter().filter(|(key, _)| key != "__path");
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(parameters).finish();
        let (status_line, our_body) = http_get(server.http_addr, &format!("{path}?{query}")).await;
        let our_status = status_line.split(' ').nth(1).and_then(|code| code.parse::<u16>().ok()).unwrap_or(0);
        // Known differences are listed by target, or by path and query.
        let whole = format!("{path}?{query}");
        let target =
            pairs.iter().find(|(key, _)| key == "target").map_or(whole, |(_, target)| target.clone());
        // JSON compares by meaning (numbers to 1e-9); other formats and
        // JSONP byte for byte.
        let json = pairs.iter().any(|(key, value)| key == "format" && value == "json")
            && !pairs.iter().any(|(key, _)| key == "jsonp");
        let described = path.starts_with("/functions");
        let tagging = path.starts_with("/tags");
        let verdict = match (our_status, *their_status) {
            (200, 200) if described => same_functions(&our_body, their_body),
            (200, 200) if tagging => same_without_ids(&our_body, their_body),
            (404, 404) if described => Ok(()),
            (200, 200) if json => same_render(&our_body, their_body),
            (200, 200) if our_body == *their_body => Ok(()),
            (200, 200) => Err(format!("body {our_body:?}, graphite-web {their_body:?}")),
            // graphite-web refused it: so must eardrum, saying why.
            (400, 400) => Ok(()),
            // graphite-web failed on it (a Python exception, such as
            // comparing None with a number): eardrum answers or refuses,
            // but does not fail.
            (200 | 400, 500) => {
                graphite_web_failed.push(target.clone());
                Ok(())
            }
            (ours, theirs) => Err(format!("status {ours}, graphite-web {theirs}: {our_body}")),
        };
        match verdict {
            Ok(()) => {}
            Err(_) if KNOWN_DIFFERENT.iter().any(|(listed, _)| *listed == target) => {
                still_different.insert(target);
                known += 1;
            }
            Err(difference) => regressions.push(format!("{query}\n    {difference}")),
        }
    }
    let stale: Vec<&str> = KNOWN_DIFFERENT
        .iter()
        .map(|(target, _)| *target)
        .filter(|target| !still_different.contains(*target))
        .collect();
    println!(
        "{} requests: {} the same (graphite-web failing on {} of them), {known} of the known differences",
        requests.len(),
        requests.len() - regressions.len() - known,
        graphite_web_failed.len(),
    );
    println!("graphite-web failed on: {graphite_web_failed:?}");
    assert!(regressions.is_empty(), "answers unlike graphite-web's:\n{}", regressions.join("\n"));
    assert!(stale.is_empty(), "now answered as graphite-web does; take them off KNOWN_DIFFERENT: {stale:?}");
}
