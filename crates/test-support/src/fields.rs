//! Each number of a serializable snapshot changed in turn, for tests that
//! a reader of the snapshot (a text rendering, an exposition) shows every
//! field: a field it leaves out changes nothing it prints.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// How much each number is changed by: enough to show in any rounding a
/// reader applies (bytes in KiB, milliseconds in tenths of seconds).
const CHANGE: u64 = 123_456;

/// `base` with every number in it made different from every other (1, 2,
/// 3, … in field order), so that no two fields can be mistaken for each
/// other.
pub fn numbered<T: Serialize + DeserializeOwned>(base: &T) -> T {
    let mut value = serde_json::to_value(base).unwrap();
    let mut next = 0;
    for_each_number(&mut value, "", &mut |_, number| {
        next += 1;
        *number = if number.is_u64() { next.into() } else { (next as f64 + 0.5).into() };
    });
    serde_json::from_value(value).unwrap()
}

/// `base` again once for each number in it, with that number changed:
/// each with the number's path (`last_checkpoint.duration_ms`).
///
/// Panics on a `null` in `base`: give every optional part a value, or its
/// fields go untested.
pub fn each_number_changed<T: Serialize + DeserializeOwned>(base: &T) -> Vec<(String, T)> {
    let mut base = serde_json::to_value(base).unwrap();
    let mut paths = Vec::new();
    for_each_number(&mut base, "", &mut |path, _| paths.push(path.to_owned()));
    paths
        .into_iter()
        .map(|path| {
            let mut changed = base.clone();
            for_each_number(&mut changed, "", &mut |at, number| {
                if at == path {
                    *number = match number.as_u64() {
                        Some(whole) => (whole + CHANGE).into(),
                        None => (number.as_f64().unwrap() + CHANGE as f64).into(),
                    };
                }
            });
            (path, serde_json::from_value(changed).unwrap())
        })
        .collect()
}

fn for_each_number(value: &mut Value, path: &str, visit: &mut impl FnMut(&str, &mut Value)) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                for_each_number(field, &path, visit);
            }
        }
        Value::Number(_) => visit(path, value),
        Value::Null => panic!("{path} is null: give it a value, or its fields go untested"),
        _ => {}
    }
}
