//! The served functions as graphite-web's `/functions` describes them, for
//! Grafana's function editor: name, signature, group and parameters (with
//! their types, defaults, options and suggestions) as graphite-web 1.1.10
//! gives them, so that the editor offers the same choices; descriptions in
//! eardrum's words. The server's differential test compares every field
//! but the description with graphite-web's own.
//!
//! `catalogue.json` holds one entry per function, in graphite-web's order.
//! JSON has no infinity: a default of infinity (`intOrInf` parameters) is
//! written there as the string [`INFINITY`].

use serde_json::{Map, Value};
use std::sync::LazyLock;

/// The module graphite-web names for every function.
pub const MODULE: &str = "graphite.render.functions";
/// How `catalogue.json` writes a default of infinity.
pub const INFINITY: &str = "Infinity";

static CATALOGUE: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let entries: Vec<Map<String, Value>> =
        serde_json::from_str(include_str!("catalogue.json")).unwrap_or_default();
    entries
        .into_iter()
        .map(|mut entry| {
            // graphite-web's field order, with the module after the
            // description.
            let mut ordered = Map::new();
            for field in ["name", "function", "description"] {
                ordered.insert(field.to_owned(), entry.remove(field).unwrap_or(Value::Null));
            }
            ordered.insert("module".to_owned(), Value::from(MODULE));
            for field in ["group", "params"] {
                ordered.insert(field.to_owned(), entry.remove(field).unwrap_or(Value::Null));
            }
            Value::Object(ordered)
        })
        .collect()
});

/// Every served function's entry, in graphite-web's order.
pub fn catalogue() -> &'static [Value] {
    &CATALOGUE
}

/// The entry of the function called `name`, if it is served.
pub fn describe(name: &str) -> Option<&'static Value> {
    CATALOGUE.iter().find(|entry| entry["name"] == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads() {
        let read: Result<Vec<Map<String, Value>>, _> = serde_json::from_str(include_str!("catalogue.json"));
        let read = read.map(|entries| entries.len()).map_err(|error| error.to_string());
        assert_eq!(read, Ok(catalogue().len()), "every entry reads");
    }

    #[test]
    fn every_served_function_is_described_and_every_described_one_served() {
        let described: Vec<&str> = catalogue().iter().filter_map(|entry| entry["name"].as_str()).collect();
        let served: Vec<&str> = super::super::FUNCTIONS
            .split(", ")
            .flat_map(|item| {
                let (name, alias) = item.split_once(" (").unwrap_or((item, ""));
                [name, alias.trim_end_matches(')')]
            })
            .filter(|name| !name.is_empty())
            .collect();
        for name in &served {
            assert!(described.contains(name), "{name} is served but not in catalogue.json");
        }
        for name in &described {
            assert!(served.contains(name), "{name} is in catalogue.json but not served");
        }
        assert_eq!(described.len(), served.len(), "each once");
        let entry = describe("keepLastValue").unwrap();
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "function", "description", "module", "group", "params"]);
        assert_eq!(entry["params"][1]["default"], INFINITY);
        assert!(describe("events").is_none());
    }
}
