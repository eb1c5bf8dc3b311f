//! Numbers for people: durations, speeds and shares as every view writes them.

use std::time::Duration;

/// A duration for people: `812 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`.
pub fn fmt_ns(ns: u64) -> String {
    let x = ns as f64;
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", x / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2} ms", x / 1e6)
    } else {
        format!("{:.2} s", x / 1e9)
    }
}

/// A long duration for people: `12 s`, `3.5 min`, `26.7 h`, `41 days`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7_200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 3.0 * 86_400.0 {
        format!("{:.1} h", s / 3_600.0)
    } else {
        format!("{:.0} days", s / 86_400.0)
    }
}

/// A speed for people: `0.5`, or `1e-9` for the tiny ones (not 300 zeros).
pub fn fmt_speed(s: f64) -> String {
    if s != 0.0 && s.abs() < 1e-3 {
        format!("{s:e}")
    } else {
        format!("{s}")
    }
}

/// `part` as a percentage of `whole`; 0 when `whole` is.
pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_ns(812), "812 ns");
        assert_eq!(fmt_ns(12_345), "12.3 µs");
        assert_eq!(fmt_ns(4_560_000), "4.56 ms");
        assert_eq!(fmt_ns(1_230_000_000), "1.23 s");
        assert_eq!(fmt_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(fmt_duration(Duration::from_secs(720)), "12.0 min");
        assert_eq!(fmt_duration(Duration::from_secs(4 * 86_400)), "4 days");
        assert_eq!(fmt_speed(1e-9), "1e-9");
        assert_eq!(pct(1, 4), 25.0);
        assert_eq!(pct(1, 0), 0.0);
    }
}
