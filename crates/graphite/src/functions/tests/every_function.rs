//! The functions the family tests above do not show, each on the same
//! small series: a.b.c `[1, -2, None, 4]`, a.x.c `[10, 20, 30, None]` and
//! n.count `[5, 7, 3, 10]`, every 10 s from 1000, over 990..1030.

use super::*;

/// Each case: a target, the names it gives, and the values of its first
/// series (`None` for NaN).
type Case<'a> = (&'a str, &'a [&'a str], &'a [Option<f64>]);

fn check(cases: &[Case<'_>]) {
    for &(target, expected_names, expected_values) in cases {
        let list = eval(target);
        assert_eq!(names(&list), expected_names, "{target}");
        let first = list.first().map(values).unwrap_or_default();
        assert_eq!(first.len(), expected_values.len(), "{target}: {first:?}");
        for (value, expected) in first.iter().zip(expected_values) {
            let close = match (value, expected) {
                (Some(value), Some(expected)) => (value - expected).abs() < 1e-9,
                (None, None) => true,
                _ => false,
            };
            assert!(close, "{target}: {first:?} against {expected_values:?}");
        }
    }
}

#[test]
fn the_rest_of_the_combining_functions() {
    check(&[
        ("averageSeries(a.*.c)", &["averageSeries(a.*.c)"], &[Some(5.5), Some(9.0), Some(30.0), Some(4.0)]),
        ("avg(a.*.c)", &["averageSeries(a.*.c)"], &[Some(5.5), Some(9.0), Some(30.0), Some(4.0)]),
        ("sum(a.*.c)", &["sumSeries(a.*.c)"], &[Some(11.0), Some(18.0), Some(30.0), Some(4.0)]),
        ("maxSeries(a.*.c)", &["maxSeries(a.*.c)"], &[Some(10.0), Some(20.0), Some(30.0), Some(4.0)]),
        ("minSeries(a.*.c)", &["minSeries(a.*.c)"], &[Some(1.0), Some(-2.0), Some(30.0), Some(4.0)]),
        ("rangeOfSeries(a.*.c)", &["rangeOfSeries(a.*.c)"], &[Some(9.0), Some(22.0), Some(0.0), Some(0.0)]),
        // The population's standard deviation, as graphite-web's.
        ("stddevSeries(a.*.c)", &["stddevSeries(a.*.c)"], &[Some(4.5), Some(11.0), Some(0.0), Some(0.0)]),
        ("aggregate(a.*.c,\"sum\")", &["sumSeries(a.*.c)"], &[Some(11.0), Some(18.0), Some(30.0), Some(4.0)]),
        (
            "aggregateWithWildcards(a.*.c,\"max\",1)",
            &["a.c"],
            &[Some(10.0), Some(20.0), Some(30.0), Some(4.0)],
        ),
        ("sumSeriesWithWildcards(a.*.c,1)", &["a.c"], &[Some(11.0), Some(18.0), Some(30.0), Some(4.0)]),
        ("averageSeriesWithWildcards(a.*.c,1)", &["a.c"], &[Some(5.5), Some(9.0), Some(30.0), Some(4.0)]),
        ("multiplySeriesWithWildcards(a.*.c,1)", &["a.c"], &[Some(10.0), Some(-40.0), None, None]),
        ("group(a.b.c,n.count)", &["a.b.c", "n.count"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        // The nearest rank: of [1, 10] the second, of [30] the one.
        (
            "percentileOfSeries(a.*.c,50)",
            &["percentileOfSeries(a.*.c,50)"],
            &[Some(10.0), Some(20.0), Some(30.0), Some(4.0)],
        ),
        (
            "diffSeriesLists(a.*.c,a.*.c)",
            &["diffSeries(a.b.c,a.b.c)", "diffSeries(a.x.c,a.x.c)"],
            &[Some(0.0), Some(0.0), None, Some(0.0)],
        ),
        (
            "multiplySeriesLists(a.*.c,a.*.c)",
            &["multiplySeries(a.b.c,a.b.c)", "multiplySeries(a.x.c,a.x.c)"],
            &[Some(1.0), Some(4.0), None, Some(16.0)],
        ),
        (
            "aggregateSeriesLists(a.*.c,a.*.c,\"max\")",
            &["maxSeries(a.b.c,a.b.c)", "maxSeries(a.x.c,a.x.c)"],
            &[Some(1.0), Some(-2.0), None, Some(4.0)],
        ),
    ]);
}

#[test]
fn the_rest_of_the_transforming_functions() {
    let (e, ln) = (std::f64::consts::E, f64::ln);
    check(&[
        ("add(a.b.c,1)", &["add(a.b.c,1)"], &[Some(2.0), Some(-1.0), None, Some(5.0)]),
        (
            "exp(n.count)",
            &["exp(n.count)"],
            &[Some(e.powi(5)), Some(e.powi(7)), Some(e.powi(3)), Some(e.powi(10))],
        ),
        ("log(a.x.c)", &["log(a.x.c, 10)"], &[Some(1.0), Some(20f64.log10()), Some(30f64.log10()), None]),
        (
            "logit(scale(a.x.c,0.02))",
            &["logit(scale(a.x.c,0.02))"],
            &[Some(ln(0.2 / 0.8)), Some(ln(0.4 / 0.6)), Some(ln(0.6 / 0.4)), None],
        ),
        (
            "sigmoid(a.b.c)",
            &["sigmoid(a.b.c)"],
            &[
                Some(1.0 / (1.0 + (-1f64).exp())),
                Some(1.0 / (1.0 + 2f64.exp())),
                None,
                Some(1.0 / (1.0 + (-4f64).exp())),
            ],
        ),
        (
            "round(scale(a.x.c,0.333),1)",
            &["round(scale(a.x.c,0.333),1)"],
            &[Some(3.3), Some(6.7), Some(10.0), None],
        ),
        // Buckets at multiples of 20 s: 1000 and 1020.
        ("summarize(n.count,\"20s\")", &["summarize(n.count, \"20s\", \"sum\")"], &[Some(12.0), Some(13.0)]),
        (
            "summarize(n.count,\"20s\",\"max\")",
            &["summarize(n.count, \"20s\", \"max\")"],
            &[Some(7.0), Some(10.0)],
        ),
        // The test's series read the same over any range, so the window
        // before the range is the first two slots, and each value
        // aggregates the two before it: [7, 3], then [3, 10]. An even
        // median is the mean of the middle two, as graphite-web's.
        ("movingMedian(n.count,2)", &["movingMedian(n.count,2)"], &[Some(5.0), Some(6.5)]),
        ("movingMin(n.count,2)", &["movingMin(n.count,2)"], &[Some(3.0), Some(3.0)]),
    ]);
    let smoothed = &eval("exponentialMovingAverage(n.count,2)")[0];
    assert_eq!(smoothed.name, "exponentialMovingAverage(n.count,2)");
    assert_eq!(smoothed.tags["exponentialMovingAverage"], "2");
}

#[test]
fn the_rest_of_the_filters() {
    check(&[
        ("averageAbove(a.*.c,5)", &["a.x.c"], &[Some(10.0), Some(20.0), Some(30.0), None]),
        // Averages [1, 20]: both bounds are the 50th percentile, 20, and no
        // average lies strictly between them.
        (
            "averageOutsidePercentile(a.*.c,50)",
            &["a.b.c", "a.x.c"],
            &[Some(1.0), Some(-2.0), None, Some(4.0)],
        ),
        (
            "averageOutsidePercentile(a.*.c,10)",
            &["a.b.c", "a.x.c"],
            &[Some(1.0), Some(-2.0), None, Some(4.0)],
        ),
        ("currentBelow(a.*.c,10)", &["a.b.c"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        ("highestMax(a.*.c,1)", &["a.x.c"], &[Some(10.0), Some(20.0), Some(30.0), None]),
        ("lowestAverage(a.*.c,1)", &["a.b.c"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        ("lowestCurrent(a.*.c,1)", &["a.b.c"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        ("maximumBelow(a.*.c,5)", &["a.b.c"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        ("minimumAbove(a.*.c,5)", &["a.x.c"], &[Some(10.0), Some(20.0), Some(30.0), None]),
        ("sortByTotal(a.*.c)", &["a.x.c", "a.b.c"], &[Some(10.0), Some(20.0), Some(30.0), None]),
        ("removeBetweenPercentile(n.count,50)", &["n.count"], &[Some(5.0), Some(7.0), Some(3.0), Some(10.0)]),
        // The 50th percentile of [3, 5, 7, 10] by nearest rank is 7.
        (
            "removeAbovePercentile(n.count,50)",
            &["removeAbovePercentile(n.count, 50)"],
            &[Some(5.0), Some(7.0), Some(3.0), None],
        ),
        (
            "removeBelowPercentile(n.count,50)",
            &["removeBelowPercentile(n.count, 50)"],
            &[None, Some(7.0), None, Some(10.0)],
        ),
    ]);
}

#[test]
fn the_rest_of_the_names_and_presentation() {
    let b = &[Some(1.0), Some(-2.0), None, Some(4.0)];
    check(&[
        ("alias(a.b.c,\"one\")", &["one"], b),
        ("aliasByNode(a.*.c,1)", &["b", "x"], b),
        ("aliasByNode(a.*.c,-1,0)", &["c.a", "c.a"], b),
        ("aliasByTags(a.*.c,1)", &["b", "x"], b),
        (
            "legendValue(n.count,\"avg\",\"last\")",
            &["n.count (avg: 6.25) (last: 10.0)"],
            &[Some(5.0), Some(7.0), Some(3.0), Some(10.0)],
        ),
        ("lower(upper(a.b.c))", &["a.b.c"], b),
        ("substr(a.b.c,1)", &["b.c"], b),
        ("substr(a.b.c,1,2)", &["b"], b),
        ("alpha(a.b.c,0.5)", &["a.b.c"], b),
        ("lineWidth(a.b.c,2)", &["a.b.c"], b),
        ("secondYAxis(a.b.c)", &["secondYAxis(a.b.c)"], b),
        ("drawAsInfinite(a.b.c)", &["drawAsInfinite(a.b.c)"], b),
        ("consolidateBy(a.b.c,\"max\")", &["consolidateBy(a.b.c,\"max\")"], b),
        ("cumulative(a.b.c)", &["consolidateBy(a.b.c,\"sum\")"], b),
        ("fallbackSeries(no.such,a.b.c)", &["a.b.c"], b),
        ("fallbackSeries(a.b.c,n.count)", &["a.b.c"], b),
    ]);
    assert_eq!(eval("consolidateBy(a.b.c,\"max\")")[0].consolidate_by, Aggregation::Max);
    assert_eq!(eval("alpha(a.b.c,0.5)")[0].tags.get("alpha"), None, "presentation only");
}

#[test]
fn the_rest_of_the_made_series() {
    // constantLine draws three points over the range, named by the value
    // as Python prints the float it takes.
    check(&[
        ("constantLine(5)", &["5.0"], &[Some(5.0); 3]),
        ("threshold(5,\"limit\")", &["limit"], &[Some(5.0); 3]),
        // One slot a minute from 990 through 1030: only 990.
        ("identity(\"id\")", &["id"], &[Some(990.0)]),
        ("time(\"t\")", &["t"], &[Some(990.0)]),
        ("timeFunction(\"t\",20)", &["t"], &[Some(990.0), Some(1010.0)]),
        ("sin(\"s\",2)", &["s"], &[Some(990f64.sin() * 2.0)]),
        ("sinFunction(\"s\",1,20)", &["s"], &[Some(990f64.sin()), Some(1010f64.sin())]),
    ]);
}

#[test]
fn tagged_series_through_the_selector() {
    let mut fetch = |selector: Selector<'_>, _: i64, _: i64| -> Result<Vec<Series>, String> {
        let Selector::Tags { raw, expressions } = selector else {
            return Ok(Vec::new());
        };
        assert_eq!(expressions, ["name=cpu"]);
        Ok(vec![
            Series::new("cpu;dc=east;host=a", raw, 1000, 10, vec![1.0, 2.0]),
            Series::new("cpu;dc=east;host=b", raw, 1000, 10, vec![3.0, 4.0]),
            Series::new("cpu;dc=west;host=c", raw, 1000, 10, vec![5.0, NAN]),
        ])
    };
    let mut cx = Context::new(990, 1010, &mut fetch);
    let mut run = |target: &str| evaluate(&Expr::parse(target).unwrap(), &mut cx).unwrap();
    let found = run("seriesByTag('name=cpu')");
    assert_eq!(names(&found), ["cpu;dc=east;host=a", "cpu;dc=east;host=b", "cpu;dc=west;host=c"]);
    assert_eq!(found[0].tags["dc"], "east");
    let grouped = run("groupByTags(seriesByTag('name=cpu'),\"sum\",\"dc\")");
    assert_eq!(names(&grouped), ["cpu;dc=east", "cpu;dc=west"]);
    assert_eq!(values(&grouped[0]), [Some(4.0), Some(6.0)]);
    assert_eq!(
        names(&run("aliasByTags(seriesByTag('name=cpu'),\"host\",\"dc\")")),
        ["a.east", "b.east", "c.west"]
    );
}

#[test]
fn events_are_refused_with_the_reason() {
    assert!(eval_error("events(\"deploy\")").contains("event database, which eardrum does not keep"));
}

#[test]
fn templates_fill_their_patterns() {
    check(&[
        ("template(a.$x.c, x=\"b\")", &["a.b.c"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        (
            "template(sumSeries(a.$1.c),\"*\")",
            &["sumSeries(a.*.c)"],
            &[Some(11.0), Some(18.0), Some(30.0), Some(4.0)],
        ),
        // A pattern that is only `$f` becomes the value; a number-like
        // string is read as a number.
        ("template(scale(a.b.c,$f),f=2)", &["scale(a.b.c,2)"], &[Some(2.0), Some(-4.0), None, Some(8.0)]),
        ("template(scale(a.b.c,$f),f=\"2\")", &["scale(a.b.c,2)"], &[Some(2.0), Some(-4.0), None, Some(8.0)]),
        // Strings are left alone, and a template inside has its own values.
        ("template(alias(a.$x.c,\"$x\"),x=\"b\")", &["$x"], &[Some(1.0), Some(-2.0), None, Some(4.0)]),
        (
            "template(group(template(a.$x.c,x=\"b\"),n.$x),x=\"count\")",
            &["a.b.c", "n.count"],
            &[Some(1.0), Some(-2.0), None, Some(4.0)],
        ),
    ]);
    let mut fetch = fetch;
    let mut cx = Context::new(990, 1030, &mut fetch);
    cx.template_values = vec![("x".to_owned(), "x".to_owned())];
    let overridden = evaluate(&Expr::parse("template(a.$x.c,x=\"b\")").unwrap(), &mut cx).unwrap();
    assert_eq!(names(&overridden), ["a.x.c"], "the request's template[x] wins");
    let huge = format!("template(a.{},x=\"{}\")", "$x".repeat(1000), "y".repeat(1000));
    assert!(eval_error(&huge).contains("more than 65536"));
    // Many values over a long pattern: each scans it, within a budget.
    let values: Vec<String> = (0..400).map(|at| format!("v{at}=1")).collect();
    let scans = format!("template(a.{}.$z,{})", "x".repeat(50_000), values.join(","));
    assert!(eval_error(&scans).contains("written or scanned pass"));
}
