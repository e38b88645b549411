//! Each function on small series, its values, names and tags as
//! graphite-web 1.1.10 gives them (the server's differential test checks
//! the same against graphite-web itself).

use super::*;

mod every_function;

const NAN: f64 = f64::NAN;

/// The series every test reads: `a.b.c` and `a.x.c` at a 10 s step from
/// 1000, with a gap, and the counter `n.count`.
fn fetch(selector: Selector<'_>, _from: i64, _until: i64) -> Result<Vec<Series>, String> {
    let pattern = selector.text();
    let all = [
        Series::new("a.b.c", "a.*.c", 1000, 10, vec![1.0, -2.0, NAN, 4.0]),
        Series::new("a.x.c", "a.*.c", 1000, 10, vec![10.0, 20.0, 30.0, NAN]),
        Series::new("n.count", "n.count", 1000, 10, vec![5.0, 7.0, 3.0, 10.0]),
    ];
    let matches = |name: &str| match pattern {
        "a.*.c" => name.starts_with("a."),
        pattern => name == pattern,
    };
    Ok(all.into_iter().filter(|series| matches(&series.name)).collect())
}

/// Evaluates `target` over [`fetch`]'s series.
fn eval(target: &str) -> Vec<Series> {
    let mut fetch = fetch;
    let mut cx = Context::new(990, 1030, &mut fetch);
    evaluate(&Expr::parse(target).unwrap(), &mut cx).unwrap_or_else(|error| panic!("{target}: {error}"))
}

/// The error evaluating `target` gives.
fn eval_error(target: &str) -> String {
    let mut fetch = fetch;
    let mut cx = Context::new(990, 1030, &mut fetch);
    evaluate(&Expr::parse(target).unwrap(), &mut cx).err().unwrap_or_else(|| panic!("{target} evaluated"))
}

/// The values, `None` for NaN, for comparing.
fn values(series: &Series) -> Vec<Option<f64>> {
    series.values.iter().map(|&value| (!value.is_nan()).then_some(value)).collect()
}

fn names(list: &[Series]) -> Vec<&str> {
    list.iter().map(|series| series.name.as_str()).collect()
}

#[test]
fn numbers_print_as_python_percent_g() {
    for (value, text) in [
        (2.0, "2"),
        (0.5, "0.5"),
        (-1.25, "-1.25"),
        (1234567.0, "1.23457e+06"),
        (123456.0, "123456"),
        (0.0001, "0.0001"),
        (0.00001234, "1.234e-05"),
        (0.0, "0"),
        (1e100, "1e+100"),
    ] {
        assert_eq!(python_g(value), text, "{value}");
    }
}

#[test]
fn least_common_multiples_of_steps() {
    assert_eq!(combine::lcm(10, 60), Some(60));
    assert_eq!(combine::lcm(10, 15), Some(30));
    assert_eq!(combine::lcm(i64::MAX, i64::MAX - 1), None);
}

#[test]
fn combining_functions() {
    let diff = &eval("diffSeries(a.*.c)")[0];
    assert_eq!(
        (diff.name.as_str(), values(diff)),
        ("diffSeries(a.*.c)", vec![Some(-9.0), Some(-22.0), Some(30.0), Some(4.0)])
    );
    assert_eq!(diff.tags["aggregatedBy"], "diff");
    // A `None` in any series makes the product `None`.
    let product = &eval("multiplySeries(a.*.c)")[0];
    assert_eq!(values(product), [Some(10.0), Some(-40.0), None, None]);
    assert_eq!(names(&eval("multiplySeries(n.count)")), ["n.count"], "one series comes back as it is");
    let count = &eval("countSeries(a.*.c,n.count)")[0];
    assert_eq!((count.name.as_str(), values(count)), ("countSeries(a.*.c,n.count)", vec![Some(3.0); 4]));
    let quotient = &eval("divideSeries(a.*.c,n.count)");
    assert_eq!(names(quotient), ["divideSeries(a.b.c,n.count)", "divideSeries(a.x.c,n.count)"]);
    assert_eq!(values(&quotient[1]), [Some(2.0), Some(20.0 / 7.0), Some(10.0), None]);
}

#[test]
fn transforming_functions() {
    let shifted = &eval("offset(a.b.c,-10)")[0];
    assert_eq!(
        (shifted.name.as_str(), values(shifted)),
        ("offset(a.b.c,-10)", vec![Some(-9.0), Some(-12.0), None, Some(-6.0)])
    );
    assert_eq!(shifted.tags["offset"], "-10.0", "float arguments are tagged as Python prints them");
    let absolute = &eval("absolute(a.b.c)")[0];
    assert_eq!(
        (values(absolute), &absolute.tags["absolute"]),
        (vec![Some(1.0), Some(2.0), None, Some(4.0)], &Value::from("1"))
    );
    assert_eq!(values(&eval("derivative(a.b.c)")[0]), [None, Some(-3.0), None, None]);
    // A counter that went down gives `None` without a maximum...
    assert_eq!(values(&eval("nonNegativeDerivative(n.count)")[0]), [None, Some(2.0), None, Some(7.0)]);
    // ...and wraps at one.
    assert_eq!(
        values(&eval("nonNegativeDerivative(n.count,10)")[0]),
        [None, Some(2.0), Some(7.0), Some(7.0)]
    );
    assert_eq!(values(&eval("perSecond(n.count)")[0]), [None, Some(0.2), None, Some(0.7)]);
    assert_eq!(values(&eval("integral(a.b.c)")[0]), [Some(1.0), Some(-1.0), None, Some(3.0)]);
    assert_eq!(values(&eval("keepLastValue(a.b.c)")[0]), [Some(1.0), Some(-2.0), Some(-2.0), Some(4.0)]);
    assert_eq!(values(&eval("keepLastValue(a.x.c,0)")[0]), [Some(10.0), Some(20.0), Some(30.0), None]);
    let filled = &eval("transformNull(a.b.c)")[0];
    assert_eq!(
        (filled.name.as_str(), &filled.tags["transformNull"]),
        ("transformNull(a.b.c,0)", &Value::from("0"))
    );
    assert_eq!(values(filled), [Some(1.0), Some(-2.0), Some(0.0), Some(4.0)]);
    assert_eq!(eval("transformNull(a.b.c,-1)")[0].tags["transformNull"], "-1.0");
    let below = &eval("removeBelowValue(a.x.c,15)")[0];
    assert_eq!(
        (below.name.as_str(), values(below)),
        ("removeBelowValue(a.x.c, 15)", vec![None, Some(20.0), Some(30.0), None])
    );
    assert_eq!(values(&eval("removeAboveValue(a.x.c,15)")[0]), [Some(10.0), None, None, None]);
}

#[test]
fn grouping_shifting_and_percentiles() {
    let groups = eval("groupByNode(a.*.c,0,\"sum\")");
    assert_eq!(names(&groups), ["a"]);
    assert_eq!(values(&groups[0]), [Some(11.0), Some(18.0), Some(30.0), Some(4.0)]);
    assert_eq!(groups[0].tags["aggregatedBy"], "sum");
    assert_eq!(names(&eval("groupByNodes(a.*.c,\"max\",1,2)")), ["b.c", "x.c"]);
    let shifted = &eval("timeShift(a.b.c,\"1h\")")[0];
    assert_eq!(
        (shifted.name.as_str(), &shifted.tags["timeShift"]),
        ("timeShift(a.b.c, \"-1h\")", &Value::from("-1h"))
    );
    let median = &eval("nPercentile(a.x.c,50)")[0];
    assert_eq!((median.name.as_str(), values(median)), ("nPercentile(a.x.c, 50)", vec![Some(20.0); 4]));
    assert_eq!(median.tags["nPercentile"], "50.0");
    assert_eq!(values(&eval("nPercentile(a.x.c,100)")[0]), [Some(30.0); 4]);
}

#[test]
fn percentages_of_totals() {
    let shares = eval("asPercent(a.*.c)");
    assert_eq!(names(&shares), ["asPercent(a.b.c,sumSeries(a.*.c))", "asPercent(a.x.c,sumSeries(a.*.c))"]);
    assert_eq!(values(&shares[1])[..3], [Some(10.0 / 11.0 * 100.0), Some(20.0 / 18.0 * 100.0), Some(100.0)]);
    assert_eq!(eval("asPercent(a.b.c,4)")[0].name, "asPercent(a.b.c,4)");
    assert_eq!(
        values(&eval("asPercent(a.b.c,n.count)")[0]),
        [Some(20.0), Some(-2.0 / 7.0 * 100.0), None, Some(40.0)]
    );
    // By nodes: both series share level 2, so their sum is their total.
    let grouped = eval("asPercent(a.*.c,None,2)");
    assert_eq!(names(&grouped), ["asPercent(a.b.c,sumSeries(a.*.c))", "asPercent(a.x.c,sumSeries(a.*.c))"]);
    assert_eq!(values(&grouped[0])[3], Some(100.0));
    let unmatched = eval("pct(a.*.c,n.count,1)");
    assert_eq!(
        names(&unmatched),
        ["asPercent(a.b.c,MISSING)", "asPercent(a.x.c,MISSING)", "asPercent(MISSING,n.count)"]
    );
    assert!(unmatched
        .iter()
        .all(|series| series.values.len() == 4 && series.values.iter().all(|v| v.is_nan())));
    assert!(eval_error("asPercent(a.*.c,100,1)").contains("must be None or a series list"));
}

#[test]
fn moving_windows() {
    // The window reads before the range (here the same series again) and
    // drops the slots it used; each value aggregates the window before it.
    let moving = &eval("movingAverage(a.x.c,2)")[0];
    assert_eq!((moving.name.as_str(), moving.start), ("movingAverage(a.x.c,2)", 1020));
    assert_eq!(values(moving), [Some(25.0), Some(30.0)]);
    assert_eq!(moving.tags["movingAverage"], "2");
    let summed = &eval("movingSum(a.b.c,\"20s\")")[0];
    assert_eq!(
        (summed.name.as_str(), values(summed)),
        ("movingSum(a.b.c,\"20s\")", vec![Some(-2.0), Some(4.0)])
    );
    assert_eq!(summed.tags["movingSum"], "20s");
    assert_eq!(eval("movingWindow(a.b.c,1,\"max\")")[0].name, "movingMax(a.b.c,1)");
}

#[test]
fn the_filter_family() {
    assert_eq!(names(&eval("lowest(a.*.c)")), ["a.b.c"]);
    assert_eq!(names(&eval("highest(a.*.c,2,\"min\")")), ["a.x.c", "a.b.c"]);
    assert_eq!(names(&eval("sortBy(a.*.c,\"sum\",true)")), ["a.x.c", "a.b.c"]);
    assert_eq!(names(&eval("sortByMinima(a.*.c)")), ["a.b.c", "a.x.c"]);
    assert_eq!(names(&eval("filterSeries(a.*.c,\"last\",\"<\",10)")), ["a.b.c"]);
    assert_eq!(names(&eval("averageBelow(a.*.c,1)")), ["a.b.c"]);
    assert_eq!(names(&eval("maximumAbove(a.*.c,4)")), ["a.x.c"]);
    assert_eq!(names(&eval("minimumBelow(a.*.c,-1)")), ["a.b.c"]);
    assert_eq!(names(&eval("removeEmptySeries(a.*.c,0.8)")), Vec::<&str>::new());
    assert_eq!(names(&eval("unique(a.*.c,a.b.c)")), ["a.b.c", "a.x.c"]);
    assert_eq!(names(&eval("grep(a.*.c,\"x\")")), ["a.x.c"]);
}

#[test]
fn the_math_family() {
    assert_eq!(values(&eval("pow(a.b.c,2)")[0]), [Some(1.0), Some(4.0), None, Some(16.0)]);
    assert_eq!(eval("pow(a.b.c,2)")[0].name, "pow(a.b.c,2)");
    // A negative number to a fractional power is None, as Python raises.
    assert_eq!(values(&eval("squareRoot(a.b.c)")[0]), [Some(1.0), None, None, Some(2.0)]);
    assert_eq!(values(&eval("invert(a.x.c)")[0])[..2], [Some(0.1), Some(0.05)]);
    assert_eq!(values(&eval("delay(a.x.c,1)")[0]), [None, Some(10.0), Some(20.0), Some(30.0)]);
    assert_eq!(values(&eval("delay(a.x.c,-3)")[0]), [None, None, None, None]);
    assert_eq!(values(&eval("offsetToZero(a.b.c)")[0]), [Some(3.0), Some(0.0), None, Some(6.0)]);
    assert_eq!(values(&eval("scaleToSeconds(n.count,1)")[0]), [Some(0.5), Some(0.7), Some(0.3), Some(1.0)]);
    assert_eq!(values(&eval("isNonNull(a.b.c)")[0]), [Some(1.0), Some(1.0), Some(0.0), Some(1.0)]);
    assert_eq!(values(&eval("changed(n.count)")[0]), [Some(0.0), Some(1.0), Some(1.0), Some(1.0)]);
    assert_eq!(values(&eval("minMax(a.x.c)")[0]), [Some(0.0), Some(0.5), Some(1.0), None]);
    assert_eq!(values(&eval("stacked(a.*.c)")[1]), [Some(11.0), Some(18.0), Some(30.0), None]);
    assert_eq!(names(&eval("stacked(a.*.c)")), ["stacked(a.b.c)", "stacked(a.x.c)"]);
    assert_eq!(names(&eval("dashed(a.b.c)")), ["dashed(a.b.c, 5)"]);
    assert_eq!(names(&eval("color(a.b.c,\"red\")")), ["a.b.c"]);
}

#[test]
fn pairs_bands_and_gaps() {
    let sums = eval("sumSeriesLists(a.*.c,a.*.c)");
    assert_eq!(names(&sums), ["sumSeries(a.b.c,a.b.c)", "sumSeries(a.x.c,a.x.c)"]);
    assert_eq!(values(&sums[0]), [Some(2.0), Some(-4.0), None, Some(8.0)]);
    assert_eq!(
        names(&eval("divideSeriesLists(a.*.c,a.*.c)")),
        ["divideSeries(a.b.c,a.b.c)", "divideSeries(a.x.c,a.x.c)"]
    );
    let weighted = &eval("weightedAverage(a.*.c,a.*.c,1)")[0];
    assert_eq!(weighted.name, "weightedAverage(a.*.c, a.*.c, 1)");
    // (1·1 + 10·10) / 11 at the first slot.
    assert_eq!(values(weighted)[0], Some(101.0 / 11.0));
    assert_eq!(
        values(&eval("integralByInterval(n.count,\"20s\")")[0]),
        [Some(5.0), Some(7.0), Some(10.0), Some(10.0)]
    );
    assert_eq!(values(&eval("interpolate(a.b.c)")[0]), [Some(1.0), Some(-2.0), Some(1.0), Some(4.0)]);
    assert_eq!(values(&eval("interpolate(a.b.c,0)")[0])[2], None);
    assert_eq!(names(&eval("mostDeviant(a.*.c,1)")), ["a.x.c"]);
    assert_eq!(names(&eval("upper(a.b.c)")), ["A.B.C"]);
    assert_eq!(names(&eval("upper(a.b.c,0,-1)")), ["A.b.C"]);
    assert_eq!(names(&eval("pct(a.b.c,2)")), ["asPercent(a.b.c,2)"]);
}

#[test]
fn hits_per_interval() {
    let hits = &eval("hitcount(n.count,\"20s\")")[0];
    assert_eq!((hits.name.as_str(), hits.start, hits.step), ("hitcount(n.count, \"20s\")", 1000, 20));
    // 5·10 + 7·10 in the first 20 s, 3·10 + 10·10 in the next.
    assert_eq!(values(hits), [Some(120.0), Some(130.0)]);
    assert_eq!(hits.tags["hitcount"], "20s");
}

#[test]
fn naming_functions() {
    assert_eq!(names(&eval("aliasByMetric(a.*.c)")), ["c", "c"]);
    assert_eq!(names(&eval("aliasByMetric(scale(a.b.c,2))")), ["c"]);
    assert_eq!(names(&eval(r#"aliasSub(a.*.c,"a\.(\w)\.c","\1-node")"#)), ["b-node", "x-node"]);
}

#[test]
fn choosing_and_ordering_functions() {
    assert_eq!(names(&eval("limit(a.*.c,1)")), ["a.b.c"]);
    assert_eq!(names(&eval(r#"exclude(a.*.c,"x")"#)), ["a.b.c"]);
    assert_eq!(names(&eval("sortByName(a.*.c,reverse=true)")), ["a.x.c", "a.b.c"]);
    assert_eq!(names(&eval("sortByMaxima(a.*.c)")), ["a.x.c", "a.b.c"]);
    assert_eq!(names(&eval("highestAverage(a.*.c,1)")), ["a.x.c"]);
    // The last value that is not `None`.
    assert_eq!(names(&eval("highestCurrent(a.*.c,1)")), ["a.x.c"]);
    assert_eq!(names(&eval("currentAbove(a.*.c,25)")), ["a.x.c"]);
}

#[test]
fn x_files_factor_holds_back_groups_with_too_few_values() {
    // Any value will do by default; with 0.75 a slot needs both series.
    assert_eq!(values(&eval("sumSeries(a.*.c)")[0]), [Some(11.0), Some(18.0), Some(30.0), Some(4.0)]);
    let strict = &eval("sumSeries(xFilesFactor(a.*.c,0.75))")[0];
    assert_eq!(values(strict), [Some(11.0), Some(18.0), None, None]);
    let set = &eval("setXFilesFactor(a.b.c,0.5)")[0];
    assert_eq!((set.x_files_factor, &set.tags["xFilesFactor"]), (Some(0.5), &Value::from("0.5")));
    assert_eq!(values(&eval("aggregate(a.*.c,\"max\",1)")[0]), [Some(10.0), Some(20.0), None, None]);
    // A window of two needs both of its values at 1.
    let moving = &eval("movingSum(a.b.c,2,1)")[0];
    assert!(values(moving).iter().all(Option::is_none), "{:?}", values(moving));
}

#[test]
fn lines_slices_stacks_and_pairs() {
    let lines = eval("aggregateLine(a.*.c,\"max\")");
    assert_eq!(names(&lines), ["aggregateLine(a.b.c, 4)", "aggregateLine(a.x.c, 30)"]);
    assert_eq!((lines[0].start, lines[0].values.len()), (990, 3), "drawn as constantLine");
    let kept = &eval("aggregateLine(a.b.c,\"sum\",true)")[0];
    assert_eq!(values(kept), [Some(3.0); 4]);
    let powered = &eval("powSeries(a.b.c,n.count)")[0];
    assert_eq!(powered.name, "powSeries(a.b.c,n.count)");
    assert_eq!(values(powered), [Some(1.0), Some(-128.0), None, Some(4f64.powi(10))]);
    let area = eval("areaBetween(a.*.c)");
    assert_eq!(names(&area), ["areaBetween(a.*.c)", "areaBetween(a.*.c)"]);
    assert_eq!(area[0].tags, area[1].tags);
    assert!(eval_error("areaBetween(n.count)").contains("exactly 2 series"));
    let sliced = &eval("timeSlice(a.x.c,\"1000\",\"1010\")")[0];
    assert_eq!(sliced.name, "timeSlice(a.x.c, 1000, 1010)");
    // Slot times count from the range's start (990), as graphite-web's do.
    assert_eq!(values(sliced), [None, Some(20.0), Some(30.0), None]);
    let stacked = eval("timeStack(n.count,\"10s\",0,2)");
    assert_eq!(names(&stacked), ["timeShift(n.count, -10s, 0)", "timeShift(n.count, -10s, 1)"]);
    assert_eq!(stacked[1].tags["timeShift"], "1");
    let line = &eval("verticalLine(\"1000\",\"deploy\")")[0];
    assert_eq!((line.name.as_str(), line.start, values(line)), ("deploy", 1000, vec![Some(1.0)]));
    assert!(eval_error("verticalLine(\"2000\")").contains("after end of range"));
}

#[test]
fn intervals_and_windows() {
    let smart = &eval("smartSummarize(n.count,\"20s\",\"sum\")")[0];
    assert_eq!(smart.name, "smartSummarize(n.count, \"20s\", \"sum\")");
    assert_eq!((smart.start, smart.step, values(smart)), (1000, 20, vec![Some(12.0), Some(13.0)]));
    let deviation = &eval("stdev(n.count,2)")[0];
    assert_eq!(deviation.name, "stdev(n.count,2)");
    assert_eq!(values(deviation), [Some(0.0), Some(1.0), Some(2.0), Some(3.5)]);
    let tolerant = &eval("stdev(a.b.c,2,1)")[0];
    assert_eq!(values(tolerant), [None, Some(1.5), None, None], "a window needs both values at 1");
    let untouched = &eval("compressPeriodicGaps(n.count)")[0];
    assert_eq!((untouched.name.as_str(), untouched.step), ("compressPeriodicGaps(n.count)", 10));
}

#[test]
fn targets_that_functions_write() {
    let applied = eval("applyByNode(a.*.c,1,\"sumSeries(%.c,n.count)\",\"%.total\")");
    assert_eq!(names(&applied), ["a.b.total", "a.x.total"]);
    assert_eq!(values(&applied[0]), [Some(6.0), Some(5.0), Some(3.0), Some(14.0)]);
    assert_eq!(applied[1].path_expression, "a.x");
    let aliased = eval("aliasQuery(a.b.c,\"a.b.c\",\"n.count\",\"%d counted\")");
    assert_eq!(names(&aliased), ["10 counted"]);
    let above = eval("useSeriesAbove(a.*.c,25,\"a.x.c\",\"n.count\")");
    assert_eq!(names(&above), ["n.count"]);
    assert!(eval("useSeriesAbove(a.*.c,100,\"c\",\"d\")").is_empty());
    let mut fetch = fetch;
    let mut cx = Context::new(990, 1030, &mut fetch);
    assert_eq!(cx.evaluate_text("a.b.c").map(|list| list.len()), Ok(1));
    cx.nested = MAX_NESTED_TARGETS;
    assert!(cx.evaluate_text("a.b.c").unwrap_err().contains("nest more than"));
    let cacti = eval("cactiStyle(a.*.c)");
    assert_eq!(
        names(&cacti),
        [
            "a.b.c Current:4.00     Max:4.00     Min:-2.00    ",
            "a.x.c Current:30.00    Max:30.00    Min:10.00    "
        ]
    );
    let units = &eval("cactiStyle(n.count,\"si\",\"B\")")[0];
    assert_eq!(units.name, "n.count Current:10.00 B    Max:10.00 B    Min:3.00 B    ");
}

#[test]
fn map_reduce_and_random_walks() {
    // Both series reduce to the name before level 1, one per matcher.
    let reduced = eval("reduceSeries(mapSeries(a.*.c,1),\"sumSeries\",1,\"b\",\"x\")");
    assert_eq!(names(&reduced), ["a.reduce.sumSeries"]);
    assert_eq!(values(&reduced[0]), [Some(11.0), Some(18.0), Some(30.0), Some(4.0)]);
    let divided = eval("reduce(map(a.*.c,0),\"divideSeries\",-2,\"x\",\"b\")");
    assert_eq!(values(&divided[0]), [Some(10.0), Some(-10.0), None, None]);
    assert!(eval_error("reduceSeries(mapSeries(a.*.c,1),\"sumSeries\",1,\"b\",\"y\")").contains("lacks"));
    assert!(eval_error("reduceSeries(a.*.c,\"sumSeries\",1,\"b\")").contains("mapSeries"));
    assert!(eval_error("mapSeries(a.*.c,1)").contains("only reduceSeries"));
    let walk = &eval("randomWalk(\"w\",10)")[0];
    assert_eq!((walk.name.as_str(), walk.start, walk.step, walk.values.len()), ("w", 990, 10, 4));
    assert_eq!(walk.values[0], 0.0);
    assert!(walk.values.windows(2).all(|pair| (-0.5..0.5).contains(&(pair[1] - pair[0]))));
    assert_eq!(values(walk), values(&eval("randomWalkFunction(\"w\",10)")[0]), "one walk per name and range");
}

#[test]
fn forecasts() {
    let close = |series: &Series, expected: &[f64]| {
        assert_eq!(series.values.len(), expected.len(), "{}", series.name);
        for (value, expected) in series.values.iter().zip(expected) {
            assert!((value - expected).abs() < 1e-9, "{}: {value} against {expected}", series.name);
        }
    };
    // The test's fetch gives the same four slots whatever the range: the
    // 20 s bootstrap is the first two of them.
    let forecast = &eval("holtWintersForecast(n.count,\"20s\",\"20s\")")[0];
    assert_eq!((forecast.name.as_str(), forecast.start), ("holtWintersForecast(n.count)", 1020));
    assert_eq!(forecast.tags["holtWintersDeviation"], "1");
    // Worked by hand from graphite-web's formulas (alpha, gamma 0.1, beta 0.0035).
    close(forecast, &[5.2007, 4.98063 + 0.0035 * (4.98063 - 5.2) + 0.9965 * 0.0007 + 0.18]);
    let bands = eval("holtWintersConfidenceBands(n.count,3,\"20s\",\"20s\")");
    assert_eq!(names(&bands), ["holtWintersConfidenceLower(n.count)", "holtWintersConfidenceUpper(n.count)"]);
    assert!(bands[0].values.iter().zip(&bands[1].values).all(|(lower, upper)| lower <= upper));
    let area = eval("holtWintersConfidenceArea(n.count,3,\"20s\",\"20s\")");
    assert_eq!(names(&area), ["holtWintersConfidenceArea(n.count)"; 2]);
    assert!(eval_error("holtWintersConfidenceArea(a.*.c)").contains("exactly 1 series"));
    let aberration = &eval("holtWintersAberration(a.b.c,1,\"20s\",\"20s\")")[0];
    assert_eq!(aberration.name, "holtWintersAberration(a.b.c)");
    assert_eq!(aberration.values[2], 0.0, "a gap is no aberration");
    assert!(eval_error("holtWintersForecast(n.count,\"20s\",\"10s\")").contains("at least two steps"));
    assert!(eval_error("holtWintersForecast(n.count,\"-7d\")").contains("forward in time"));
    // Sums 0+1+2+3, 0+1+4+9, 5+7+3+10 and 0*5+1*7+2*3+3*10 give the line
    // 0.11 a second through 4.6 at 1000.
    let line = &eval("linearRegression(n.count)")[0];
    assert_eq!(line.name, "linearRegression(n.count, 990, 1030)");
    assert_eq!(line.tags["linearRegressions"], "990, 1030");
    close(line, &[4.6, 5.7, 6.8, 7.9]);
    let one = Series::new("one", "one", 0, 10, vec![NAN, 3.0, NAN]);
    assert_eq!(forecast::least_squares(&one), None, "one value makes no line");
}

#[test]
fn bad_arguments_are_errors_that_say_which() {
    let mut fetch = fetch;
    let mut cx = Context::new(990, 1030, &mut fetch);
    for (target, message) in [
        ("limit(a.*.c,-1)", "argument \"n\" must be a whole number"),
        ("exclude(a.*.c,\"(\")", "not a regular expression"),
        ("divideSeries(a.*.c,a.*.c)", "exactly 1 series"),
        ("sortByName(a.*.c,1)", "true or false"),
        ("nPercentile(a.*.c,0)", "a percent above 0"),
        ("timeShift(a.*.c,\"soon\")", "invalid interval"),
        ("groupByNode(a.*.c,0,\"often\")", "unknown aggregation"),
        ("movingAverage(a.*.c,1.5)", "a whole count or a quoted interval"),
    ] {
        let error = evaluate(&Expr::parse(target).unwrap(), &mut cx).unwrap_err();
        assert!(error.contains(message), "{target}: {error}");
    }
}
