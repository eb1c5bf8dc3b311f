//! [`Times`]: a distribution of durations (a group's task bodies, its waits) that costs little
//! when it holds few values and stays exact where exactness matters.
//!
//! A workload may have 100 000 groups of one task, or one group of a million tasks, and every
//! worker keeps these per group it ran. A histogram per group and worker would cost kilobytes
//! each whether it saw one value or none; so a `Times` keeps its first values as they are, and
//! only past [`FEW`] of them moves them into an hdrhistogram. The count, sum, smallest and
//! largest value are always exact: a lower bound built from them (the critical path) is never
//! inflated by a histogram bucket's width, and percentiles never exceed the true largest value.

use hdrhistogram::Histogram;

/// Values kept as they are before a histogram is worth its size.
pub const FEW: usize = 32;

/// A distribution of durations in ns.
#[derive(Debug, Clone, Default)]
pub struct Times {
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
    /// The values while there are at most [`FEW`]; empty once `hist` holds them.
    few: Vec<u64>,
    /// Every value, once there were more than [`FEW`].
    hist: Option<Box<Histogram<u64>>>,
}

fn histogram() -> Box<Histogram<u64>> {
    // Auto-resizing, two significant figures (1 %): 1 to 5 figures are valid, so this cannot fail.
    Box::new(Histogram::new(2).expect("2 significant figures are valid"))
}

/// Two distributions are equal when they hold the same values, in whatever order they came.
impl PartialEq for Times {
    fn eq(&self, other: &Times) -> bool {
        (self.count, self.sum, self.min, self.max) == (other.count, other.sum, other.min, other.max)
            && self.counts() == other.counts()
    }
}

impl Times {
    /// An empty distribution (allocates nothing).
    pub fn new() -> Times {
        Times::default()
    }

    /// Adds `n` values of `ns`.
    pub fn record_n(&mut self, ns: u64, n: u64) {
        if n == 0 {
            return;
        }
        if self.count == 0 {
            self.min = ns;
            self.max = ns;
        } else {
            self.min = self.min.min(ns);
            self.max = self.max.max(ns);
        }
        self.count += n;
        self.sum += u128::from(ns) * u128::from(n);
        match &mut self.hist {
            // Auto-resizing histograms grow to any value, so recording cannot fail.
            Some(h) => drop(h.record_n(ns, n)),
            None if self.few.len() as u64 + n <= FEW as u64 => {
                self.few.extend(std::iter::repeat_n(ns, n as usize));
            }
            None => {
                let mut h = histogram();
                for &v in &self.few {
                    let _ = h.record(v);
                }
                let _ = h.record_n(ns, n);
                self.few = Vec::new();
                self.hist = Some(h);
            }
        }
    }

    /// Adds one value.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        // The common case of a busy group, without `record_n`'s general arithmetic.
        if let Some(h) = &mut self.hist {
            self.count += 1;
            self.sum += u128::from(ns);
            self.min = self.min.min(ns);
            self.max = self.max.max(ns);
            // Auto-resizing histograms grow to any value, so recording cannot fail.
            let _ = h.record(ns);
        } else {
            self.record_n(ns, 1);
        }
    }

    /// Adds every value of `other`.
    pub fn add(&mut self, other: &Times) {
        match &other.hist {
            Some(h) => {
                if self.hist.is_none() {
                    let mut mine = histogram();
                    for &v in &self.few {
                        let _ = mine.record(v);
                    }
                    self.few = Vec::new();
                    self.hist = Some(mine);
                }
                if let Some(mine) = &mut self.hist {
                    // Both auto-resize, so adding cannot run out of range.
                    let _ = mine.add(&**h);
                }
                if self.count == 0 {
                    (self.min, self.max) = (other.min, other.max);
                } else if other.count > 0 {
                    self.min = self.min.min(other.min);
                    self.max = self.max.max(other.max);
                }
                self.count += other.count;
                self.sum += other.sum;
            }
            None => {
                for &v in &other.few {
                    self.record(v);
                }
            }
        }
    }

    /// Every value of all of `parts` in one distribution.
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Times>) -> Times {
        let mut all = Times::new();
        for part in parts {
            all.add(part);
        }
        all
    }

    /// How many values.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The smallest value (exact), 0 if empty.
    pub fn min(&self) -> u64 {
        self.min
    }

    /// The largest value (exact), 0 if empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The sum of the values (exact).
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// The mean (exact up to rounding), 0 if empty.
    pub fn mean(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            (self.sum / u128::from(self.count)) as u64
        }
    }

    /// The value at quantile `q` in [0, 1]: exact while the values are few, within the
    /// histogram's 1 % otherwise, and never outside [min, max].
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        match &self.hist {
            Some(h) => h.value_at_quantile(q).clamp(self.min, self.max),
            None => {
                let mut sorted = self.few.clone();
                sorted.sort_unstable();
                // The same rank rule as hdrhistogram: the smallest value with at least
                // q of the values at or below it.
                let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
                sorted[rank.clamp(1, sorted.len()) - 1]
            }
        }
    }

    /// The values as (value, count) pairs in increasing order; values in histogram mode are
    /// bucket values, within 1 %.
    pub fn counts(&self) -> Vec<(u64, u64)> {
        match &self.hist {
            Some(h) => h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            None => {
                let mut sorted = self.few.clone();
                sorted.sort_unstable();
                let mut out: Vec<(u64, u64)> = Vec::new();
                for v in sorted {
                    match out.last_mut() {
                        Some((last, n)) if *last == v => *n += 1,
                        _ => out.push((v, 1)),
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_are_exact_and_many_stay_within_bounds() {
        let mut t = Times::new();
        assert_eq!((t.len(), t.quantile(0.5), t.max()), (0, 0, 0));
        for v in [60_000_123, 60_000_456, 59_999_999] {
            t.record(v);
        }
        assert_eq!(t.max(), 60_000_456);
        assert_eq!(t.min(), 59_999_999);
        assert_eq!(t.quantile(0.5), 60_000_123);
        assert_eq!(t.quantile(1.0), 60_000_456);
        assert_eq!(t.quantile(0.0), 59_999_999);
        for v in 0..1000u64 {
            t.record(60_000_000 + v * 7);
        }
        assert!(t.hist.is_some() && t.few.is_empty());
        assert_eq!(t.len(), 1003);
        assert!(t.quantile(0.99) <= t.max(), "never above the exact max");
        assert!(t.quantile(0.0) >= t.min(), "never below the exact min");
    }

    #[test]
    fn adding_keeps_every_value_whichever_side_holds_a_histogram() {
        let values: Vec<u64> = (1..=100).map(|v| v * 1000).collect();
        let mut whole = Times::new();
        values.iter().for_each(|&v| whole.record(v));
        for split in [0, 5, 32, 33, 60, 100] {
            let (a, b) = values.split_at(split);
            let mut left = Times::new();
            let mut right = Times::new();
            a.iter().for_each(|&v| left.record(v));
            b.iter().for_each(|&v| right.record(v));
            left.add(&right);
            assert_eq!(left.len(), 100, "split {split}");
            assert_eq!(left.sum(), whole.sum());
            assert_eq!((left.min(), left.max()), (1000, 100_000));
            assert_eq!(left.quantile(0.5), whole.quantile(0.5), "split {split}");
        }
    }

    #[test]
    fn record_n_counts_many_at_once() {
        let mut t = Times::new();
        t.record_n(0, 5);
        assert_eq!((t.len(), t.max(), t.counts()), (5, 0, vec![(0, 5)]));
        t.record_n(10, 1000);
        assert_eq!(t.len(), 1005);
        assert_eq!(t.quantile(0.001), 0);
        assert_eq!(t.max(), 10);
    }
}
