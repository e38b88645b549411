//! Graphite's name patterns: dot-separated levels, each matched on its
//! own with `*` (any run of characters, none included), `?` (one
//! character), `[a-z0-9]` and `[!x]` or `[^x]` (one character in or not in
//! the set), and `{cpu,mem*}` (any of the alternatives, which may hold
//! wildcards and dots themselves). No level matches across a dot.

/// At most this many patterns come out of expanding braces, so that a
/// pattern like `{a,b}{a,b}...` cannot make a query explode.
pub const MAX_ALTERNATIVES: usize = 1024;

/// The longest pattern read: room for a brace list of a thousand hosts,
/// and a bound on the work of a single parse.
pub const MAX_PATTERN_BYTES: usize = 64 * 1024;

/// How deep braces may nest: far beyond what people write.
pub const MAX_BRACE_DEPTH: usize = 16;

/// The most bytes the expanded alternatives may hold together.
pub const MAX_EXPANDED_BYTES: usize = 1024 * 1024;

/// A parsed pattern: braces expanded into alternatives, each a list of
/// levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    alternatives: Vec<Vec<Level>>,
}

/// One dot-separated level of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// No wildcard: found by lookup, not by scanning.
    Exact(String),
    /// Matched against each name at its depth ([`Level::matches`]).
    Glob(Glob),
}

/// A level with wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(Vec<Token>);

/// One element of a glob level.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
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
    /// `invalid pattern "…": reason` for an empty pattern or level, an
    /// unclosed `[` or `{`, a stray `}`, or past a limit: more than
    /// [`MAX_PATTERN_BYTES`], braces nested more than [`MAX_BRACE_DEPTH`]
    /// deep, or expanding to more than [`MAX_ALTERNATIVES`] alternatives
    /// or [`MAX_EXPANDED_BYTES`] bytes.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let invalid = |reason: &str| format!("invalid pattern {:?}: {reason}", abbreviated(pattern));
        let mut alternatives = Vec::new();
        for expanded in expand_braces(pattern).map_err(|reason| invalid(&reason))? {
            let levels = expanded
                .split('.')
                .map(|level| match level {
                    "" => Err(invalid("a level is empty (two dots in a row, or a dot at an end)")),
                    level if !level.contains(['*', '?', '[']) => Ok(Level::Exact(level.to_owned())),
                    level => parse_level(level).map(|tokens| Level::Glob(Glob(tokens))).map_err(invalid),
                })
                .collect::<Result<Vec<_>, String>>()?;
            if !alternatives.contains(&levels) {
                alternatives.push(levels);
            }
        }
        Ok(Pattern { alternatives })
    }

    /// The alternatives, each a list of levels.
    pub fn alternatives(&self) -> &[Vec<Level>] {
        &self.alternatives
    }

    /// Whether `name` matches: for tests and single names; the storage's
    /// name index finds matches among many without testing each.
    pub fn matches(&self, name: &str) -> bool {
        self.alternatives.iter().any(|levels| {
            let parts: Vec<&str> = name.split('.').collect();
            parts.len() == levels.len() && levels.iter().zip(&parts).all(|(level, part)| level.matches(part))
        })
    }
}

/// The pattern as an error message quotes it: a long one cut short, so that
/// a hostile pattern is not echoed back whole.
fn abbreviated(pattern: &str) -> String {
    const SHOWN: usize = 200;
    if pattern.len() <= SHOWN {
        return pattern.to_owned();
    }
    let cut = (0..=SHOWN).rev().find(|&at| pattern.is_char_boundary(at)).unwrap_or(0);
    format!("{}… ({} bytes)", &pattern[..cut], pattern.len())
}

impl Level {
    /// Whether one dot-free part of a name matches this level.
    pub fn matches(&self, part: &str) -> bool {
        match self {
            Level::Exact(exact) => exact == part,
            Level::Glob(Glob(tokens)) if tokens == &[Token::AnyRun] => true,
            Level::Glob(Glob(tokens)) => glob_matches(tokens, part),
        }
    }
}

/// Expands `{a,b}` groups, nested too, into every combination; text
/// outside braces is kept as is. The pattern is first read into a tree
/// without recursion, then the number and total length of the expansions
/// are computed from the tree and checked against the limits before any
/// of them is built: a hostile pattern costs its own length, not its
/// expansion.
fn expand_braces(pattern: &str) -> Result<Vec<String>, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "it is {} bytes long, more than the limit of {MAX_PATTERN_BYTES}",
            pattern.len()
        ));
    }
    let tree = BraceTree::parse(pattern)?;
    let (count, bytes) = tree.size(0);
    if count > MAX_ALTERNATIVES as u64 {
        return Err(format!("the braces expand to more than {MAX_ALTERNATIVES} alternatives"));
    }
    if bytes > MAX_EXPANDED_BYTES as u64 {
        return Err(format!("the braces expand to more than {MAX_EXPANDED_BYTES} bytes"));
    }
    Ok(tree.expand(0))
}

/// A pattern's brace structure: each sequence is a run of literal texts and
/// groups, each group a list of alternative sequences. Sequence 0 is the
/// whole pattern. Nodes refer to each other by index, so that the tree is
/// built and dropped without recursion.
struct BraceTree<'p> {
    sequences: Vec<Vec<Part<'p>>>,
}

enum Part<'p> {
    Text(&'p str),
    /// The sequences of a group's alternatives.
    Group(Vec<usize>),
}

impl<'p> BraceTree<'p> {
    fn parse(pattern: &'p str) -> Result<BraceTree<'p>, String> {
        let mut tree = BraceTree { sequences: vec![Vec::new()] };
        // The open groups, innermost last: (the sequence the group is in,
        // its alternatives so far).
        let mut open: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut current = 0;
        let mut text_start = 0;
        for (at, byte) in pattern.bytes().enumerate() {
            if !matches!(byte, b'{' | b'}' | b',') || (byte == b',' && open.is_empty()) {
                continue;
            }
            if text_start < at {
                tree.sequences[current].push(Part::Text(&pattern[text_start..at]));
            }
            text_start = at + 1;
            match byte {
                b'{' => {
                    if open.len() == MAX_BRACE_DEPTH {
                        return Err(format!("braces nest more than {MAX_BRACE_DEPTH} deep"));
                    }
                    open.push((current, Vec::new()));
                    current = tree.new_sequence();
                }
                b',' => {
                    if let Some((_, alternatives)) = open.last_mut() {
                        alternatives.push(current);
                    }
                    current = tree.new_sequence();
                }
                _ => {
                    let (outer, mut alternatives) = open.pop().ok_or("a `}` without its `{`")?;
                    alternatives.push(current);
                    tree.sequences[outer].push(Part::Group(alternatives));
                    current = outer;
                }
            }
        }
        if !open.is_empty() {
            return Err("a `{` without its `}`".to_owned());
        }
        if text_start < pattern.len() {
            tree.sequences[current].push(Part::Text(&pattern[text_start..]));
        }
        Ok(tree)
    }

    fn new_sequence(&mut self) -> usize {
        self.sequences.push(Vec::new());
        self.sequences.len() - 1
    }

    /// How many strings sequence `at` expands to, and their total length,
    /// saturating rather than overflowing. Recursion follows the nesting,
    /// which parsing bounds to [`MAX_BRACE_DEPTH`].
    fn size(&self, at: usize) -> (u64, u64) {
        let (mut count, mut bytes) = (1u64, 0u64);
        for part in &self.sequences[at] {
            let (part_count, part_bytes) = match part {
                Part::Text(text) => (1, text.len() as u64),
                Part::Group(alternatives) => alternatives.iter().fold((0u64, 0u64), |(c, b), &alt| {
                    let (alt_count, alt_bytes) = self.size(alt);
                    (c.saturating_add(alt_count), b.saturating_add(alt_bytes))
                }),
            };
            // Every string so far is followed by every string of the part.
            bytes = bytes.saturating_mul(part_count).saturating_add(part_bytes.saturating_mul(count));
            count = count.saturating_mul(part_count);
        }
        (count, bytes)
    }

    /// Every string sequence `at` expands to, in order. Only called once
    /// [`BraceTree::size`] is within the limits.
    fn expand(&self, at: usize) -> Vec<String> {
        let mut expanded = vec![String::new()];
        for part in &self.sequences[at] {
            let choices = match part {
                Part::Text(text) => vec![(*text).to_owned()],
                Part::Group(alternatives) => alternatives.iter().flat_map(|&alt| self.expand(alt)).collect(),
            };
            expanded = expanded
                .iter()
                .flat_map(|head| choices.iter().map(move |choice| format!("{head}{choice}")))
                .collect();
        }
        expanded
    }
}

/// The tokens of one level with wildcards.
fn parse_level(level: &str) -> Result<Vec<Token>, &'static str> {
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

    fn numbers(count: usize) -> Vec<String> {
        (0..count).map(|n| n.to_string()).collect()
    }

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
            (&"{a,b}".repeat(11), "more than 1024 alternatives"),
            (&format!("{}a{}", "{".repeat(10_000), "}".repeat(10_000)), "nest more than 16 deep"),
            (&format!("{}a{}", "{x,".repeat(17), "}".repeat(17)), "nest more than 16 deep"),
            (&"a".repeat(MAX_PATTERN_BYTES + 1), "more than the limit of 65536"),
            (&format!("{{{}}}{}", numbers(60).join(","), "x".repeat(30_000)), "more than 1048576 bytes"),
            ("a,b}", "`}` without its `{`"),
            ("}{", "`}` without its `{`"),
        ] {
            let error = Pattern::parse(pattern).unwrap_err().to_string();
            assert!(error.contains(reason), "{pattern}: {error}");
        }
    }

    #[test]
    fn the_limits_are_checked_before_expanding_and_errors_stay_short() {
        // 2^64 alternatives: counted from the tree, never built.
        let huge = "{a,b}".repeat(64);
        let error = Pattern::parse(&huge).unwrap_err().to_string();
        assert!(error.contains("1024 alternatives"), "{error}");
        let long = format!("{}a{}", "{".repeat(1_000_000), "}".repeat(1_000_000));
        let error = Pattern::parse(&long).unwrap_err().to_string();
        assert!(error.len() < 400, "the pattern is not echoed whole: {} bytes", error.len());
        assert!(error.contains("2000001 bytes"), "{error}");
        // Right at the limits still works.
        let deepest = format!(
            "{}a{}",
            numbers(16).iter().map(|n| format!("{{x{n},")).collect::<String>(),
            "}".repeat(16)
        );
        assert_eq!(Pattern::parse(&deepest).unwrap().alternatives().len(), 17);
        assert_eq!(Pattern::parse(&"{a,b}".repeat(10)).unwrap().alternatives().len(), 1024);
    }

    #[test]
    fn brace_expansion_keeps_order_and_commas_outside_braces() {
        let texts = |pattern: &str| expand_braces(pattern).unwrap();
        assert_eq!(texts("a{b,c{d,e}f}g"), ["abg", "acdfg", "acefg"]);
        assert_eq!(texts("x,y"), ["x,y"]);
        assert_eq!(texts("{,a}{}"), ["", "a"]);
        assert_eq!(texts("{a}{b,c}"), ["ab", "ac"]);
    }

    #[test]
    fn duplicate_alternatives_collapse_and_exact_levels_need_no_scan() {
        let pattern = Pattern::parse("a.{b,b}.c*").unwrap();
        assert_eq!(pattern.alternatives().len(), 1);
        assert_eq!(pattern.alternatives()[0][1], Level::Exact("b".to_owned()));
    }
}
