//! Functions over tagged series (`seriesByTag` itself is read as a
//! selector, see [`super::Selector`]): `groupByTags`, `aliasByTags`.

use super::{combine, naming, Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::tags::TaggedName;
use crate::time::Aggregation;
use serde_json::Value;

/// `groupByTags(seriesList, callback, *tags)`: the series grouped by the
/// values of `tags`, each group aggregated by `callback` and named as a
/// tagged series of those tags (`cpu;dc=east`), its metric the series'
/// common `name` (else the callback) unless `name` is one of the tags.
pub(super) fn group_by_tags(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let callback = args.text(1, "callback")?.ok_or_else(|| args.wrong("callback", "a quoted function"))?;
    let mut tags = Vec::new();
    for tag in args.positional.get(2..).unwrap_or_default() {
        match tag {
            Expr::Text(tag) => tags.push(tag.as_str()),
            _ => return Err(args.wrong("tags", "quoted tag names")),
        }
    }
    if tags.is_empty() {
        return Err("groupByTags: no tags given to group by".to_owned());
    }
    let func = callback.strip_suffix("Series").unwrap_or(callback);
    let by = Aggregation::parse(func).map_err(|reason| format!("groupByTags: {reason}"))?;
    let list = args.series(cx, 0, "seriesList")?;
    let tag_of = |series: &Series, tag: &str| match series.tags.get(tag) {
        Some(Value::String(value)) => value.clone(),
        Some(value) => value.to_string(),
        None => String::new(),
    };
    let by_name = tags.contains(&"name");
    let common_name = {
        let mut names = list.iter().map(|series| tag_of(series, "name"));
        let first = names.next();
        match first {
            Some(first) if names.all(|name| name == first) => first,
            _ => callback.to_owned(),
        }
    };
    let grouped = combine::aggregated_groups(list, by, func, cx.x_files_factor, |series| {
        let mut pairs: Vec<String> = tags
            .iter()
            .filter(|tag| **tag != "name")
            .map(|tag| format!("{tag}={}", tag_of(series, tag)))
            .collect();
        pairs.sort();
        let metric = if by_name { tag_of(series, "name") } else { common_name.clone() };
        Ok(std::iter::once(metric).chain(pairs).collect::<Vec<_>>().join(";"))
    })?;
    grouped
        .into_iter()
        .map(|mut series| {
            let tagged =
                TaggedName::parse(&series.name).map_err(|reason| format!("groupByTags: {reason}"))?;
            series.path_expression.clone_from(&series.name);
            series.tags = tagged.tag_map();
            Ok(series)
        })
        .collect()
}

/// `aliasByTags(seriesList, *tags)`: `aliasByNode` by another name.
pub(super) fn alias_by_tags(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    naming::alias_by_node(args, cx)
}
