//! The Python package (crates/python): built with maturin into a virtual
//! environment of its own and its pytest suite run against the `eardrum`
//! binary cargo built. maturin and pytest come from PyPI at the versions
//! crates/python/requirements-test.txt pins.

mod common;

use common::text;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `command`, failing the test with its output if it fails.
fn check(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|error| panic!("{what}: {error}"));
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{what} failed:\n{printed}");
    printed
}

#[test]
#[ignore = "needs maturin and pytest from PyPI: `cargo xtask test` runs it"]
fn the_python_package_builds_and_its_pytest_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let venv = scratch.join("python-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        check(Command::new("python3").args(["-m", "venv"]).arg(&venv), "creating a virtual environment");
    }
    check(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(root.join("crates/python/requirements-test.txt")),
        "installing maturin and pytest",
    );
    // A target folder of its own: the one of this `cargo test` may be
    // locked by it.
    check(
        Command::new(venv.join("bin/maturin"))
            .args(["develop", "--quiet", "--manifest-path"])
            .arg(root.join("crates/python/Cargo.toml"))
            .env("VIRTUAL_ENV", &venv)
            .env("CARGO_TARGET_DIR", scratch.join("python-build")),
        "building the package with maturin",
    );
    let printed = check(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root.join("crates/python/tests"))
            .env("EARDRUM_BIN", env!("CARGO_BIN_EXE_eardrum")),
        "the pytest suite",
    );
    println!("{printed}");
    assert!(printed.contains(" passed"), "{printed}");
}
