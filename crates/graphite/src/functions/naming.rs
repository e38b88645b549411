//! Functions that rename series.

use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use eardrum_protocol::PyFloat;
use serde_json::Value;

/// `alias(seriesList, "name")`.
pub(super) fn alias(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "newName"])?;
    let name = args.text(1, "newName")?.ok_or_else(|| args.wrong("newName", "a quoted string"))?.to_owned();
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name.clone_from(&name);
    }
    Ok(list)
}

/// `aliasByNode(seriesList, 1, -1, "tag")`: the name made of the given
/// levels of the series' first path (negative counts from the end), or of
/// tag values.
pub(super) fn alias_by_node(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let mut list = args.series(cx, 0, "seriesList")?;
    if args.positional.len() < 2 {
        return Err("aliasByNode needs at least one node".to_owned());
    }
    for series in &mut list {
        series.name = nodes_of(args, series, &args.positional[1..])?;
    }
    Ok(list)
}

/// The given levels of a series' name (of its first path, when the name
/// is a function call; negative from the end) or values of its tags,
/// joined by dots: graphite-web's `aggKey`, for `aliasByNode` and
/// `groupByNode`.
pub(super) fn nodes_of(args: &Args<'_>, series: &Series, nodes: &[Expr]) -> Result<String, String> {
    let parsed = Expr::parse(&series.name).ok();
    let path = parsed.as_ref().and_then(Expr::first_path).unwrap_or(&series.name);
    // A tagged name's levels are those of its metric.
    let path = path.split(';').next().unwrap_or(path);
    let levels: Vec<&str> = path.split('.').collect();
    let mut parts = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Expr::Number(index, _) if index.fract() == 0.0 => {
                let index = *index as i64;
                let at = if index < 0 { levels.len() as i64 + index } else { index };
                let level = usize::try_from(at).ok().and_then(|at| levels.get(at)).ok_or_else(|| {
                    format!(
                        "{}: node {index} is beyond the {} levels of {path:?}",
                        args.function,
                        levels.len()
                    )
                })?;
                parts.push((*level).to_owned());
            }
            Expr::Text(tag) => parts.push(match series.tags.get(tag) {
                Some(Value::String(value)) => value.clone(),
                Some(value) => value.to_string(),
                None => String::new(),
            }),
            _ => return Err(args.wrong("nodes", "whole numbers or quoted tag names")),
        }
    }
    Ok(parts.join("."))
}

/// `substr(seriesList, start=0, stop=0)`: levels `start` to `stop` of the
/// series' name (inside any function call around it, without further
/// arguments; a `stop` of 0 is the end), and `aliasByMetric`, which is
/// `substr(…, -1)`.
pub(super) fn substr(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    fixed: Option<(i64, i64)>,
) -> Result<Vec<Series>, String> {
    let (start, stop) = match fixed {
        Some(fixed) => {
            args.only(&["seriesList"])?;
            fixed
        }
        None => {
            args.only(&["seriesList", "start", "stop"])?;
            let level = |position: usize, name: &str| match args.find(position, name) {
                None => Ok(0),
                Some(Expr::Number(level, _)) if level.fract() == 0.0 => Ok(*level as i64),
                Some(_) => Err(args.wrong(name, "a whole number")),
            };
            (level(1, "start")?, level(2, "stop")?)
        }
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let name = &series.name;
        let left = name.rfind('(').map_or(0, |at| at + 1);
        let right = name.find(')').unwrap_or(name.len());
        let inner = name.get(left..right.max(left)).unwrap_or("");
        let levels: Vec<&str> = inner.split('.').collect();
        // Python's slice: negative from the end, clamped to the list.
        let at = |index: i64| {
            let len = levels.len() as i64;
            usize::try_from(if index < 0 { (len + index).max(0) } else { index.min(len) }).unwrap_or(0)
        };
        let (from, to) = (at(start), if stop == 0 { levels.len() } else { at(stop) });
        let picked = levels.get(from..to.max(from)).unwrap_or_default().join(".");
        series.name = picked.split(',').next().unwrap_or_default().to_owned();
    }
    Ok(list)
}

/// `aliasSub(seriesList, search, replace)`: the name with every match of a
/// regular expression replaced (`\1` in `replace` is the first group).
pub(super) fn alias_sub(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "search", "replace"])?;
    let (search, replace) = search_and_replace(args, 1)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name = search.replace_all(&series.name, replace.as_str()).into_owned();
    }
    Ok(list)
}

/// The `search` (a regular expression) and `replace` (in Python's
/// spelling) arguments at `position` and the one after, as the functions
/// that rewrite names take them, the replacement in the `regex` crate's
/// spelling.
pub(super) fn search_and_replace(args: &Args<'_>, position: usize) -> Result<(regex::Regex, String), String> {
    let search =
        args.text(position, "search")?.ok_or_else(|| args.wrong("search", "a regular expression"))?;
    let replace =
        args.text(position + 1, "replace")?.ok_or_else(|| args.wrong("replace", "a quoted string"))?;
    Ok((super::regex(args, "search", search)?, python_replacement(replace)))
}

/// A replacement in Python's `re.sub` spelling (`\1`, `\g<name>`) in the
/// `regex` crate's (`${1}`, `${name}`, `$$` for a dollar).
fn python_replacement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(digit) if digit.is_ascii_digit() => {
                    let mut group = String::new();
                    while let Some(digit) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(digit);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') => {
                    chars.next();
                    let name: String =
                        chars.by_ref().skip_while(|&c| c == '<').take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `upper(seriesList, *positions)` and `lower`: the name, or the
/// characters at `positions` (negative from the end), in upper (lower)
/// case.
pub(super) fn change_case(args: &Args<'_>, cx: &mut Context<'_>, upper: bool) -> Result<Vec<Series>, String> {
    let mut positions = Vec::new();
    for position in args.positional.get(1..).unwrap_or_default() {
        match position {
            Expr::Number(at, _) if at.fract() == 0.0 => positions.push(*at as i64),
            _ => return Err(args.wrong("pos", "whole numbers")),
        }
    }
    let convert = |c: char| -> String {
        match upper {
            true => c.to_uppercase().collect(),
            false => c.to_lowercase().collect(),
        }
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name = match positions.is_empty() {
            true => series.name.chars().map(convert).collect(),
            false => {
                let mut chars: Vec<String> = series.name.chars().map(String::from).collect();
                let len = chars.len() as i64;
                for &at in &positions {
                    let index = if at < 0 { len + at } else { at };
                    if let Some(slot) = usize::try_from(index).ok().and_then(|index| chars.get_mut(index)) {
                        *slot = slot.chars().map(convert).collect();
                    }
                }
                chars.concat()
            }
        };
    }
    Ok(list)
}

/// `legendValue(seriesList, "avg", "max", …)`: each named aggregate of the
/// series' values appended to its name, `(avg: 5.0)`, as Python prints it
/// (`None` without values, `(?)` for an unknown name). Units (`si`,
/// `binary`) are not served yet.
pub(super) fn legend_value(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let mut kinds = Vec::new();
    for kind in args.positional.get(1..).unwrap_or_default() {
        match kind {
            Expr::Text(kind) => kinds.push(kind.as_str()),
            _ => return Err(args.wrong("valuesTypes", "quoted aggregation names")),
        }
    }
    // A unit system is the last value type, as graphite-web reads it.
    let system = kinds.pop_if(|kind| *kind == "si" || *kind == "binary");
    let fixed = |value: f64| super::printf::percent_format("%.2f", value).unwrap_or_default();
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        for kind in &kinds {
            let value = crate::time::Aggregation::parse(kind).map(|by| {
                let present: Vec<f64> =
                    series.values.iter().copied().filter(|value| !value.is_nan()).collect();
                (!present.is_empty()).then(|| by.of(&present))
            });
            let shown = match (value, system) {
                (Err(_), _) => "(?)".to_owned(),
                (Ok(None), _) => "None".to_owned(),
                (Ok(Some(value)), None) => PyFloat(value).to_string(),
                (Ok(Some(value)), Some(system)) => {
                    let (scaled, prefix) = in_units(value, system, None);
                    format!("{}{prefix}", fixed(scaled))
                }
            };
            series.name = match system {
                None => format!("{} ({kind}: {shown})", series.name),
                Some(_) => format!("{:<20}{kind:<5}{shown:<10}", series.name),
            };
        }
    }
    Ok(list)
}

/// `cactiStyle(seriesList, system=None, units=None)`: each name padded to
/// a column and followed by the series' last, largest and smallest values
/// (`Current:23.00 Max:99.50 Min:0.10`), in columns as wide as the widest
/// of the list, in `system`'s units (`si`, `binary`) and `units` if given,
/// as graphite-web lays them out.
pub(super) fn cacti_style(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "system", "units"])?;
    let system = args.text(1, "system")?;
    let units = args.text(2, "units")?;
    if let Some(system) = system.filter(|system| unit_system(system).is_none()) {
        return Err(format!("cactiStyle: unknown unit system {system:?}: si, binary, sec or msec"));
    }
    let mut list = args.series(cx, 0, "seriesList")?;
    let fixed = |value: f64| super::printf::percent_format("%.2f", value).unwrap_or_default();
    let format = |value: f64| match (system, units) {
        (Some(system), units) => {
            let (scaled, prefix) = in_units(value, system, units);
            let separator = if units.is_some() { " " } else { "" };
            format!("{}{separator}{prefix}", fixed(scaled))
        }
        (None, Some(units)) => format!("{} {units}", fixed(value)),
        (None, None) => fixed(value),
    };
    let stats = |series: &Series| {
        let present = series.values.iter().copied().filter(|value| !value.is_nan());
        let last = series.values.iter().rev().copied().find(|value| !value.is_nan());
        let max = present.clone().reduce(f64::max);
        let min = present.reduce(f64::min);
        [last, max, min]
    };
    // Columns as graphite-web sizes them: from the whole part of each
    // figure (3 for none or zero), plus three.
    let width_of =
        |figure: Option<f64>| format(figure.filter(|&v| v != 0.0).map_or(3.0, f64::trunc)).chars().count();
    let name_width = list.iter().map(|series| series.name.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..3)
        .map(|at| list.iter().map(|series| width_of(stats(series)[at])).max().unwrap_or(0) + 3)
        .collect();
    for series in &mut list {
        let shown = stats(series).map(|figure| figure.map_or_else(|| "nan".to_owned(), &format));
        series.name = format!(
            "{:<name_width$} Current:{:<last$} Max:{:<max$} Min:{:<min$} ",
            series.name,
            shown[0],
            shown[1],
            shown[2],
            last = widths[0],
            max = widths[1],
            min = widths[2],
        );
    }
    Ok(list)
}

/// The prefixes of a unit system, largest first: graphite's `UnitSystems`.
fn unit_system(system: &str) -> Option<&'static [(&'static str, f64)]> {
    const KILO: f64 = 1000.0;
    const KIBI: f64 = 1024.0;
    Some(match system {
        "si" => &[
            ("P", KILO * KILO * KILO * KILO * KILO),
            ("T", KILO * KILO * KILO * KILO),
            ("G", KILO * KILO * KILO),
            ("M", KILO * KILO),
            ("k", KILO),
        ],
        "binary" => &[
            ("Pi", KIBI * KIBI * KIBI * KIBI * KIBI),
            ("Ti", KIBI * KIBI * KIBI * KIBI),
            ("Gi", KIBI * KIBI * KIBI),
            ("Mi", KIBI * KIBI),
            ("Ki", KIBI),
        ],
        "sec" => &[("Y", 31_536_000.0), ("M", 2_592_000.0), ("D", 86_400.0), ("H", 3600.0), ("m", 60.0)],
        "msec" => &[
            ("Y", 31_536_000_000.0),
            ("M", 2_592_000_000.0),
            ("D", 86_400_000.0),
            ("H", 3_600_000.0),
            ("m", 60_000.0),
            ("s", 1000.0),
        ],
        _ => return None,
    })
}

/// `value` in the largest prefix of `system` it reaches, and the prefix
/// (with `units` after it): graphite's `format_units`.
fn in_units(value: f64, system: &str, units: Option<&str>) -> (f64, String) {
    let whole =
        |scaled: f64| if scaled - scaled.floor() < 1e-11 && value > 1.0 { scaled.floor() } else { scaled };
    for &(prefix, size) in unit_system(system).unwrap_or_default() {
        if value.abs() >= size {
            return (whole(value / size), format!("{prefix}{}", units.unwrap_or("")));
        }
    }
    (whole(value), units.unwrap_or("").to_owned())
}

#[cfg(test)]
mod tests {
    use super::python_replacement;

    #[test]
    fn python_replacements_read_as_the_regex_crate_wants() {
        assert_eq!(python_replacement(r"\1-\g<host>"), "${1}-${host}");
        assert_eq!(python_replacement("cost$"), "cost$$");
        assert_eq!(python_replacement(r"a\\b"), r"a\b");
    }
}
