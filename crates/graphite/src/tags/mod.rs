//! Graphite 1.1's tagged series: names such as `disk.used;dc=east;host=a`,
//! read and normalised as graphite does (tags sorted, `name` the metric),
//! and the tag expressions of `seriesByTag` and the `/tags` routes
//! (`dc=east`, `host!=a`, `host=~web.*`, `rack!=~r[12]`).

use regex::Regex;
use serde_json::{Map, Value};

mod index;

pub use index::{TagIndex, TaggedSeries};

/// The characters a tag name may not hold.
const PROHIBITED_IN_TAG: &[char] = &[';', '!', '^', '='];

/// A series name read as graphite reads it: the metric, then its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedName {
    /// The metric: the name before the first `;`.
    pub metric: String,
    /// Every tag with its value, in the order written, `name` (the metric,
    /// less any leading `~`) last, as graphite-web orders them.
    pub tags: Vec<(String, String)>,
}

impl TaggedName {
    /// Reads `name;tag=value;…` as graphite's `TaggedSeries.parse_carbon`
    /// does (a later tag of the same name wins).
    ///
    /// # Errors
    ///
    /// Why graphite would refuse it: no metric, a segment without `=` or
    /// with an empty tag or value, a tag with `;!^=`, a value starting
    /// with `~`.
    pub fn parse(path: &str) -> Result<TaggedName, String> {
        let mut segments = path.split(';');
        let metric = segments.next().unwrap_or_default();
        if metric.is_empty() {
            return Err(format!("cannot parse {path:?}: no metric before the tags"));
        }
        let mut tags: Vec<(String, String)> = Vec::new();
        for segment in segments {
            let Some((tag, value)) = segment.split_once('=').filter(|(tag, _)| !tag.is_empty()) else {
                return Err(format!("cannot parse {path:?}: {segment:?} is not tag=value"));
            };
            check_tag_and_value(tag, value)?;
            match tags.iter_mut().find(|(known, _)| known == tag) {
                Some(known) => known.1 = value.to_owned(),
                None => tags.push((tag.to_owned(), value.to_owned())),
            }
        }
        let name = metric.trim_start_matches('~');
        if name.is_empty() {
            return Err(format!("cannot use {metric:?} as a metric name: nothing is left without its '~'"));
        }
        tags.retain(|(tag, _)| tag != "name");
        tags.push(("name".to_owned(), name.to_owned()));
        Ok(TaggedName { metric: metric.to_owned(), tags })
    }

    /// The value of `tag`, if the series has it.
    pub fn get(&self, tag: &str) -> Option<&str> {
        self.tags.iter().find(|(name, _)| name == tag).map(|(_, value)| value.as_str())
    }

    /// The normalised name graphite stores it under: the `name` tag, then
    /// `;tag=value` for every other tag, sorted.
    pub fn path(&self) -> String {
        let mut segments: Vec<String> = self
            .tags
            .iter()
            .filter(|(tag, _)| tag != "name")
            .map(|(tag, value)| format!(";{tag}={value}"))
            .collect();
        segments.sort();
        format!("{}{}", self.get("name").unwrap_or_default(), segments.concat())
    }

    /// The tags as a rendered series carries them.
    pub fn tag_map(&self) -> Map<String, Value> {
        self.tags.iter().map(|(tag, value)| (tag.clone(), Value::String(value.clone()))).collect()
    }
}

/// graphite's `validateTagAndValue`.
fn check_tag_and_value(tag: &str, value: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("a tag may not be empty".to_owned());
    }
    if value.is_empty() {
        return Err(format!("the value of tag {tag:?} may not be empty"));
    }
    if let Some(bad) = tag.chars().find(|c| PROHIBITED_IN_TAG.contains(c)) {
        return Err(format!("character {bad:?} is not allowed in tag {tag:?}"));
    }
    if value.contains(';') {
        return Err(format!("character ';' is not allowed in value {value:?} of tag {tag:?}"));
    }
    if value.starts_with('~') {
        return Err(format!("tag values may not start with '~' (tag {tag:?})"));
    }
    Ok(())
}

/// Whether a series name holds tags: graphite reads any name with a `;` as
/// tagged.
pub fn is_tagged(name: &str) -> bool {
    name.contains(';')
}

/// A regular expression anchored at the start of the text, as graphite's
/// tag database anchors those of tag expressions and `/tags` filters
/// (`web` is read as `^(web)`; one starting with `^` as written).
#[derive(Debug, Clone)]
pub struct AnchoredRegex(Regex);

impl AnchoredRegex {
    /// Compiles `pattern`, anchoring it.
    ///
    /// # Errors
    ///
    /// Why it does not compile.
    pub fn new(pattern: &str) -> Result<AnchoredRegex, String> {
        let anchored = if pattern.starts_with('^') { pattern.to_owned() } else { format!("^({pattern})") };
        Regex::new(&anchored).map(AnchoredRegex).map_err(|error| error.to_string())
    }

    /// Whether `text` starts with a match.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// How one tag expression compares a tag's value.
#[derive(Debug, Clone)]
enum Compare {
    Equal(String),
    NotEqual(String),
    Matches(AnchoredRegex),
    NotMatches(AnchoredRegex),
}

/// One tag expression: `tag=value`, `tag!=value`, `tag=~regex`,
/// `tag!=~regex`. A series without the tag is taken to have the empty
/// value; regular expressions are anchored at the value's start.
#[derive(Debug, Clone)]
pub struct TagExpression {
    /// The tag compared.
    pub tag: String,
    compare: Compare,
}

impl TagExpression {
    /// Reads one expression as graphite's `parse_tagspec` does.
    ///
    /// # Errors
    ///
    /// A message naming the expression when it is not one of the four
    /// forms, or its regular expression does not compile.
    pub fn parse(text: &str) -> Result<TagExpression, String> {
        let split = text.find(['!', '=', ';']).filter(|&at| at > 0);
        let invalid =
            || format!("invalid tag expression {text:?}: tag=value, tag!=value, tag=~regex or tag!=~regex");
        let at = split.ok_or_else(invalid)?;
        let (tag, rest) = text.split_at(at);
        let (operator, spec) = ["!=~", "!=", "=~", "="]
            .into_iter()
            .find_map(|operator| rest.strip_prefix(operator).map(|spec| (operator, spec)))
            .ok_or_else(invalid)?;
        if spec.contains(';') {
            return Err(invalid());
        }
        let anchored = |spec: &str| {
            AnchoredRegex::new(spec).map_err(|error| format!("invalid tag expression {text:?}: {error}"))
        };
        let compare = match operator {
            "=" => Compare::Equal(spec.to_owned()),
            "!=" => Compare::NotEqual(spec.to_owned()),
            "=~" => Compare::Matches(anchored(spec)?),
            _ => Compare::NotMatches(anchored(spec)?),
        };
        Ok(TagExpression { tag: tag.to_owned(), compare })
    }

    /// The value this expression requires exactly (`tag=value`), if that
    /// is what it asks.
    pub fn equal_to(&self) -> Option<&str> {
        match &self.compare {
            Compare::Equal(value) => Some(value),
            _ => None,
        }
    }

    /// Whether a series whose tag has `value` (empty when it lacks the tag)
    /// passes.
    pub fn accepts(&self, value: &str) -> bool {
        match &self.compare {
            Compare::Equal(spec) => value == spec,
            Compare::NotEqual(spec) => value != spec,
            Compare::Matches(regex) => regex.is_match(value),
            Compare::NotMatches(regex) => !regex.is_match(value),
        }
    }
}

/// The expressions of one `seriesByTag` or `/tags/findSeries`: a series
/// passes when it passes them all.
#[derive(Debug, Clone)]
pub struct TagQuery {
    expressions: Vec<TagExpression>,
}

impl TagQuery {
    /// Reads the expressions.
    ///
    /// # Errors
    ///
    /// No expressions, one that does not read, or none that requires a
    /// value (such a query would match every series without the tags).
    pub fn parse<'t>(texts: impl IntoIterator<Item = &'t str>) -> Result<TagQuery, String> {
        let expressions = texts.into_iter().map(TagExpression::parse).collect::<Result<Vec<_>, _>>()?;
        if expressions.is_empty() {
            return Err("no tag expressions given".to_owned());
        }
        if expressions.iter().all(|expression| expression.accepts("")) {
            return Err("at least one tag expression must require a value (each here matches the empty one)"
                .to_owned());
        }
        Ok(TagQuery { expressions })
    }

    /// Whether the series `name` passes every expression.
    pub fn matches(&self, name: &TaggedName) -> bool {
        self.expressions.iter().all(|expression| expression.accepts(name.get(&expression.tag).unwrap_or("")))
    }

    /// The expressions, in the order given.
    pub fn expressions(&self) -> &[TagExpression] {
        &self.expressions
    }

    /// The tags the expressions compare.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.expressions.iter().map(|expression| expression.tag.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_normalise_as_graphite_does() {
        let name = TaggedName::parse("disk.used;host=a;dc=east").unwrap();
        assert_eq!(name.path(), "disk.used;dc=east;host=a");
        let order: Vec<&str> = name.tags.iter().map(|(tag, _)| tag.as_str()).collect();
        assert_eq!(order, ["host", "dc", "name"], "as written, name last");
        assert_eq!(name.get("name"), Some("disk.used"));
        assert_eq!(TaggedName::parse("plain.name").unwrap().path(), "plain.name");
        assert_eq!(TaggedName::parse("a;x=1;x=2").unwrap().path(), "a;x=2", "the later wins");
        assert_eq!(TaggedName::parse("a;b=c=d").unwrap().get("b"), Some("c=d"));
        for (bad, says) in [
            (";a=b", "no metric"),
            ("a;b", "not tag=value"),
            ("a;=b", "not tag=value"),
            ("a;b=", "may not be empty"),
            ("a;b!=c", "'!' is not allowed"),
            ("a;b=~c", "may not start with '~'"),
        ] {
            let error = TaggedName::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn expressions_match_as_graphites_tag_database_does() {
        let web = TaggedName::parse("cpu;dc=east;host=web1").unwrap();
        let db = TaggedName::parse("cpu;dc=west;host=db1;rack=r2").unwrap();
        let query = |texts: &[&str]| TagQuery::parse(texts.iter().copied()).unwrap();
        let passes = |texts: &[&str]| [&web, &db].map(|name| query(texts).matches(name));
        assert_eq!(passes(&["name=cpu"]), [true, true]);
        assert_eq!(passes(&["dc=east"]), [true, false]);
        assert_eq!(passes(&["name=cpu", "host!=web1"]), [false, true]);
        assert_eq!(passes(&["host=~web"]), [true, false], "anchored at the start only");
        assert_eq!(passes(&["host=~b"]), [false, false]);
        assert_eq!(passes(&["name=cpu", "host!=~d"]), [true, false]);
        assert_eq!(passes(&["name=cpu", "rack="]), [true, false], "no rack counts as the empty value");
        assert_eq!(passes(&["name=cpu", "rack!="]), [false, true]);
        for (bad, says) in [
            (&["rack="][..], "must require a value"),
            (&["host!=~web"][..], "must require a value"),
            (&[][..], "no tag expressions"),
            (&["host"][..], "invalid tag expression"),
            (&["=web"][..], "invalid tag expression"),
            (&["host=~("][..], "invalid tag expression"),
        ] {
            let error = TagQuery::parse(bad.iter().copied()).unwrap_err();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }
}
