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

/// A dotted JavaScript name of at most 128 characters: `draw`, `app.on_data`.
pub(crate) fn is_javascript_name(name: &str) -> bool {
    name.len() <= 128
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}
