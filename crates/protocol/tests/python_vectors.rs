//! The protocol's number handling against Python itself: the tables in
//! `tests/data` were produced by `tests/data/generate_vectors.py` with
//! CPython, whose `float()`, `int()` and `repr()` the course's reference
//! server uses.

use eardrum_protocol::{parse_timestamp, parse_value, PyFloat};

fn lines(table: &str) -> impl Iterator<Item = Vec<&str>> {
    table.lines().map(|line| line.split(' ').collect())
}

#[test]
fn format_matches_python_repr_for_every_vector() {
    let table = include_str!("data/float_repr.txt");
    let mut checked = 0;
    for fields in lines(table) {
        let value = f64::from_bits(u64::from_str_radix(fields[0], 16).unwrap());
        assert_eq!(PyFloat(value).to_string(), fields[1], "bits {}", fields[0]);
        // What we print must read back to the very same double.
        assert_eq!(parse_value(fields[1].as_bytes()).map(f64::to_bits), Some(value.to_bits()));
        checked += 1;
    }
    assert!(checked > 10_000, "the table was not read: {checked} rows");
}

#[test]
fn parse_matches_python_float_and_int_for_every_vector() {
    let table = include_str!("data/parse.txt");
    let mut checked = 0;
    for fields in lines(table) {
        let (word, float_bits, int) = (fields[0], fields[1], fields[2]);
        let ours = parse_value(word.as_bytes());
        match float_bits {
            "-" => assert_eq!(ours, None, "float({word:?}) raises in Python"),
            bits => {
                let python = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
                let ours = ours.unwrap_or_else(|| panic!("float({word:?}) is accepted by Python"));
                if python.is_nan() {
                    assert!(ours.is_nan(), "{word:?}");
                } else {
                    assert_eq!(ours.to_bits(), python.to_bits(), "{word:?}");
                }
            }
        }
        let expected = (int != "-").then(|| int.parse::<i64>().unwrap());
        assert_eq!(parse_timestamp(word.as_bytes()), expected, "int({word:?})");
        checked += 1;
    }
    assert!(checked > 1_000, "the table was not read: {checked} rows");
}
