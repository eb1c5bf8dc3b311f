//! Task graphs in the workload format: tasks with their own cost and their own predecessors.
//!
//! A group says "this many tasks of the same kind"; a task graph says, task by task, what each
//! costs and which tasks it waits for, as a workflow system, a build or a Taskflow graph does.
//! Both may stand in one workload: a graph task may wait for a whole group (its `after` names
//! the group), but a group never waits for a graph task, so the two levels cannot form a cycle
//! between them.
//!
//! ```ron
//! Workload(
//!     name: "diamond",
//!     tasks: [
//!         Task(name: "load", time: 2.0),
//!         Task(name: "left", kind: "filter", time: 5.0, after: ["load"]),
//!         Task(name: "right", kind: "filter", kernel: Blur(width: 256, height: 256, radius: 2), after: ["load"]),
//!         Task(name: "join", time: 1.0, after: ["left", "right"]),
//!     ],
//! )
//! ```
//!
//! A task's cost is a `time` in the workload's unit (`time_unit_ns`, 1 ms unless the file or
//! `--unit` says otherwise), run for real as a calibrated spin of that length and taken exactly
//! in a simulation, or a `kernel`, which does its real work. Tasks of one `kind` share a colour
//! and a line in every report; a task without one takes its kind from its name (see
//! [`kind_of`]). The importers (`crate::import`) write this form.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::kernels::Kernel;

/// One unit of a graph's time, unless the file or `--unit` says otherwise: 1 ms.
pub const DEFAULT_UNIT_NS: u64 = 1_000_000;

/// One task of a task graph, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename = "Task")]
pub struct GraphTask {
    /// Unique among the tasks; shown wherever one task is named.
    pub name: String,
    /// Tasks of one kind share a colour and a line in the reports; default: from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its cost in the workload's time unit (an imported time): a calibrated spin that long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    /// Its real work, instead of a `time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<Kernel>,
    /// Tasks (or whole groups) that must be done before it starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

impl GraphTask {
    /// Its kind: the one written, else derived from its name ([`kind_of`]).
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or_else(|| kind_of(&self.name))
    }

    /// The kernel it runs when its workload's unit is `unit_ns`: its own, or a spin of its time.
    pub fn kernel(&self, unit_ns: u64) -> Kernel {
        match (&self.kernel, self.time) {
            (Some(kernel), _) => kernel.clone(),
            (None, time) => Kernel::Spin {
                us: time.unwrap_or(0.0) * unit_ns as f64 / 1e3,
            },
        }
    }
}

/// Where an imported graph came from, kept so that its report can say so.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSource {
    /// The file's format: `stg`, `wfformat` or `dot`.
    pub format: String,
    /// The file it was imported from.
    pub file: String,
    /// How long the recorded real run took, in the graph's own units (WfFormat's
    /// `makespanInSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_makespan: Option<f64>,
    /// On how many cores that run ran, where the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_cores: Option<u64>,
}

/// The kind a task named `name` belongs to when none is written: the name without a trailing
/// instance number (`mProject_ID0000012` → `mProject`, `blur_3` → `blur`, `n17` → `n`), or
/// `task` where nothing but a number is left (the STG's tasks are numbered).
pub fn kind_of(name: &str) -> &str {
    let stem = match name.rfind("_ID") {
        Some(at) if name[at + 3..].chars().all(|c| c.is_ascii_digit()) => &name[..at],
        _ => name.trim_end_matches(|c: char| c.is_ascii_digit()),
    };
    let stem = stem.trim_end_matches(['_', '-', '.', ':', '#']);
    if stem.is_empty() { "task" } else { stem }
}

/// A graph's tasks resolved against each other and the workload's groups: for each task, the
/// tasks and the groups it waits for, by index.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Per task: the tasks it waits for (each once).
    pub preds: Vec<Vec<u32>>,
    /// Per task: the groups it waits for (each once).
    pub groups: Vec<Vec<usize>>,
}

/// Resolves every task's `after` (a task's name first, else a group's) and checks the graph:
/// unique names, known predecessors, no task waiting for itself, times finite and not
/// negative, kernels valid, and no cycle. The error names the task it is about.
pub fn resolve(
    tasks: &[GraphTask],
    groups: &HashMap<&str, usize>,
) -> Result<Resolved, (String, String)> {
    let mut index: HashMap<&str, u32> = HashMap::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let about = |message: String| (t.name.clone(), message);
        if let Some(problem) = super::name_problem(&t.name) {
            return Err(about(format!(
                "task \"{}\": the name {problem}",
                crate::escape::printable(&t.name)
            )));
        }
        if index.insert(t.name.as_str(), i as u32).is_some() {
            return Err(about(format!(
                "task \"{}\": the name is used by an earlier task too; task names must be unique",
                t.name
            )));
        }
        if let Some(problem) = t.kind.as_deref().and_then(super::name_problem) {
            return Err(about(format!("task \"{}\": `kind` {problem}", t.name)));
        }
        match (t.time, &t.kernel) {
            (Some(_), Some(_)) => {
                return Err(about(format!(
                    "task \"{}\": give either `time` or `kernel`, not both",
                    t.name
                )));
            }
            (None, None) => {
                return Err(about(format!(
                    "task \"{}\": give its cost, as `time` (in the workload's unit) or as a `kernel`",
                    t.name
                )));
            }
            (Some(time), None) if !(time.is_finite() && time >= 0.0) => {
                return Err(about(format!(
                    "task \"{}\": `time` must be a finite number >= 0, got {time}",
                    t.name
                )));
            }
            (None, Some(Kernel::Fib { .. })) => {
                return Err(about(format!(
                    "task \"{}\": a graph task cannot be `Fib` (it spawns a tree of its own): put fork-join work in a group",
                    t.name
                )));
            }
            (None, Some(kernel)) => kernel.validate().map_err(|e| {
                about(format!(
                    "task \"{}\": kernel {}: {e}",
                    t.name,
                    kernel.name()
                ))
            })?,
            (Some(_), None) => {}
        }
    }
    let mut resolved = Resolved {
        preds: Vec::with_capacity(tasks.len()),
        groups: Vec::with_capacity(tasks.len()),
    };
    for (i, t) in tasks.iter().enumerate() {
        let mut preds = Vec::with_capacity(t.after.len());
        let mut waits = Vec::new();
        for name in &t.after {
            if let Some(&p) = index.get(name.as_str()) {
                if p as usize == i {
                    return Err((
                        t.name.clone(),
                        format!("task \"{}\": `after` names the task itself", t.name),
                    ));
                }
                preds.push(p);
            } else if let Some(&g) = groups.get(name.as_str()) {
                waits.push(g);
            } else {
                return Err((
                    t.name.clone(),
                    format!(
                        "task \"{}\": `after` names \"{}\", which is neither a task nor a group",
                        t.name,
                        crate::escape::printable(name)
                    ),
                ));
            }
        }
        preds.sort_unstable();
        preds.dedup();
        waits.sort_unstable();
        waits.dedup();
        resolved.preds.push(preds);
        resolved.groups.push(waits);
    }
    if let Some(cycle) = find_cycle(&resolved.preds) {
        let names: Vec<&str> = cycle.iter().map(|&i| tasks[i].name.as_str()).collect();
        return Err((
            names[0].to_string(),
            format!(
                "dependency cycle among tasks: {} (each waits for the next in `after`)",
                shorten(&names)
            ),
        ));
    }
    Ok(resolved)
}

/// A cycle's names, joined, with the middle left out of a very long one.
fn shorten(names: &[&str]) -> String {
    const SHOWN: usize = 12;
    if names.len() <= 2 * SHOWN {
        names.join(" -> ")
    } else {
        format!(
            "{} -> ... ({} more) ... -> {}",
            names[..SHOWN].join(" -> "),
            names.len() - 2 * SHOWN,
            names[names.len() - SHOWN..].join(" -> ")
        )
    }
}

/// A cycle in a graph given as each node's predecessors: the nodes on it, the first repeated
/// at the end, each waiting for the next. Iterative three-colour depth-first search, linear
/// in nodes and edges.
pub fn find_cycle(preds: &[Vec<u32>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; preds.len()];
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..preds.len() {
        if marks[root] != Mark::New {
            continue;
        }
        marks[root] = Mark::OnPath;
        path.push((root, 0));
        while let Some(top) = path.last_mut() {
            let (v, edge) = *top;
            let Some(&p) = preds[v].get(edge) else {
                marks[v] = Mark::Done;
                path.pop();
                continue;
            };
            top.1 += 1;
            let p = p as usize;
            match marks[p] {
                Mark::OnPath => {
                    let from = path.iter().position(|&(q, _)| q == p).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|&(q, _)| q).collect();
                    cycle.push(p);
                    return Some(cycle);
                }
                Mark::New => {
                    marks[p] = Mark::OnPath;
                    path.push((p, 0));
                }
                Mark::Done => {}
            }
        }
    }
    None
}

/// The nodes of a graph in an order where each comes after everything it waits for (Kahn's
/// algorithm, linear in nodes and edges, no recursion), from how many nodes each waits for
/// and which nodes wait for each. Nodes on a cycle are left out.
pub fn topological_order<I: IntoIterator<Item = usize>>(
    mut waiting: Vec<usize>,
    successors: impl Fn(usize) -> I,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..waiting.len()).filter(|&v| waiting[v] == 0).collect();
    let mut next = 0;
    while let Some(&v) = order.get(next) {
        next += 1;
        for s in successors(v) {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                order.push(s);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_names() {
        assert_eq!(kind_of("mProject_ID0000012"), "mProject");
        assert_eq!(kind_of("blur_3"), "blur");
        assert_eq!(kind_of("n17"), "n");
        assert_eq!(kind_of("17"), "task");
        assert_eq!(kind_of("join"), "join");
        assert_eq!(kind_of("split_fasta_00000001"), "split_fasta");
    }

    #[test]
    fn cycles_are_found_and_orders_respect_edges() {
        let preds = vec![vec![], vec![0], vec![1, 0], vec![2]];
        assert_eq!(find_cycle(&preds), None);
        let succ: Vec<Vec<usize>> = vec![vec![1, 2], vec![2], vec![3], vec![]];
        let waiting = preds.iter().map(Vec::len).collect();
        let order = topological_order(waiting, |v| succ[v].iter().copied());
        assert_eq!(order, vec![0, 1, 2, 3]);
        let cyclic = vec![vec![2], vec![0], vec![1]];
        let cycle = find_cycle(&cyclic).unwrap();
        assert_eq!(cycle.len(), 4);
        assert_eq!(cycle.first(), cycle.last());
    }
}
