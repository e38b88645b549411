//! The versions that make ClickHouse's reads last-write-wins.

/// Versions that grow with time on every front end and never tie between
/// two: microseconds since the epoch times 4096, plus the front end's
/// number (0 to 4095). Within one front end each version is above the
/// last, however the clock moves, so two writes to one point keep their
/// order.
#[derive(Debug)]
pub(crate) struct Version {
    node: u64,
    last: u64,
}

impl Version {
    /// Versions for front end `node` (taken modulo 4096).
    pub(crate) fn new(node: u16) -> Version {
        Version { node: u64::from(node) % 4096, last: 0 }
    }

    /// The next version, from the time now in microseconds since the epoch.
    pub(crate) fn next(&mut self, now_micros: u64) -> u64 {
        let micros = now_micros.max((self.last >> 12) + 1);
        self.last = micros << 12 | self.node;
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_grow_and_never_tie_between_front_ends() {
        let (mut a, mut b) = (Version::new(1), Version::new(2));
        let first = a.next(1_000);
        assert!(a.next(1_000) > first, "same microsecond");
        assert!(a.next(500) > first, "the clock went back");
        assert_ne!(a.next(2_000), b.next(2_000));
        assert!(b.next(3_000) > a.next(2_999));
    }
}
