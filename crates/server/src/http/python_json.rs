//! JSON as graphite-web writes it, with Python's `json.dumps`: `", "` and
//! `": "` between items, and characters beyond ASCII escaped, so that a
//! reply is graphite-web's to the byte; and the JSONP callback names served.

use std::fmt::Write as _;

/// `text` as a JSON string the way Python's `json.dumps` writes it (as
/// graphite-web does): characters beyond ASCII and controls as `\uXXXX`
/// escapes, so that replies are the same byte for byte.
pub(crate) fn python_json_string(json: &mut String, text: &str) {
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            '\u{8}' => json.push_str("\\b"),
            '\u{c}' => json.push_str("\\f"),
            c if c.is_ascii() && c >= ' ' => json.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(json, "\\u{unit:04x}");
                }
            }
        }
    }
    json.push('"');
}

/// `items` as a JSON list of strings, as `json.dumps` writes it.
pub(crate) fn python_json_list<'a>(json: &mut String, items: impl IntoIterator<Item = &'a str>) {
    json.push('[');
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        python_json_string(json, item);
    }
    json.push(']');
}

/// `value` as Python's `json.dumps` writes it: `", "` and `": "` on one
/// line, or with `indent` (graphite-web's `pretty`) one item a line,
/// `","` between them, keys sorted. Floats print as Python prints them
/// (`1.0`); a float that is infinite as `1e9999`, graphite-web's spelling.
pub(crate) fn python_json_value(json: &mut String, value: &serde_json::Value, indent: Option<usize>) {
    write_value(json, value, indent, 0);
}

fn write_value(json: &mut String, value: &serde_json::Value, indent: Option<usize>, depth: usize) {
    use serde_json::Value;
    let newline = |json: &mut String, depth: usize| {
        if let Some(width) = indent {
            json.push('\n');
            json.extend(std::iter::repeat_n(' ', width * depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Value::Null => json.push_str("null"),
        Value::Bool(true) => json.push_str("true"),
        Value::Bool(false) => json.push_str("false"),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() && float.is_infinite() => {
                json.push_str(if float > 0.0 { "1e9999" } else { "-1e9999" })
            }
            Some(float) if number.is_f64() => {
                let _ = write!(json, "{}", eardrum_protocol::PyFloat(float));
            }
            _ => {
                let _ = write!(json, "{number}");
            }
        },
        Value::String(text) => python_json_string(json, text),
        Value::Array(items) if items.is_empty() => json.push_str("[]"),
        Value::Array(items) => {
            json.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    json.push_str(separator);
                }
                newline(json, depth + 1);
                write_value(json, item, indent, depth + 1);
            }
            newline(json, depth);
            json.push(']');
        }
        Value::Object(fields) if fields.is_empty() => json.push_str("{}"),
        Value::Object(fields) => {
            let mut entries: Vec<(&String, &Value)> = fields.iter().collect();
            if indent.is_some() {
                entries.sort_by_key(|(key, _)| key.as_str());
            }
            json.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    json.push_str(separator);
                }
                newline(json, depth + 1);
                python_json_string(json, key);
                json.push_str(": ");
                write_value(json, item, indent, depth + 1);
            }
            newline(json, depth);
            json.push('}');
        }
    }
}

/// A dotted JavaScript name of at most 128 characters: `draw`, `app.on_data`.
pub(crate) fn is_javascript_name(name: &str) -> bool {
    name.len() <= 128
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}
