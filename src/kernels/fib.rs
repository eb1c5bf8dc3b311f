//! `Fib`'s rules, in one place: which nodes of the fork-join call tree spawn and which compute,
//! how many nodes a tree has, and how much work it holds. The plan, the loader's limits,
//! `check`'s estimate and the executor all ask here, so they cannot disagree.

use super::Kernel;

/// Whether a node `n` of a `Fib(_, cutoff)` tree computes fib(n) itself instead of spawning
/// `n - 1` and `n - 2`.
pub fn is_leaf(n: u32, cutoff: u32) -> bool {
    n < 2 || n <= cutoff
}

/// Nodes in the fork-join call tree of `Fib(n, cutoff)`. Saturates at `u64::MAX`.
pub fn tree_size(n: u32, cutoff: u32) -> u64 {
    // Rolling sizes of the trees of k-2 and k-1. They pass u64::MAX near k = 93, so the loop
    // stops long before an absurd `n` could cost time.
    let (mut before, mut last) = (1u64, 1u64);
    for k in 0..=n {
        let size = if is_leaf(k, cutoff) {
            1
        } else {
            1u64.saturating_add(last).saturating_add(before)
        };
        if size == u64::MAX {
            return size;
        }
        (before, last) = (last, size);
    }
    last
}

/// Estimated work of the whole call tree of `Fib(n, cutoff)` in µs at speed 1.0: every node's
/// estimate (an inner node's spawning, a leaf's sequential fib), added up by `n` in O(n).
pub fn tree_work_us(n: u32, cutoff: u32) -> f64 {
    let (mut before, mut last) = (0.0f64, 0.0f64);
    for k in 0..=n {
        let own = Kernel::Fib { n: k, cutoff }.estimate_us();
        let work = if is_leaf(k, cutoff) {
            own
        } else {
            own + last + before
        };
        (before, last) = (last, work);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_work_follow_the_tree() {
        assert_eq!(tree_size(30, 0), 2_692_537);
        assert_eq!(tree_size(5, 10), 1);
        assert_eq!(tree_size(2, 0), 3);
        assert_eq!(tree_size(200, 0), u64::MAX);
        // A leaf is its own work; a node above the cutoff adds its children's.
        let leaf = Kernel::Fib { n: 10, cutoff: 10 }.estimate_us();
        assert!((tree_work_us(10, 10) - leaf).abs() < 1e-9);
        let spawn = Kernel::Fib { n: 12, cutoff: 10 }.estimate_us();
        let expected = spawn
            + (Kernel::Fib { n: 11, cutoff: 10 }.estimate_us()
                + leaf
                + Kernel::Fib { n: 9, cutoff: 10 }.estimate_us())
            + leaf;
        assert!((tree_work_us(12, 10) - expected).abs() < 1e-6 * expected);
        assert!(is_leaf(1, 0) && is_leaf(7, 7) && !is_leaf(8, 7));
    }
}
