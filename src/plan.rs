//! A workload compiled for a run: where each task lives in the task table, when it arrives,
//! what it waits for, and what it is estimated to cost.
//!
//! Task ids are laid out group by group. A `Fib` root's whole fork-join call tree is laid out
//! in preorder behind it, so a task that spawns knows its children's ids without asking anyone
//! (the left child is the next id, the right child follows the left child's subtree): spawning
//! needs no lock and no shared counter.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::kernels::Kernel;
use crate::workload::{Arrival, Workload, fib_tree_size};

/// A compiled group.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// The group's name.
    pub name: String,
    /// The kernel before jitter.
    pub kernel: Kernel,
    /// Size jitter.
    pub jitter: f64,
    /// First task id of the group.
    pub first: u32,
    /// Root tasks (`count`).
    pub roots: usize,
    /// Tasks per root: 1, or the size of a `Fib` call tree.
    pub tree: u32,
    /// Prerequisite groups (`after`).
    pub after: Vec<usize>,
    /// Groups that wait for this one.
    pub dependents: Vec<usize>,
    /// Whether roots arrive over time rather than at the start.
    pub timed: bool,
    /// Cost estimate of one task in µs, without jitter (for `Fib`, see [`FibPlan`]).
    pub cost_us: f32,
    /// Fork-join layout, for `Fib` groups.
    pub fib: Option<FibPlan>,
}

/// The fork-join layout of a `Fib` group.
#[derive(Debug, Clone)]
pub struct FibPlan {
    /// The roots' `n`.
    pub n: u32,
    /// Below or at this `n` a task computes sequentially.
    pub cutoff: u32,
    /// `sizes[k]`: tasks in the call tree of a node with `n = k`.
    pub sizes: Vec<u32>,
    /// `cost_us[k]`: estimated cost of one node with `n = k`.
    pub cost_us: Vec<f32>,
}

impl FibPlan {
    /// Whether a node with this `n` computes sequentially instead of spawning.
    pub fn is_leaf(&self, n: u32) -> bool {
        crate::kernels::fib::is_leaf(n, self.cutoff)
    }

    /// Whether a node with this `n` has no computation of its own: an inner node only spawns
    /// its children, and a leaf below 2 is its own answer (`fib(0) = 0`, `fib(1) = 1`).
    pub fn is_trivial(&self, n: u32) -> bool {
        n < 2 || !self.is_leaf(n)
    }

    /// Nodes on the longest root-to-leaf chain.
    pub fn depth(&self) -> u32 {
        let leaf = self.cutoff.max(1);
        if self.n <= leaf { 1 } else { self.n - leaf + 1 }
    }
}

/// A workload compiled for a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Seed of every random choice.
    pub seed: u64,
    /// Chance that an attempt panics.
    pub panic_rate: f64,
    /// Attempts after the first.
    pub max_retries: u32,
    /// The groups, in file order.
    pub groups: Vec<GroupPlan>,
    /// Tasks in all.
    pub total: usize,
    /// Timed root arrivals: (ns after the start, task id), in time order.
    pub arrivals: Vec<(u64, u32)>,
}

/// A stream of 64-bit values from a few words: splitmix64's finaliser, for seeded per-task
/// choices (jitter, faults) that must not depend on which worker asks or in what order.
pub fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ c.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform value in [0, 1) from [`mix`].
pub fn unit(a: u64, b: u64, c: u64) -> f64 {
    (mix(a, b, c) >> 11) as f64 / (1u64 << 53) as f64
}

impl Plan {
    /// Compiles a checked workload with `seed` (the file's or the command line's).
    pub fn new(workload: &Workload, seed: u64) -> Plan {
        let by_name: std::collections::HashMap<&str, usize> = workload
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        let index = |name: &str| by_name.get(name).copied();
        let mut groups = Vec::with_capacity(workload.groups.len());
        let mut next = 0u64;
        for g in &workload.groups {
            let fib = match g.kernel {
                Kernel::Fib { n, cutoff } => {
                    let sizes = (0..=n).map(|k| fib_tree_size(k, cutoff) as u32).collect();
                    let cost_us = (0..=n)
                        .map(|k| Kernel::Fib { n: k, cutoff }.estimate_us() as f32)
                        .collect();
                    Some(FibPlan {
                        n,
                        cutoff,
                        sizes,
                        cost_us,
                    })
                }
                _ => None,
            };
            let tree = fib.as_ref().map_or(1, |f| f.sizes[f.n as usize]);
            groups.push(GroupPlan {
                name: g.name.clone(),
                kernel: g.kernel.clone(),
                jitter: g.jitter,
                first: next as u32,
                roots: g.count,
                tree,
                after: g.after.iter().filter_map(|a| index(a)).collect(),
                dependents: Vec::new(),
                timed: g.arrival != Arrival::AtStart,
                cost_us: g.kernel.estimate_us() as f32,
                fib,
            });
            next += g.count as u64 * u64::from(tree);
        }
        for g in 0..groups.len() {
            for i in 0..groups[g].after.len() {
                let a = groups[g].after[i];
                groups[a].dependents.push(g);
            }
        }
        let mut arrivals = Vec::new();
        for (gi, (g, plan)) in workload.groups.iter().zip(&groups).enumerate() {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(seed, gi as u64, 0xA11));
            let mut t = 0.0f64;
            for i in 0..g.count {
                let id = plan.first + (i as u32) * plan.tree;
                match g.arrival {
                    Arrival::AtStart => break,
                    Arrival::Every { us } => arrivals.push(((i as f64 * us * 1e3) as u64, id)),
                    Arrival::Poisson { per_sec } => {
                        // Exponential gaps: -ln(1 - u) / rate, u in [0, 1).
                        let u: f64 = rng.random();
                        t += -(1.0 - u).ln() / per_sec;
                        arrivals.push(((t * 1e9) as u64, id));
                    }
                }
            }
        }
        arrivals.sort_unstable();
        Plan {
            seed,
            panic_rate: workload.faults.panic_rate,
            max_retries: workload.faults.max_retries,
            groups,
            total: next as usize,
            arrivals,
        }
    }

    /// The group of task `id` and the task's index within it.
    #[inline]
    pub fn locate(&self, id: u32) -> (usize, u32) {
        let g = self.groups.partition_point(|g| g.first <= id) - 1;
        (g, id - self.groups[g].first)
    }

    /// Root task ids of group `g`.
    pub fn roots(&self, g: usize) -> impl Iterator<Item = u32> + '_ {
        let group = &self.groups[g];
        (0..group.roots as u32).map(move |i| group.first + i * group.tree)
    }

    /// The jitter factor of task `index` of group `g`, in [1 − jitter, 1 + jitter].
    pub fn jitter_factor(&self, g: usize, index: u32) -> f64 {
        let jitter = self.groups[g].jitter;
        1.0 + jitter * (2.0 * unit(self.seed, g as u64, u64::from(index)) - 1.0)
    }

    /// The kernel task `index` of group `g` runs (jitter applied).
    pub fn kernel(&self, g: usize, index: u32) -> Kernel {
        let group = &self.groups[g];
        if group.jitter > 0.0 {
            group.kernel.scaled(self.jitter_factor(g, index))
        } else {
            group.kernel.clone()
        }
    }

    /// Estimated cost of a task in µs at speed 1.0; `n` is its `Fib` parameter.
    #[inline]
    pub fn cost_us(&self, g: usize, index: u32, n: u32) -> f32 {
        let group = &self.groups[g];
        match &group.fib {
            Some(fib) => fib.cost_us[n as usize],
            None if group.jitter > 0.0 => self.kernel(g, index).estimate_us() as f32,
            None => group.cost_us,
        }
    }

    /// Whether attempt `attempt` of task `id` is chosen to panic.
    #[inline]
    pub fn injects_fault(&self, id: u32, attempt: u32) -> bool {
        self.panic_rate > 0.0
            && unit(self.seed ^ 0xFA17, u64::from(id), u64::from(attempt)) < self.panic_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::parse;

    fn plan(text: &str) -> Plan {
        let w = parse(text, "t").unwrap().workload;
        Plan::new(&w, w.seed)
    }

    #[test]
    fn fib_trees_are_laid_out_in_preorder() {
        let p = plan(
            r#"(name: "x", groups: [(name: "s", kernel: Spin(us: 1.0), count: 2), (name: "f", kernel: Fib(n: 4, cutoff: 0), count: 2)])"#,
        );
        let f = p.groups[1].fib.as_ref().unwrap();
        // fib tree of 4: 4 -> (3 -> (2 -> 1, 0), 1), (2 -> 1, 0): 9 nodes.
        assert_eq!(f.sizes[4], 9);
        assert_eq!(p.total, 2 + 2 * 9);
        assert_eq!(p.roots(1).collect::<Vec<_>>(), vec![2, 11]);
        assert_eq!(p.locate(0), (0, 0));
        assert_eq!(p.locate(12), (1, 10));
        assert_eq!(f.depth(), 4);
    }

    #[test]
    fn arrivals_are_seeded_and_sorted() {
        let text = r#"(name: "x", seed: 3, groups: [(name: "p", kernel: Spin(us: 1.0), count: 100, arrival: Poisson(per_sec: 1000.0)),
            (name: "e", kernel: Spin(us: 1.0), count: 3, arrival: Every(us: 250.0))])"#;
        let a = plan(text);
        assert_eq!(a.arrivals, plan(text).arrivals, "same seed, same arrivals");
        assert!(a.arrivals.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(
            a.arrivals.contains(&(500_000, 102)),
            "Every: the third task arrives at 2 periods"
        );
        // 100 arrivals at 1000/s take about 0.1 s.
        let last = a.arrivals.iter().map(|x| x.0).max().unwrap();
        assert!((50_000_000..200_000_000).contains(&last), "{last}");
    }

    #[test]
    fn jitter_stays_in_range_and_faults_follow_the_rate() {
        let p = plan(
            r#"(name: "x", faults: (panic_rate: 0.25), groups: [(name: "s", kernel: Spin(us: 1.0), count: 2, jitter: 0.5)])"#,
        );
        for i in 0..1000 {
            let f = p.jitter_factor(0, i);
            assert!((0.5..=1.5).contains(&f));
        }
        let hits = (0..10_000).filter(|&id| p.injects_fault(id, 1)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
    }
}
