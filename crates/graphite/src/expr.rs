//! Graphite target expressions, as `/render` receives them: a path pattern
//! (`palm.*.cpu`, `{palm,eardrum}.mem`) or a function call whose arguments
//! are expressions, numbers, quoted strings, `true`/`false` and
//! `name=value` keywords: `summarize(sumSeries(*.cpu), "1h", "max")`.

/// How deep calls may nest: far beyond what people write, and a bound on
/// the parser's recursion for hostile input.
const MAX_DEPTH: usize = 32;

/// The longest target read: room for a long list of series, and a bound on
/// the work of parsing one.
const MAX_TARGET_BYTES: usize = 64 * 1024;

/// One parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A series name pattern.
    Path(String),
    /// A function call.
    Call {
        /// The function's name.
        name: String,
        /// The positional arguments.
        args: Vec<Expr>,
        /// The `name=value` arguments, in the order written.
        keywords: Vec<(String, Expr)>,
    },
    /// `seriesByTag('tag=value', …)`: the series whose tags pass every
    /// expression. graphite-web reads these as it reads patterns, named by
    /// the call as written.
    Tagged {
        /// The call as written, the series' path expression.
        raw: String,
        /// The tag expressions, unquoted.
        expressions: Vec<String>,
    },
    /// A number, with its text as written (Graphite names some series
    /// after it).
    Number(f64, String),
    /// A quoted string.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// `None` (in any case): an argument left at its default.
    None,
    /// `template(hosts.$host.cpu, host="web1")` (graphite-web 1.1): the
    /// inner expression with `$name` in its patterns replaced by the
    /// values given (positional ones are `$1`, `$2`, …) or by the request's
    /// `template[name]` parameters.
    Template {
        /// The pattern or call the values go into.
        inner: Box<Expr>,
        /// The values by name, keyword ones first, then `1`, `2`, … for
        /// positional ones (graphite-web's order of replacement): each a
        /// number or a string.
        values: Vec<(String, Expr)>,
    },
}

impl Expr {
    /// Parses a whole target.
    pub fn parse(target: &str) -> Result<Expr, String> {
        if target.len() > MAX_TARGET_BYTES {
            return Err(format!(
                "invalid target: it is {} bytes long, more than the limit of {MAX_TARGET_BYTES}",
                target.len()
            ));
        }
        let mut parser = Parser { text: target, at: 0 };
        let expr = parser.expression(0)?;
        parser.skip_spaces();
        if parser.at != target.len() {
            return Err(parser.error("unexpected text after the expression"));
        }
        match expr {
            Expr::Path(_) | Expr::Call { .. } | Expr::Tagged { .. } | Expr::Template { .. } => Ok(expr),
            _ => Err(format!("invalid target {target:?}: a series pattern or a function call")),
        }
    }

    /// The first series pattern in the expression, read left to right:
    /// `palm.cpu` in `scale(palm.cpu,2)`.
    pub fn first_path(&self) -> Option<&str> {
        match self {
            Expr::Path(path) => Some(path),
            Expr::Call { args, keywords, .. } => {
                args.iter().chain(keywords.iter().map(|(_, value)| value)).find_map(Expr::first_path)
            }
            Expr::Template { inner, .. } => inner.first_path(),
            _ => None,
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> String {
        format!("invalid target {:?}: {what} at byte {}", self.text, self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// An expression and the calls piped after it: `a.b|scale(2)|alias("x")`
    /// reads as `alias(scale(a.b,2),"x")`, as graphite-web 1.1 reads it.
    /// Each pipe nests one level deeper, within the same bound.
    fn expression(&mut self, depth: usize) -> Result<Expr, String> {
        let mut expr = self.primary(depth)?;
        let mut depth = depth;
        loop {
            self.skip_spaces();
            if self.peek() != Some(b'|') {
                return Ok(expr);
            }
            if !matches!(
                expr,
                Expr::Path(_) | Expr::Call { .. } | Expr::Tagged { .. } | Expr::Template { .. }
            ) {
                return Err(self.error("only a series pattern or a function call can be piped"));
            }
            self.at += 1;
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(self.error(&format!("calls nested more than {MAX_DEPTH} deep")));
            }
            self.skip_spaces();
            let token = self.token()?;
            self.skip_spaces();
            if self.peek() != Some(b'(') || !is_identifier(token) || token == "seriesByTag" {
                return Err(self.error("expected a function call after '|'"));
            }
            self.at += 1;
            let (mut args, keywords) = self.arguments(depth)?;
            args.insert(0, expr);
            expr = Expr::Call { name: token.to_owned(), args, keywords };
        }
    }

    /// A call, a pattern, a number, a string or a boolean.
    fn primary(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("calls nested more than {MAX_DEPTH} deep")));
        }
        self.skip_spaces();
        if let Some(quote @ (b'"' | b'\'')) = self.peek() {
            return self.quoted(quote);
        }
        let start = self.at;
        let token = self.token()?;
        self.skip_spaces();
        if self.peek() == Some(b'(') {
            if !is_identifier(token) {
                return Err(self.error(&format!("{token:?} is not a function name")));
            }
            self.at += 1;
            let (args, keywords) = self.arguments(depth)?;
            if token == "seriesByTag" {
                return self.tagged(&self.text[start..self.at], args, keywords);
            }
            if token == "template" {
                return self.template(args, keywords);
            }
            return Ok(Expr::Call { name: token.to_owned(), args, keywords });
        }
        if let Some(number) = parse_number(token) {
            return Ok(Expr::Number(number, token.to_owned()));
        }
        match token.to_ascii_lowercase().as_str() {
            "true" => Ok(Expr::Bool(true)),
            "false" => Ok(Expr::Bool(false)),
            "none" => Ok(Expr::None),
            _ => Ok(Expr::Path(token.to_owned())),
        }
    }

    /// A bare word: a path pattern, a function name, a number. Commas
    /// inside `{…}` belong to the pattern.
    fn token(&mut self) -> Result<&'a str, String> {
        let text = self.text;
        let start = self.at;
        let mut braces = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'{' => braces += 1,
                b'}' => braces = braces.saturating_sub(1),
                b',' if braces > 0 => {}
                b'(' | b')' | b',' | b'=' | b'"' | b'\'' | b'|' => break,
                _ if byte.is_ascii_whitespace() => break,
                _ => {}
            }
            self.at += 1;
        }
        match &text[start..self.at] {
            "" => Err(self.error("expected a series pattern, a function call, a number or a string")),
            token => Ok(token),
        }
    }

    /// The arguments after `(`, through the closing `)`.
    #[allow(clippy::type_complexity)]
    fn arguments(&mut self, depth: usize) -> Result<(Vec<Expr>, Vec<(String, Expr)>), String> {
        let (mut args, mut keywords) = (Vec::new(), Vec::new());
        self.skip_spaces();
        if self.peek() == Some(b')') {
            self.at += 1;
            return Ok((args, keywords));
        }
        loop {
            let expr = self.expression(depth + 1)?;
            self.skip_spaces();
            if self.peek() == Some(b'=') {
                let Expr::Path(name) = expr else {
                    return Err(self.error("a keyword argument needs a name before '='"));
                };
                if !is_identifier(&name) {
                    return Err(self.error(&format!("{name:?} is not a keyword name")));
                }
                self.at += 1;
                keywords.push((name, self.expression(depth + 1)?));
                self.skip_spaces();
            } else if !keywords.is_empty() {
                return Err(self.error("a positional argument after a keyword argument"));
            } else {
                args.push(expr);
            }
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b')') => {
                    self.at += 1;
                    return Ok((args, keywords));
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
    }

    /// A `template(…)`: a pattern or a call, then numbers or strings,
    /// positional or by name.
    fn template(&self, args: Vec<Expr>, keywords: Vec<(String, Expr)>) -> Result<Expr, String> {
        let mut args = args.into_iter();
        let inner = match args.next() {
            Some(inner @ (Expr::Path(_) | Expr::Call { .. } | Expr::Tagged { .. })) => inner,
            _ => return Err(self.error("template() takes a series pattern or a function call first")),
        };
        let positional = args.enumerate().map(|(at, value)| ((at + 1).to_string(), value));
        let mut values = Vec::with_capacity(keywords.len());
        for (name, value) in keywords.into_iter().chain(positional) {
            if !matches!(value, Expr::Number(..) | Expr::Text(_)) {
                return Err(
                    self.error(&format!("template() value {name:?} must be a number or a quoted string"))
                );
            }
            values.push((name, value));
        }
        Ok(Expr::Template { inner: Box::new(inner), values })
    }

    /// A `seriesByTag` call: quoted expressions only.
    fn tagged(&self, raw: &str, args: Vec<Expr>, keywords: Vec<(String, Expr)>) -> Result<Expr, String> {
        let mut expressions = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                Expr::Text(expression) if keywords.is_empty() => expressions.push(expression),
                _ => {
                    return Err(
                        self.error("seriesByTag takes quoted tag expressions only, such as 'name=cpu'")
                    )
                }
            }
        }
        Ok(Expr::Tagged { raw: raw.to_owned(), expressions })
    }

    /// A string in `quote`s, as graphite-web takes it: everything between
    /// them as written, backslashes included (`"a\.b"` is the regular
    /// expression `a\.b`); a backslash keeps the next character, a quote
    /// too, from ending the string.
    fn quoted(&mut self, quote: u8) -> Result<Expr, String> {
        self.at += 1;
        let mut text = String::new();
        let mut chars = self.text[self.at..].char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => {
                        text.push('\\');
                        text.push(escaped);
                    }
                    None => break,
                },
                _ if c as u32 == u32::from(quote) => {
                    self.at += offset + 1;
                    return Ok(Expr::Text(text));
                }
                _ => text.push(c),
            }
        }
        self.at = self.text.len();
        Err(self.error("a string without its closing quote"))
    }
}

fn is_identifier(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A number as Graphite's grammar reads one: optional sign, digits, an
/// optional fraction and exponent. (Rust's own parser would also take
/// `inf` and `nan`, which here are series names.)
fn parse_number(token: &str) -> Option<f64> {
    let unsigned = token.strip_prefix(['-', '+']).unwrap_or(token);
    let mantissa_end = unsigned.find(['e', 'E']).unwrap_or(unsigned.len());
    let (mantissa, exponent) = unsigned.split_at(mantissa_end);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_empty() || {
        let power = exponent[1..].strip_prefix(['-', '+']).unwrap_or(&exponent[1..]);
        !power.is_empty() && digits(power)
    };
    let number = !whole.is_empty() && digits(whole) && digits(fraction) && exponent_ok;
    number.then(|| token.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Expr {
        Expr::Path(p.to_owned())
    }

    fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Call { name: name.to_owned(), args, keywords: Vec::new() }
    }

    #[test]
    fn targets_parse_into_paths_calls_and_literals() {
        assert_eq!(Expr::parse("palm.cpu").unwrap(), path("palm.cpu"));
        assert_eq!(
            Expr::parse("sumSeries({palm,eardrum}.cpu, host[0-9].*)").unwrap(),
            call("sumSeries", vec![path("{palm,eardrum}.cpu"), path("host[0-9].*")])
        );
        assert_eq!(
            Expr::parse(r#"alias(scale(a.b, -2.5e3), "it's \"x\"")"#).unwrap(),
            call(
                "alias",
                vec![
                    call("scale", vec![path("a.b"), Expr::Number(-2500.0, "-2.5e3".to_owned())]),
                    // Kept as written, backslashes too, as graphite-web keeps it.
                    Expr::Text(r#"it's \"x\""#.to_owned())
                ]
            )
        );
        assert_eq!(
            Expr::parse("summarize(a, '1h', func='max', alignToFrom=True)").unwrap(),
            Expr::Call {
                name: "summarize".to_owned(),
                args: vec![path("a"), Expr::Text("1h".to_owned())],
                keywords: vec![
                    ("func".to_owned(), Expr::Text("max".to_owned())),
                    ("alignToFrom".to_owned(), Expr::Bool(true))
                ],
            }
        );
        assert_eq!(
            Expr::parse("constantLine(100)").unwrap(),
            call("constantLine", vec![Expr::Number(100.0, "100".to_owned())])
        );
        assert_eq!(Expr::parse(" f( ) ").unwrap(), call("f", vec![]));
        assert_eq!(
            Expr::parse("f(a, None, none.b)").unwrap(),
            call("f", vec![path("a"), Expr::None, path("none.b")])
        );
        assert_eq!(Expr::parse("a.inf").unwrap(), path("a.inf"));
        assert_eq!(Expr::parse("scale(x.y,2)").unwrap().first_path(), Some("x.y"));
        assert_eq!(
            Expr::parse("sum(seriesByTag('name=cpu', \"dc=~e.*\"))").unwrap(),
            call(
                "sum",
                vec![Expr::Tagged {
                    raw: "seriesByTag('name=cpu', \"dc=~e.*\")".to_owned(),
                    expressions: vec!["name=cpu".to_owned(), "dc=~e.*".to_owned()],
                }]
            )
        );
        assert!(Expr::parse("seriesByTag(a.b)").unwrap_err().contains("quoted tag expressions"));
    }

    #[test]
    fn templates_hold_their_values_keywords_first() {
        let text = |value: &str| Expr::Text(value.to_owned());
        assert_eq!(
            Expr::parse("template(a.$x, x='c')").unwrap(),
            Expr::Template { inner: Box::new(path("a.$x")), values: vec![("x".to_owned(), text("c"))] }
        );
        assert_eq!(
            Expr::parse("template(sumSeries(a.$1), 'b*', 2)").unwrap(),
            Expr::Template {
                inner: Box::new(call("sumSeries", vec![path("a.$1")])),
                values: vec![
                    ("1".to_owned(), text("b*")),
                    ("2".to_owned(), Expr::Number(2.0, "2".to_owned()))
                ],
            }
        );
        assert!(matches!(Expr::parse("template(a.$x, x='b')|sum()").unwrap(), Expr::Call { .. }));
        for (bad, message) in [
            ("template(1)", "a series pattern or a function call first"),
            ("template(a.$x, x=b.c)", "must be a number or a quoted string"),
            ("template(a.$x.$1, x='c', 'b')", "a positional argument after a keyword"),
        ] {
            let error = Expr::parse(bad).unwrap_err();
            assert!(error.contains(message), "{bad:?}: {error}");
        }
    }

    #[test]
    fn piped_calls_take_what_comes_before_as_their_first_argument() {
        let two = Expr::Number(2.0, "2".to_owned());
        assert_eq!(Expr::parse("a.b|scale(2)").unwrap(), call("scale", vec![path("a.b"), two.clone()]));
        assert_eq!(
            Expr::parse("sumSeries(a.*) | scale(2) |alias('x')").unwrap(),
            call(
                "alias",
                vec![
                    call("scale", vec![call("sumSeries", vec![path("a.*")]), two]),
                    Expr::Text("x".to_owned())
                ]
            )
        );
        assert_eq!(
            Expr::parse("group(a|absolute(), b)").unwrap(),
            call("group", vec![call("absolute", vec![path("a")]), path("b")])
        );
        let tagged = Expr::parse("seriesByTag('name=cpu')|sumSeries()").unwrap();
        assert!(
            matches!(&tagged, Expr::Call { name, args, .. } if name == "sumSeries" && matches!(args[0], Expr::Tagged { .. }))
        );
        for (bad, message) in [
            ("a|b", "expected a function call after '|'"),
            ("a|", "expected a series pattern"),
            ("a|seriesByTag('x=y')", "expected a function call"),
            ("scale(a, 2|abs())", "only a series pattern or a function call"),
        ] {
            let error = Expr::parse(bad).unwrap_err();
            assert!(error.contains(message), "{bad:?}: {error}");
        }
        let long = format!("a{}", "|absolute()".repeat(40));
        assert!(Expr::parse(&long).unwrap_err().contains("nested more than 32"));
    }

    #[test]
    fn bad_targets_say_where() {
        for (bad, message) in [
            ("", "expected a series pattern"),
            ("sum(a", "expected ',' or ')'"),
            ("sum(a,)", "expected a series pattern"),
            ("a.b)", "unexpected text"),
            ("x.y(a)", "is not a function name"),
            ("f(\"open)", "closing quote"),
            ("f(k=1, a)", "positional argument after a keyword"),
            ("100", "a series pattern or a function call"),
            ("\"text\"", "a series pattern or a function call"),
        ] {
            let error = Expr::parse(bad).unwrap_err();
            assert!(error.contains(message), "{bad:?}: {error}");
        }
        let deep = format!("{}a{}", "f(".repeat(40), ")".repeat(40));
        assert!(Expr::parse(&deep).unwrap_err().contains("nested more than 32"));
        let deep = format!("{}a{}", "f(".repeat(100_000), ")".repeat(100_000));
        let error = Expr::parse(&deep).unwrap_err();
        assert!(error.contains("more than the limit of 65536") && error.len() < 200, "{error}");
    }
}
