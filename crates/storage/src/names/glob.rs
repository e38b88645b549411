//! Graphite's name patterns: dot-separated levels, each matched on its
//! own with `*` (any run of characters, none included), `?` (one
//! character), `[a-z0-9]` and `[!x]` or `[^x]` (one character in or not in
//! the set), and `{cpu,mem*}` (any of the alternatives, which may hold
//! wildcards and dots themselves). No level matches across a dot.

use crate::error::{Error, Result};

/// At most this many patterns come out of expanding braces, so that a
/// pattern like `{a,b}{a,b}...` cannot make a query explode.
const MAX_ALTERNATIVES: usize = 1024;

/// A parsed pattern: braces expanded into alternatives, each a list of
/// levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    alternatives: Vec<Vec<Level>>,
}

/// One dot-separated level of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Level {
    /// No wildcard: found by lookup, not by scanning.
    Exact(String),
    /// Matched against each name at its depth.
    Glob(Vec<Token>),
}

/// One element of a glob level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

impl Pattern {
    /// Parses a pattern.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPattern`] for an empty pattern or level, an
    /// unclosed `[` or `{`, a stray `}`, or braces that expand to more than
    /// 1,024 alternatives.
    pub fn parse(pattern: &str) -> Result<Pattern> {
        let invalid =
            |reason: &str| Error::InvalidPattern { pattern: pattern.to_owned(), reason: reason.to_owned() };
        let mut alternatives = Vec::new();
        for expanded in expand_braces(pattern).map_err(&invalid)? {
            let levels = expanded
                .split('.')
                .map(|level| match level {
                    "" => Err(invalid("a level is empty (two dots in a row, or a dot at an end)")),
                    level if !level.contains(['*', '?', '[']) => Ok(Level::Exact(level.to_owned())),
                    level => parse_level(level).map(Level::Glob).map_err(&invalid),
                })
                .collect::<Result<Vec<_>>>()?;
            if !alternatives.contains(&levels) {
                alternatives.push(levels);
            }
        }
        Ok(Pattern { alternatives })
    }

    /// The alternatives, each a list of levels.
    pub(crate) fn alternatives(&self) -> &[Vec<Level>] {
        &self.alternatives
    }

    /// Whether `name` matches: for tests and single names; a
    /// [`NameIndex`](super::NameIndex) finds matches among many without
    /// testing each.
    pub fn matches(&self, name: &str) -> bool {
        self.alternatives.iter().any(|levels| {
            let parts: Vec<&str> = name.split('.').collect();
            parts.len() == levels.len() && levels.iter().zip(&parts).all(|(level, part)| level.matches(part))
        })
    }
}

impl Level {
    /// Whether one dot-free part of a name matches this level.
    pub(crate) fn matches(&self, part: &str) -> bool {
        match self {
            Level::Exact(exact) => exact == part,
            Level::Glob(tokens) if tokens == &[Token::AnyRun] => true,
            Level::Glob(tokens) => glob_matches(tokens, part),
        }
    }
}

/// Expands `{a,b}` groups, nested too, into every combination; text
/// outside braces is kept as is.
fn expand_braces(pattern: &str) -> std::result::Result<Vec<String>, &'static str> {
    let Some(open) = pattern.find('{') else {
        return if pattern.contains('}') {
            Err("a `}` without its `{`")
        } else {
            Ok(vec![pattern.to_owned()])
        };
    };
    // The matching close, counting nested groups.
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (at, c) in pattern[open..].char_indices().map(|(i, c)| (open + i, c)) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(at);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(at),
            _ => {}
        }
    }
    let close = close.ok_or("a `{` without its `}`")?;
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    if prefix.contains('}') {
        return Err("a `}` without its `{`");
    }
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut expanded = Vec::new();
    for pair in bounds.windows(2) {
        let choice = &pattern[pair[0] + 1..pair[1]];
        for tail in expand_braces(&format!("{choice}{suffix}"))? {
            expanded.push(format!("{prefix}{tail}"));
            if expanded.len() > MAX_ALTERNATIVES {
                return Err("the braces expand to more than 1,024 alternatives");
            }
        }
    }
    Ok(expanded)
}

/// The tokens of one level with wildcards.
fn parse_level(level: &str) -> std::result::Result<Vec<Token>, &'static str> {
    let mut tokens = Vec::new();
    let mut chars = level.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            // Runs of stars mean what one does.
            '*' if tokens.last() == Some(&Token::AnyRun) => continue,
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            '[' => {
                let negated = chars.next_if(|&c| c == '!' || c == '^').is_some();
                let mut ranges = Vec::new();
                // A `]` first in the set is a member, as in fnmatch.
                let mut first = true;
                loop {
                    let c = chars.next().ok_or("a `[` without its `]`")?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let mut lookahead = chars.clone();
                    match (lookahead.next(), lookahead.next()) {
                        (Some('-'), Some(end)) if end != ']' => {
                            chars.next();
                            chars.next();
                            ranges.push((c, end));
                        }
                        _ => ranges.push((c, c)),
                    }
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
    }
    Ok(tokens)
}

/// Glob matching with one backtrack point, the last `*`: linear in the
/// name's length times the pattern's for the worst pattern, without
/// recursion.
fn glob_matches(tokens: &[Token], text: &str) -> bool {
    // Names are nearly always ASCII: their bytes are their characters.
    if text.is_ascii() {
        glob_matches_in(tokens, text.as_bytes())
    } else {
        glob_matches_in(tokens, &text.chars().collect::<Vec<char>>())
    }
}

fn glob_matches_in<C: Copy + Into<char>>(tokens: &[Token], text: &[C]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::AnyRun) => {
                star = Some((p, t));
                p += 1;
            }
            Some(token) if token_matches(token, text[t].into()) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::AnyRun)
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == c,
        Token::AnyOne => true,
        Token::AnyRun => false,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(low, high)| (low..=high).contains(&c)) != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graphite's semantics, as graphite-web's finders apply them.
    #[test]
    fn patterns_match_as_graphite_does() {
        let table: &[(&str, &str, bool)] = &[
            ("palm.cpu", "palm.cpu", true),
            ("palm.cpu", "palm.cpuu", false),
            ("palm.*", "palm.cpu", true),
            ("palm.*", "palm.cpu.user", false),
            ("*.cpu", "palm.cpu", true),
            ("*", "palm", true),
            ("*", "palm.cpu", false),
            ("palm.c*", "palm.c", true),
            ("palm.*u", "palm.cpu", true),
            ("palm.*p*", "palm.cpu", true),
            ("palm.*x*", "palm.cpu", false),
            ("palm.c?u", "palm.cpu", true),
            ("palm.c?u", "palm.cu", false),
            ("host[0-9].cpu", "host7.cpu", true),
            ("host[0-9].cpu", "hostx.cpu", false),
            ("host[!0-9].cpu", "hostx.cpu", true),
            ("host[^0-9].cpu", "host7.cpu", false),
            ("host[abc].cpu", "hostb.cpu", true),
            ("host[]x].cpu", "host].cpu", true),
            ("host[a-].cpu", "host-.cpu", true),
            ("palm.{cpu,mem}", "palm.mem", true),
            ("palm.{cpu,mem}", "palm.disk", false),
            ("palm.{cpu*,mem}", "palm.cpu_idle", true),
            ("{palm,eardrum}.{cpu,mem}.*", "eardrum.mem.free", true),
            ("palm.{cpu,mem.free}", "palm.mem.free", true),
            ("palm.{a,{b,c}d}", "palm.cd", true),
            ("palm.{a,{b,c}d}", "palm.c", false),
            ("palm.{,x}cpu", "palm.cpu", true),
            ("Palm.cpu", "palm.cpu", false),
            ("ключ.*", "ключ.значение", true),
            ("a.*.*.d", "a.b.c.d", true),
            ("a.**.d", "a.b.c.d", false),
        ];
        for &(pattern, name, expected) in table {
            let parsed = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(parsed.matches(name), expected, "{pattern} against {name}");
        }
    }

    #[test]
    fn bad_patterns_are_errors_that_say_why() {
        for (pattern, reason) in [
            ("", "empty"),
            ("a..b", "empty"),
            ("a.", "empty"),
            ("a.[bc", "`[`"),
            ("a.{b,c", "`{`"),
            ("a.b}", "`}`"),
            (&"{a,b}".repeat(11), "1,024"),
        ] {
            let error = Pattern::parse(pattern).unwrap_err().to_string();
            assert!(error.contains(reason), "{pattern}: {error}");
        }
    }

    #[test]
    fn duplicate_alternatives_collapse_and_exact_levels_need_no_scan() {
        let pattern = Pattern::parse("a.{b,b}.c*").unwrap();
        assert_eq!(pattern.alternatives().len(), 1);
        assert_eq!(pattern.alternatives()[0][1], Level::Exact("b".to_owned()));
    }
}
