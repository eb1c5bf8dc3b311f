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
    /// Whether the group is one kind of a task graph's tasks: each task has its own kernel,
    /// cost and predecessors (see [`TaskGraph`]).
    pub graph: bool,
    /// Graph tasks that wait for this whole group.
    pub task_dependents: Vec<u32>,
    /// The longest estimated path, in µs, from the group's end to the end of the run: what
    /// waits for it (groups, graph tasks) at the least.
    pub tail_us: f32,
    /// A task's upward rank (its cost plus [`GroupPlan::tail_us`]) for groups without jitter
    /// or `Fib`.
    pub rank_us: f32,
}

/// The tasks of a task graph, laid out kind by kind after the groups: graph task `l` is task
/// `first + l`. Edges are kept both ways as compressed lists (`succ[succ_start[l]..
/// succ_start[l + 1]]`), so that 100 000 tasks cost a few arrays, not 100 000 vectors.
#[derive(Debug, Clone, Default)]
pub struct TaskGraph {
    /// The task id of graph task 0.
    pub first: u32,
    /// Each task's name.
    pub names: Vec<String>,
    /// Each task's kernel (a spin of its time, for a task given as a time).
    pub kernels: Vec<Kernel>,
    /// Whether each task's cost is a time (exact in a simulation) rather than a kernel's.
    pub timed: Vec<bool>,
    /// Each task's cost in µs at speed 1.0: its time, or its kernel's estimate.
    pub cost_us: Vec<f64>,
    /// Each task's upward rank in µs: its cost plus the longest ranked path below it.
    pub rank_us: Vec<f32>,
    /// Conditions before each task is ready: its predecessor tasks and the groups it waits for.
    pub gates: Vec<u32>,
    /// Successor lists.
    pub succ_start: Vec<u32>,
    pub succ: Vec<u32>,
    /// Predecessor lists (tasks).
    pub pred_start: Vec<u32>,
    pub pred: Vec<u32>,
    /// (task, group) for each group a task waits for.
    pub waits: Vec<(u32, usize)>,
    /// The file's task `i` is graph task `from_file[i]`.
    pub from_file: Vec<u32>,
    /// Graph task ids in an order where each comes after its predecessors.
    pub order: Vec<u32>,
    /// Each task by name, built when first asked for.
    by_name: std::sync::OnceLock<std::collections::HashMap<String, u32>>,
}

impl TaskGraph {
    /// The tasks waiting for graph task `l`.
    pub fn successors(&self, l: usize) -> &[u32] {
        &self.succ[self.succ_start[l] as usize..self.succ_start[l + 1] as usize]
    }

    /// The tasks graph task `l` waits for.
    pub fn predecessors(&self, l: usize) -> &[u32] {
        &self.pred[self.pred_start[l] as usize..self.pred_start[l + 1] as usize]
    }

    /// The graph task called `name`.
    pub fn named(&self, name: &str) -> Option<usize> {
        let by_name = self.by_name.get_or_init(|| {
            self.names
                .iter()
                .enumerate()
                .map(|(l, n)| (n.clone(), l as u32))
                .collect()
        });
        by_name.get(name).map(|&l| l as usize)
    }

    /// Tasks in the graph.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the graph has no task.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Compressed lists from per-node lists: (starts, items).
fn compress(lists: impl Iterator<Item = Vec<u32>>, nodes: usize) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(nodes + 1);
    let mut items = Vec::new();
    start.push(0);
    for list in lists {
        items.extend_from_slice(&list);
        start.push(items.len() as u32);
    }
    (start, items)
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
    /// `rank_us[k]`: the longest estimated chain from a node with `n = k` down to a leaf.
    pub rank_us: Vec<f32>,
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

impl GroupPlan {
    /// The highest rank of the group's tasks (its roots', estimated without jitter).
    fn top_rank_us(&self) -> f32 {
        match &self.fib {
            Some(fib) => fib.rank_us[fib.n as usize] + self.tail_us,
            None => self.rank_us * (1.0 + self.jitter as f32),
        }
    }
}

impl TaskGraph {
    /// Lays out the workload's (checked) task graph after `groups`, from task id `first`: one
    /// group per kind, in the order kinds first appear, each kind's tasks in file order.
    fn lay_out(
        workload: &Workload,
        by_name: &std::collections::HashMap<&str, usize>,
        groups: &mut Vec<GroupPlan>,
        first: u32,
    ) -> TaskGraph {
        let tasks = &workload.tasks;
        let resolved = crate::workload::graph::resolve(tasks, by_name)
            .expect("a loaded workload's graph is checked");
        let unit = workload.unit_ns();
        let mut kinds: Vec<(&str, Vec<usize>)> = Vec::new();
        let mut kind_index: std::collections::HashMap<&str, usize> = Default::default();
        for (i, t) in tasks.iter().enumerate() {
            let k = *kind_index.entry(t.kind()).or_insert_with(|| {
                kinds.push((t.kind(), Vec::new()));
                kinds.len() - 1
            });
            kinds[k].1.push(i);
        }
        // Each task's cost in µs at speed 1.0: its time, or its kernel's estimate.
        let cost_us: Vec<f64> = tasks
            .iter()
            .map(|t| match t.time {
                Some(time) => time * unit as f64 / 1e3,
                None => t.kernel(unit).estimate_us(),
            })
            .collect();
        let mut from_file = vec![0u32; tasks.len()];
        let mut file_order = Vec::with_capacity(tasks.len());
        for (kind, members) in &kinds {
            let at = file_order.len() as u32;
            for (j, &i) in members.iter().enumerate() {
                from_file[i] = at + j as u32;
                file_order.push(i);
            }
            let mean = members.iter().map(|&i| cost_us[i]).sum::<f64>() / members.len() as f64;
            groups.push(GroupPlan {
                name: kind.to_string(),
                kernel: tasks[members[0]].kernel(unit),
                jitter: 0.0,
                first: first + at,
                roots: members.len(),
                tree: 1,
                after: Vec::new(),
                dependents: Vec::new(),
                timed: false,
                cost_us: mean as f32,
                fib: None,
                graph: true,
                task_dependents: Vec::new(),
                tail_us: 0.0,
                rank_us: 0.0,
            });
        }
        let local = |i: usize| from_file[i];
        let preds = file_order.iter().map(|&i| {
            resolved.preds[i]
                .iter()
                .map(|&p| local(p as usize))
                .collect()
        });
        let (pred_start, pred) = compress(preds, tasks.len());
        let mut succ_lists: Vec<Vec<u32>> = vec![Vec::new(); tasks.len()];
        for (l, &i) in file_order.iter().enumerate() {
            for &p in &resolved.preds[i] {
                succ_lists[local(p as usize) as usize].push(l as u32);
            }
        }
        let (succ_start, succ) = compress(succ_lists.into_iter(), tasks.len());
        let mut waits = Vec::new();
        for (l, &i) in file_order.iter().enumerate() {
            for &g in &resolved.groups[i] {
                waits.push((l as u32, g));
                groups[g].task_dependents.push(first + l as u32);
            }
        }
        let gates = file_order
            .iter()
            .map(|&i| (resolved.preds[i].len() + resolved.groups[i].len()) as u32)
            .collect();
        let waiting = pred_start
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .collect();
        let order = crate::workload::graph::topological_order(waiting, |l| {
            succ[succ_start[l] as usize..succ_start[l + 1] as usize]
                .iter()
                .map(|&s| s as usize)
        });
        let kernels: Vec<Kernel> = file_order.iter().map(|&i| tasks[i].kernel(unit)).collect();
        TaskGraph {
            first,
            names: file_order.iter().map(|&i| tasks[i].name.clone()).collect(),
            timed: file_order
                .iter()
                .map(|&i| tasks[i].time.is_some())
                .collect(),
            cost_us: file_order.iter().map(|&i| cost_us[i]).collect(),
            kernels,
            rank_us: Vec::new(),
            gates,
            succ_start,
            succ,
            pred_start,
            pred,
            waits,
            from_file,
            order: order.into_iter().map(|l| l as u32).collect(),
            by_name: std::sync::OnceLock::new(),
        }
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
    /// The task graph, if the workload has one.
    pub graph: Option<TaskGraph>,
    /// A task graph's unit and where it came from, for the report.
    pub source: Option<PlanSource>,
}

/// A task graph's time unit and origin, as its report states them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSource {
    /// What one unit of the graph's time is, in ns.
    pub unit_ns: u64,
    /// The imported file's format and path.
    pub format: Option<(String, String)>,
    /// The recorded real run's makespan, scaled by the unit.
    pub recorded_makespan_ns: Option<u64>,
    /// Its cores.
    pub recorded_cores: Option<u64>,
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
                    let cost_us: Vec<f32> = (0..=n)
                        .map(|k| Kernel::Fib { n: k, cutoff }.estimate_us() as f32)
                        .collect();
                    // A node ends before its children are spawned: its chain is its own
                    // cost and then its longer child's.
                    let mut rank_us: Vec<f32> = Vec::with_capacity(cost_us.len());
                    for k in 0..cost_us.len() {
                        let below = if crate::kernels::fib::is_leaf(k as u32, cutoff) {
                            0.0
                        } else {
                            rank_us[k - 1].max(rank_us[k - 2])
                        };
                        rank_us.push(cost_us[k] + below);
                    }
                    Some(FibPlan {
                        n,
                        cutoff,
                        sizes,
                        cost_us,
                        rank_us,
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
                graph: false,
                task_dependents: Vec::new(),
                tail_us: 0.0,
                rank_us: 0.0,
            });
            next += g.count as u64 * u64::from(tree);
        }
        let graph = (!workload.tasks.is_empty())
            .then(|| TaskGraph::lay_out(workload, &by_name, &mut groups, next as u32));
        next += workload.tasks.len() as u64;
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
        let mut plan = Plan {
            seed,
            panic_rate: workload.faults.panic_rate,
            max_retries: workload.faults.max_retries,
            groups,
            total: next as usize,
            arrivals,
            graph,
            source: (!workload.tasks.is_empty() || workload.source.is_some()).then(|| {
                let unit_ns = workload.unit_ns();
                let source = workload.source.as_ref();
                PlanSource {
                    unit_ns,
                    format: source.map(|s| (s.format.clone(), s.file.clone())),
                    recorded_makespan_ns: source
                        .and_then(|s| s.recorded_makespan)
                        .map(|units| (units * unit_ns as f64).round() as u64),
                    recorded_cores: source.and_then(|s| s.recorded_cores),
                }
            }),
        };
        plan.rank();
        plan
    }

    /// Every task's upward rank: graph tasks' from their successors, then each group's tail
    /// (what waits for it) from the groups and graph tasks that wait for it, last first.
    fn rank(&mut self) {
        if let Some(graph) = &mut self.graph {
            let mut rank = vec![0f32; graph.len()];
            for &l in graph.order.iter().rev() {
                let l = l as usize;
                let below = graph
                    .successors(l)
                    .iter()
                    .map(|&s| rank[s as usize])
                    .fold(0.0, f32::max);
                rank[l] = graph.cost_us[l] as f32 + below;
            }
            graph.rank_us = rank;
        }
        let order = self.group_order();
        for &g in order.iter().rev() {
            let group = &self.groups[g];
            let graph = self.graph.as_ref();
            let tail = group
                .dependents
                .iter()
                .map(|&d| self.groups[d].top_rank_us())
                .chain(
                    group
                        .task_dependents
                        .iter()
                        .map(|&id| graph.map_or(0.0, |gr| gr.rank_us[(id - gr.first) as usize])),
                )
                .fold(0.0, f32::max);
            let group = &mut self.groups[g];
            group.tail_us = tail;
            group.rank_us = group.cost_us + tail;
        }
    }

    /// Task `id`'s name in outputs: a graph task's own, else `group#index`.
    pub fn task_name(&self, id: u32) -> String {
        match (self.graph_task(id), &self.graph) {
            (Some(l), Some(graph)) => graph.names[l].clone(),
            _ => {
                let (g, index) = self.locate(id);
                format!("{}#{index}", self.groups[g].name)
            }
        }
    }

    /// The groups in an order where each comes after every group it waits for (Kahn's
    /// algorithm: linear in groups and edges, no recursion). The loader refuses cycles; were
    /// one there, its groups would simply be left out.
    pub fn group_order(&self) -> Vec<usize> {
        let waiting = self.groups.iter().map(|g| g.after.len()).collect();
        crate::workload::graph::topological_order(waiting, |g| {
            self.groups[g].dependents.iter().copied()
        })
    }

    /// The graph task called `name`, by its index in [`Plan::graph`].
    pub fn graph_task_named(&self, name: &str) -> Option<usize> {
        self.graph.as_ref().and_then(|graph| graph.named(name))
    }

    /// The graph task behind task `id`, if it is one: its index in [`Plan::graph`].
    #[inline]
    pub fn graph_task(&self, id: u32) -> Option<usize> {
        self.graph
            .as_ref()
            .and_then(|gr| id.checked_sub(gr.first))
            .map(|l| l as usize)
    }

    /// A task's upward rank in µs: its estimated cost plus the longest estimated chain of
    /// what waits for it; `n` is its `Fib` parameter.
    #[inline]
    pub fn rank_us(&self, g: usize, index: u32, n: u32) -> f32 {
        let group = &self.groups[g];
        if group.graph {
            let graph = self.graph.as_ref().expect("a graph group has a graph");
            return graph.rank_us[(group.first + index - graph.first) as usize];
        }
        match &group.fib {
            Some(fib) => fib.rank_us[n as usize] + group.tail_us,
            None if group.jitter > 0.0 => self.cost_us(g, index, n) + group.tail_us,
            None => group.rank_us,
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
        if let Some(graph) = self.graph.as_ref().filter(|_| group.graph) {
            graph.kernels[(group.first + index - graph.first) as usize].clone()
        } else if group.jitter > 0.0 {
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
            None if group.graph => {
                let graph = self.graph.as_ref().expect("a graph group has a graph");
                graph.cost_us[(group.first + index - graph.first) as usize] as f32
            }
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
