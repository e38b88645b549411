//! Python's `%` formatting of one number, as graphite-web names series with
//! it (`aliasQuery`'s `"%d hosts"`, `cactiStyle`'s `%.2f`, `%g` in
//! `aggregateLine` and `scale`), so that names match to the character.

/// `template % value`, with exactly one conversion (`%%` is a percent
/// sign): flags `-+ 0#`, a width, a precision, and the types `d i u f F e
/// E g G s r`.
///
/// # Errors
///
/// What Python would raise: no conversion or more than one, an unknown
/// type, a whole-number conversion of NaN or an infinity.
pub(crate) fn percent_format(template: &str, value: f64) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    let mut converted = false;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let spec = &rest[at + 1..];
        if let Some(after) = spec.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        if converted {
            return Err(format!("{template:?} has more conversions than the one value"));
        }
        let (text, used) = conversion(spec, value).map_err(|reason| format!("{template:?}: {reason}"))?;
        out.push_str(&text);
        rest = &spec[used..];
        converted = true;
    }
    out.push_str(rest);
    match converted {
        true => Ok(out),
        false => Err(format!("{template:?} has no conversion (such as %d or %.2f) for the value")),
    }
}

/// One conversion after its `%`: the text, and the bytes of `spec` read.
fn conversion(spec: &str, value: f64) -> Result<(String, usize), String> {
    let bytes = spec.as_bytes();
    let mut at = 0;
    let (mut left, mut plus, mut space, mut zero, mut alternate) = (false, false, false, false, false);
    while let Some(flag) = bytes.get(at) {
        match flag {
            b'-' => left = true,
            b'+' => plus = true,
            b' ' => space = true,
            b'0' => zero = true,
            b'#' => alternate = true,
            _ => break,
        }
        at += 1;
    }
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        spec[start..*at].parse::<usize>().ok()
    };
    let width = digits(&mut at).unwrap_or(0).min(1024);
    let precision = match bytes.get(at) {
        Some(b'.') => {
            at += 1;
            Some(digits(&mut at).unwrap_or(0).min(100))
        }
        _ => None,
    };
    let kind = *bytes.get(at).ok_or("a conversion without its type")?;
    at += 1;
    let numeric = kind != b's' && kind != b'r';
    let body = match kind {
        b'd' | b'i' | b'u' => {
            if !value.is_finite() {
                return Err(format!("cannot convert {} to an integer", format_g(value, 6, false)));
            }
            format!("{}", value.trunc().abs())
        }
        b'f' | b'F' => special(value, kind == b'F').unwrap_or_else(|| {
            let precision = precision.unwrap_or(6);
            let text = format!("{:.precision$}", value.abs());
            if alternate && precision == 0 {
                text + "."
            } else {
                text
            }
        }),
        b'e' | b'E' => special(value, kind == b'E')
            .unwrap_or_else(|| scientific(value.abs(), precision.unwrap_or(6), kind == b'E')),
        b'g' | b'G' => special(value, kind == b'G').unwrap_or_else(|| {
            let text = format_g(value.abs(), precision.unwrap_or(6), alternate);
            if kind == b'G' {
                text.to_uppercase()
            } else {
                text
            }
        }),
        b's' | b'r' => {
            let text = eardrum_protocol::PyFloat(value).to_string();
            match precision {
                Some(precision) => text.chars().take(precision).collect(),
                None => text,
            }
        }
        other => return Err(format!("unsupported conversion type {:?}", other as char)),
    };
    let sign = match numeric {
        false => "",
        true if value.is_sign_negative() && !value.is_nan() && body != "0" => "-",
        true if plus => "+",
        true if space => " ",
        true => "",
    };
    let length = sign.len() + body.len();
    let padding = width.saturating_sub(length);
    let text = if left {
        format!("{sign}{body}{}", " ".repeat(padding))
    } else if zero && numeric && value.is_finite() {
        format!("{sign}{}{body}", "0".repeat(padding))
    } else {
        format!("{}{sign}{body}", " ".repeat(padding))
    };
    Ok((text, at))
}

/// NaN and the infinities as Python spells them (without the sign).
fn special(value: f64, upper: bool) -> Option<String> {
    let text = match value {
        _ if value.is_nan() => "nan",
        _ if value.is_infinite() => "inf",
        _ => return None,
    };
    Some(if upper { text.to_uppercase() } else { text.to_owned() })
}

/// `%.{precision}e` of a non-negative finite value: at least two exponent
/// digits, with a sign.
fn scientific(value: f64, precision: usize, upper: bool) -> String {
    let text = format!("{value:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exponent.abs())
}

/// `%.{precision}g`: fixed or scientific by the exponent, as C and Python
/// choose, trailing zeros dropped unless `alternate`.
pub(crate) fn format_g(value: f64, precision: usize, alternate: bool) -> String {
    if let Some(text) = special(value.abs(), false) {
        return if value.is_sign_negative() && !value.is_nan() { format!("-{text}") } else { text };
    }
    let precision = precision.max(1);
    let rounded = format!("{:.*e}", precision - 1, value);
    let exponent: i64 = rounded.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    let trim = |text: String| -> String {
        match !alternate && text.contains('.') {
            true => text.trim_end_matches('0').trim_end_matches('.').to_owned(),
            false => text,
        }
    };
    if exponent < -4 || exponent >= precision as i64 {
        let text = scientific(value.abs(), precision - 1, false);
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
        let sign = if value.is_sign_negative() { "-" } else { "" };
        format!("{sign}{}e{exponent}", trim(mantissa.to_owned()))
    } else {
        let decimals = usize::try_from(precision as i64 - 1 - exponent).unwrap_or(0);
        trim(format!("{value:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_as_python_formats_them() {
        for (template, value, expected) in [
            ("%d hosts", 12.9, "12 hosts"),
            ("%i", -3.7, "-3"),
            ("%.2f", 0.125, "0.12"),
            ("%.2f %s", 1234.5678, ""),
            ("%f", 1.5, "1.500000"),
            ("%8.3f|", -2.5, "  -2.500|"),
            ("%-8.1f|", 2.5, "2.5     |"),
            ("%+06.1f", 2.25, "+002.2"),
            ("%e", 1234.5, "1.234500e+03"),
            ("%.2E", 0.000123, "1.23E-04"),
            ("%g", 0.0001, "0.0001"),
            ("%g", 1e-5, "1e-05"),
            ("%g", 123456789.0, "1.23457e+08"),
            ("%.3g", 2.0, "2"),
            ("%#.3g", 2.0, "2.00"),
            ("%s", 2.0, "2.0"),
            ("%r ms", 0.1, "0.1 ms"),
            ("100%% %.0f", 99.5, "100% 100"),
            ("%.2f", f64::NAN, "nan"),
            ("%5.1f", f64::NEG_INFINITY, " -inf"),
        ] {
            match percent_format(template, value) {
                Ok(text) => assert_eq!(text, expected, "{template} % {value}"),
                Err(reason) => assert_eq!(expected, "", "{template} % {value}: {reason}"),
            }
        }
        for bad in ["no conversion", "%d and %d", "%q", "%"] {
            assert!(percent_format(bad, 1.0).is_err(), "{bad}");
        }
        assert!(percent_format("%d", f64::NAN).unwrap_err().contains("integer"));
        assert_eq!(format_g(100.0, 6, false), "100");
        assert_eq!(format_g(-0.5, 6, false), "-0.5");
    }
}
