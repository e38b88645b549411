//! Crash points for tests: `EARDRUM_FAILPOINT=<name>` makes the process
//! abort when it reaches the step of that name, as a power cut or `kill -9`
//! at exactly that moment would stop it.

use std::sync::OnceLock;

/// Aborts the process if the failpoint `name` is armed.
pub(crate) fn hit(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("EARDRUM_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name} hit: aborting");
        std::process::abort();
    }
}
