//! The workload format: what a user writes in a `.ron` file, how it is found, loaded and checked.
//!
//! `../shared/spec/workload-format.md` is the contract; `docs/workload-format.md` is the
//! reference for users (`schedlab man` prints it), and says what this module accepts and
//! refuses, so a change here goes there too. Loading never panics: every problem
//! becomes a [`WorkloadError`] that names the file, the line and column where RON gives them (or
//! where the offending group is written), and what was expected. Everything that can be checked
//! before a run is checked here, so a run never starts on a workload that cannot finish.

use crate::fmt::fmt_duration;
pub use crate::fmt::fmt_speed;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};

use crate::kernels::Kernel;

pub mod graph;
mod messages;
pub use graph::{GraphSource, GraphTask};
pub use messages::fields_of;

/// Most tasks a workload may hold in all, those spawned by `Fib` included.
pub const MAX_TASKS: u64 = 10_000_000;
/// Most worker threads a run may ask for.
pub const MAX_WORKERS: usize = 1024;
/// The most workers a simulated run may have (`--sim`): they cost nothing while parked.
pub const MAX_SIM_WORKERS: usize = 65_536;
/// Most memory the tasks running at once may allocate together.
pub const MAX_CONCURRENT_BYTES: u64 = 8 << 30;
/// The shortest body time a task that runs a kernel has, in µs: the executor's clock reads
/// around it (measured at 50–100 ns on a 2-core VM).
pub const MIN_BODY_US: f64 = 0.05;
/// Workloads estimated to run longer than this are refused, with the estimate.
pub const MAX_ESTIMATED: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A workload file, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Shown in the UI and reports.
    pub name: String,
    /// What to watch for.
    #[serde(default)]
    pub description: String,
    /// Every random choice derives from it.
    #[serde(default)]
    pub seed: u64,
    /// The cores the run uses.
    #[serde(default)]
    pub machine: Machine,
    /// Fault injection.
    #[serde(default)]
    pub faults: Faults,
    /// The tasks, group by group (may be empty when `tasks` holds a graph).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Tasks of a task graph, each with its own cost and predecessors, beside or instead of
    /// groups (see [`graph`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<GraphTask>,
    /// What one unit of a graph task's `time` is, in ns (default [`graph::DEFAULT_UNIT_NS`],
    /// 1 ms); `--unit` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit_ns: Option<u64>,
    /// Where an imported graph came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<GraphSource>,
}

/// The cores a run uses, as written (both fields optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Worker OS threads; default: the machine's available parallelism.
    #[serde(default)]
    pub workers: Option<usize>,
    /// Relative speed of each worker in (0, 1]; default all 1.0.
    #[serde(default)]
    pub speeds: Option<Vec<f64>>,
}

/// Fault injection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Chance that an attempt panics.
    #[serde(default)]
    pub panic_rate: f64,
    /// Attempts after the first before a task is `failed`.
    #[serde(default)]
    pub max_retries: u32,
}

/// A group of tasks that do the same kind of work.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Unique; tasks are named `name#index`.
    pub name: String,
    /// The real work each task does.
    pub kernel: Kernel,
    /// How many tasks (roots, for `Fib`).
    pub count: usize,
    /// Groups whose tasks must all be done before any task of this group starts.
    #[serde(default)]
    pub after: Vec<String>,
    /// When tasks are released.
    #[serde(default)]
    pub arrival: Arrival,
    /// Each task's size is scaled by a seeded factor in [1 − jitter, 1 + jitter].
    #[serde(default)]
    pub jitter: f64,
}

/// When the tasks of a group are released.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Arrival {
    /// All at the start.
    #[default]
    AtStart,
    /// One task per period.
    Every {
        /// The period in µs.
        us: f64,
    },
    /// Seeded Poisson arrivals.
    Poisson {
        /// Mean arrivals per second.
        per_sec: f64,
    },
}

/// The machine a run actually uses: the file's, the command line's overrides, the defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedMachine {
    /// Relative speed of each worker; its length is the number of workers.
    pub speeds: Vec<f64>,
}

impl ResolvedMachine {
    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.speeds.len()
    }

    /// Whether any worker is an emulated slower core.
    pub fn emulated(&self) -> bool {
        self.speeds.iter().any(|&s| s < 1.0)
    }
}

/// Command-line overrides of the file's machine and seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--workers`.
    pub workers: Option<usize>,
    /// `--speeds`.
    pub speeds: Option<Vec<f64>>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--unit`: what one unit of a task graph's time becomes, in ns.
    pub unit_ns: Option<u64>,
}

/// Why a workload could not be loaded. Its message names the file and, where known, the place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct WorkloadError {
    /// The file (or built-in name) the workload came from.
    pub source_name: String,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.source_name, self.message),
            None => write!(f, "{}: {}", self.source_name, self.message),
        }
    }
}

/// A workload together with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The parsed and checked workload.
    pub workload: Workload,
    /// The file path, or `built-in:NAME`.
    pub source_name: String,
}

impl Loaded {
    /// A workload built in code (a sweep's point, a test's), checked as a file's would be.
    ///
    /// # Errors
    ///
    /// What a file holding it would be refused for.
    pub fn built(workload: Workload, source_name: &str) -> Result<Loaded, WorkloadError> {
        Loaded::built_at(workload, source_name, |_| None)
    }

    /// [`Loaded::built`] for a workload read from a file of another format (an imported task
    /// graph): `locate` says where the group or task of a name is written in that file, for
    /// the message about it.
    ///
    /// # Errors
    ///
    /// What a file holding it would be refused for.
    pub fn built_at(
        workload: Workload,
        source_name: &str,
        locate: impl Fn(&str) -> Option<(usize, usize)>,
    ) -> Result<Loaded, WorkloadError> {
        check(&workload).map_err(|(about, message)| WorkloadError {
            source_name: source_name.to_string(),
            position: about.and_then(|(name, _)| locate(&name)),
            message,
        })?;
        Ok(Loaded {
            workload,
            source_name: source_name.to_string(),
        })
    }
}

/// The workloads compiled into the binary, so the shipped ones work from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("mixed", include_str!("../workloads/mixed.ron")),
    ("webserver", include_str!("../workloads/webserver.ron")),
    (
        "image-filters",
        include_str!("../workloads/image-filters.ron"),
    ),
    ("video", include_str!("../workloads/video.ron")),
    ("simulation", include_str!("../workloads/simulation.ron")),
    ("ml-pipeline", include_str!("../workloads/ml-pipeline.ron")),
    ("granularity", include_str!("../workloads/granularity.ron")),
    ("imbalance", include_str!("../workloads/imbalance.ron")),
    (
        "dependencies",
        include_str!("../workloads/dependencies.ron"),
    ),
    ("big-little", include_str!("../workloads/big-little.ron")),
    ("faults", include_str!("../workloads/faults.ron")),
    (
        "task-vs-data",
        include_str!("../workloads/task-vs-data.ron"),
    ),
    ("fork-join", include_str!("../workloads/fork-join.ron")),
];

/// Real workflow runs built into the binary (WfInstances, LGPL-3.0: see
/// `workloads/workflows/`): name, file name (its format), text.
pub const BUILTIN_GRAPHS: &[(&str, &str, &str)] = &[
    (
        "montage",
        "montage.json",
        include_str!("../workloads/workflows/montage.json"),
    ),
    (
        "epigenomics",
        "epigenomics.json",
        include_str!("../workloads/workflows/epigenomics.json"),
    ),
    (
        "blast",
        "blast.json",
        include_str!("../workloads/workflows/blast.json"),
    ),
];

/// Loads built-in graph `name` (one of [`BUILTIN_GRAPHS`]).
fn builtin_graph(name: &str, file: &str, text: &str) -> Result<Loaded, WorkloadError> {
    let source_name = format!("built-in:{name}");
    match crate::import::Format::of(Path::new(file)) {
        Some(format) => crate::import::parse(text, format, &source_name),
        None => parse(text, &source_name),
    }
}

/// Finds and loads a workload: a path if that file exists; otherwise a bare name (`mixed.ron`
/// or `mixed`) looked up in `./workloads/` and then among the built-in workloads.
pub fn find(arg: &str) -> Result<Loaded, WorkloadError> {
    let path = Path::new(arg);
    if path.is_file() {
        return load_file(path);
    }
    let stem = arg.strip_suffix(".ron").unwrap_or(arg);
    let is_bare = !arg.contains(['/', '\\']);
    if is_bare {
        for candidate in [format!("workloads/{stem}.ron"), format!("workloads/{arg}")] {
            let candidate = Path::new(&candidate);
            if candidate.is_file() {
                return load_file(candidate);
            }
        }
        if let Some((name, text)) = BUILTIN.iter().find(|(name, _)| *name == stem) {
            return parse(text, &format!("built-in:{name}"));
        }
        if let Some((name, file, text)) = BUILTIN_GRAPHS
            .iter()
            .find(|(name, file, _)| *name == arg || *file == arg)
        {
            return builtin_graph(name, file, text);
        }
    }
    let known: Vec<&str> = BUILTIN
        .iter()
        .map(|(name, _)| *name)
        .chain(BUILTIN_GRAPHS.iter().map(|(name, _, _)| *name))
        .collect();
    let message = if path.exists() {
        "is not a file".to_string()
    } else if is_bare {
        format!(
            "no such file here or in ./workloads/, and no built-in workload of that name (built in: {})",
            known.join(", ")
        )
    } else {
        "no such file".to_string()
    };
    Err(WorkloadError {
        source_name: arg.to_string(),
        position: None,
        message,
    })
}

/// Loads and checks the workload in the file at `path`: RON, or a task graph in one of the
/// formats [`crate::import`] reads (`.stg`, `.json`, `.dot`, `.gv`), by its extension.
pub fn load_file(path: &Path) -> Result<Loaded, WorkloadError> {
    let source_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| WorkloadError {
        source_name: source_name.clone(),
        position: None,
        message: format!("cannot read the file: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        WorkloadError {
            source_name: source_name.clone(),
            position: Some(line_col(valid, valid.len())),
            message: match crate::import::Format::of(path) {
                Some(format) => format!(
                    "the file is not valid UTF-8 text (a {} file is text)",
                    format.title()
                ),
                None => "the file is not valid UTF-8 text (a workload is a RON text file)".into(),
            },
        }
    })?;
    match crate::import::Format::of(path) {
        Some(format) => crate::import::parse(&text, format, &source_name),
        None => parse(&text, &source_name),
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub(crate) fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Parses and checks a workload from RON text; `source_name` is used in messages.
pub fn parse(text: &str, source_name: &str) -> Result<Loaded, WorkloadError> {
    // Editors on some systems start UTF-8 files with a byte-order mark; it is not RON, and
    // nothing after it moves: positions stay those of the text as seen.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    let workload: Workload = options.from_str(text).map_err(|e| WorkloadError {
        source_name: source_name.to_string(),
        position: Some((e.span.start.line, e.span.start.col)),
        message: messages::message(text, &e),
    })?;
    check(&workload).map_err(|(group, message)| WorkloadError {
        source_name: source_name.to_string(),
        position: group.and_then(|(g, nth)| find_group(text, &g, nth)),
        message,
    })?;
    Ok(Loaded {
        workload,
        source_name: source_name.to_string(),
    })
}

/// Where group `name` is written (its `nth` definition, from 0), for messages about it.
fn find_group(text: &str, name: &str, nth: usize) -> Option<(usize, usize)> {
    let quoted = format!("\"{name}\"");
    let mut at = text.match_indices(&quoted).map(|(i, _)| i).filter(|&i| {
        // The group's own `name:` field, not a mention in someone's `after` list.
        text[..i].trim_end().ends_with(':')
            && text[..i]
                .trim_end()
                .trim_end_matches(':')
                .trim_end()
                .ends_with("name")
    });
    let at = at.nth(nth)?;
    Some(line_col(text.as_bytes(), at))
}

/// A check's failure: the group it is about (its name, and which definition of that name), and
/// the message.
type CheckError = (Option<(String, usize)>, String);

/// Every check of the spec's "Bad input" section that does not need the machine.
fn check(w: &Workload) -> Result<(), CheckError> {
    let plain = |message: String| (None, message);
    name_problem(&w.name).map_or(Ok(()), |problem| Err(plain(format!("`name` {problem}"))))?;
    if w.groups.is_empty() && w.tasks.is_empty() {
        return Err(plain(
            "`groups` is empty (or missing): a workload needs at least one group, or a task graph in `tasks`"
                .into(),
        ));
    }
    if w.time_unit_ns == Some(0) {
        return Err(plain("`time_unit_ns` must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&w.faults.panic_rate) {
        return Err(plain(format!(
            "faults: `panic_rate` must be between 0 and 1, got {}",
            w.faults.panic_rate
        )));
    }
    if w.faults.max_retries > 1000 {
        return Err(plain(format!(
            "faults: `max_retries` must be at most 1000, got {}",
            w.faults.max_retries
        )));
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, g) in w.groups.iter().enumerate() {
        let in_group = |message: String| {
            (
                Some((g.name.clone(), 0)),
                format!("group \"{}\": {message}", g.name),
            )
        };
        if let Some(problem) = name_problem(&g.name) {
            return Err((
                Some((g.name.clone(), 0)),
                format!(
                    "group \"{}\": the name {problem}",
                    crate::escape::printable(&g.name)
                ),
            ));
        }
        if index.insert(g.name.as_str(), i).is_some() {
            return Err((
                Some((g.name.clone(), 1)),
                format!(
                    "group \"{}\": the name is used by an earlier group too; group names must be unique",
                    g.name
                ),
            ));
        }
        if g.count == 0 {
            return Err(in_group("`count` must be at least 1".into()));
        }
        if !(g.jitter.is_finite() && (0.0..1.0).contains(&g.jitter)) {
            return Err(in_group(format!(
                "`jitter` must be in [0, 1), got {}",
                g.jitter
            )));
        }
        match g.arrival {
            Arrival::AtStart => {}
            Arrival::Every { us } if !(0.0..=3.6e9).contains(&us) => {
                return Err(in_group(format!(
                    "`Every(us: ..)` must be a finite period >= 0 and at most an hour, got {us}"
                )));
            }
            Arrival::Poisson { per_sec } if !(per_sec.is_finite() && per_sec > 0.0) => {
                return Err(in_group(format!(
                    "`Poisson(per_sec: ..)` must be a finite rate > 0, got {per_sec}"
                )));
            }
            Arrival::Every { .. } | Arrival::Poisson { .. } => {}
        }
        // The largest size jitter can produce must be valid too.
        let largest = g.kernel.scaled(1.0 + g.jitter);
        g.kernel
            .validate()
            .and_then(|()| largest.validate())
            .map_err(|e| in_group(format!("kernel {}: {e}", g.kernel.name())))?;
    }
    for g in &w.groups {
        for dep in &g.after {
            if !index.contains_key(dep.as_str()) {
                let names: Vec<&str> = w.groups.iter().map(|g| g.name.as_str()).collect();
                // A list of 100 000 names helps nobody: the first few say what is meant.
                let shown = names.len().min(20);
                return Err((
                    Some((g.name.clone(), 0)),
                    format!(
                        "group \"{}\": `after` names \"{}\", which is not a group (groups: {}{})",
                        g.name,
                        crate::escape::printable(dep),
                        names[..shown].join(", "),
                        if names.len() > shown {
                            format!(", and {} more", names.len() - shown)
                        } else {
                            String::new()
                        }
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(w, &index) {
        return Err((
            Some((cycle[0].clone(), 0)),
            format!(
                "dependency cycle: {} (each waits for the next in `after`)",
                cycle.join(" -> ")
            ),
        ));
    }
    if !w.tasks.is_empty() {
        graph::resolve(&w.tasks, &index).map_err(|(task, message)| (Some((task, 0)), message))?;
        if let Some(t) = w.tasks.iter().find(|t| index.contains_key(t.kind())) {
            return Err((
                Some((t.name.clone(), 0)),
                format!(
                    "task \"{}\": its kind \"{}\" is also a group's name; kinds and groups are shown side by side, so give it another `kind`",
                    t.name,
                    t.kind()
                ),
            ));
        }
        let unit = w.unit_ns();
        if let Some(t) = w
            .tasks
            .iter()
            .find(|t| t.time.is_some_and(|time| time * unit as f64 / 1e3 > 3.6e9))
        {
            return Err((
                Some((t.name.clone(), 0)),
                format!(
                    "task \"{}\": a `time` of {} units of {} is over an hour",
                    t.name,
                    t.time.unwrap_or(0.0),
                    fmt_duration(std::time::Duration::from_nanos(unit))
                ),
            ));
        }
    }
    let total = total_tasks(w);
    if total > MAX_TASKS {
        return Err(plain(format!(
            "the workload has {total} tasks in all (tasks spawned by Fib included); the limit is {MAX_TASKS}"
        )));
    }
    Ok(())
}

/// What is wrong with `name` as a workload's or group's name, if anything: it is shown in the
/// terminal, so it must be there (not empty or blank) and hold no control character (an
/// escape sequence in a name would drive the user's terminal; see [`crate::escape`]).
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("is empty: give it a name to show".to_string());
    }
    crate::escape::first_control(name).map(|(at, c)| {
        format!(
            "holds the control character U+{:04X} at character {}; names are shown in terminals, so they may not hold control characters",
            u32::from(c),
            at + 1
        )
    })
}

/// A cycle in the `after` graph, as group names with the first repeated at the end (see
/// [`graph::find_cycle`]: iterative, so a chain of 100 000 groups cannot overflow the stack,
/// and linear in groups and edges).
fn find_cycle(w: &Workload, index: &HashMap<&str, usize>) -> Option<Vec<String>> {
    let after: Vec<Vec<u32>> = w
        .groups
        .iter()
        .map(|g| g.after.iter().map(|d| index[d.as_str()] as u32).collect())
        .collect();
    let cycle = graph::find_cycle(&after)?;
    Some(
        cycle
            .into_iter()
            .map(|g| w.groups[g].name.clone())
            .collect(),
    )
}

/// Tasks in all, those spawned by `Fib` included (saturating, so absurd sizes stay comparable).
pub fn total_tasks(w: &Workload) -> u64 {
    w.groups
        .iter()
        .map(|g| (g.count as u64).saturating_mul(tasks_per_root(&g.kernel)))
        .fold(w.tasks.len() as u64, u64::saturating_add)
}

/// Tasks one root task of this kernel amounts to: 1, or the whole `Fib` call tree.
pub fn tasks_per_root(kernel: &Kernel) -> u64 {
    match *kernel {
        Kernel::Fib { n, cutoff } => fib_tree_size(n, cutoff),
        _ => 1,
    }
}

pub use crate::kernels::fib::tree_size as fib_tree_size;

impl Workload {
    /// A workload of one group, `group`: `count` tasks of `kernel`, all ready at the start,
    /// on the default machine, seed 0, no faults (for sweeps, calibration and benches).
    pub fn one_group(name: &str, group: &str, kernel: Kernel, count: usize) -> Workload {
        Workload {
            name: name.into(),
            description: String::new(),
            seed: 0,
            machine: Machine::default(),
            faults: Faults::default(),
            groups: vec![Group {
                name: group.into(),
                kernel,
                count,
                after: Vec::new(),
                arrival: Arrival::AtStart,
                jitter: 0.0,
            }],
            tasks: Vec::new(),
            time_unit_ns: None,
            source: None,
        }
    }

    /// What one unit of a graph task's `time` is, in ns.
    pub fn unit_ns(&self) -> u64 {
        self.time_unit_ns.unwrap_or(graph::DEFAULT_UNIT_NS)
    }

    /// The kernel each graph task runs, in the order written.
    pub fn task_kernels(&self) -> impl Iterator<Item = Kernel> + '_ {
        let unit = self.unit_ns();
        self.tasks.iter().map(move |t| t.kernel(unit))
    }

    /// The machine after applying `overrides` to the file's; checks it.
    pub fn resolve_machine(&self, overrides: &Overrides) -> Result<ResolvedMachine, String> {
        self.resolve_machine_up_to(overrides, MAX_WORKERS)
    }

    /// [`Workload::resolve_machine`] for an engine that runs up to `max_workers` workers.
    pub fn resolve_machine_up_to(
        &self,
        overrides: &Overrides,
        max_workers: usize,
    ) -> Result<ResolvedMachine, String> {
        let file_speeds = self.machine.speeds.clone();
        let workers = overrides
            .workers
            .or(overrides.speeds.as_ref().map(Vec::len))
            .or(self.machine.workers)
            .or(file_speeds.as_ref().map(Vec::len))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if workers == 0 || workers > max_workers {
            let hint = if max_workers < MAX_SIM_WORKERS && workers > max_workers {
                " (a simulated run, --sim, takes up to 65536)"
            } else {
                ""
            };
            return Err(format!(
                "machine: `workers` must be between 1 and {max_workers}, got {workers}{hint}"
            ));
        }
        let speeds = match (&overrides.speeds, file_speeds) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) if overrides.workers.is_none() || s.len() == workers => s,
            (None, Some(s)) => {
                return Err(format!(
                    "--workers {workers} does not match the workload's {} speeds; give --speeds with {workers} values too",
                    s.len()
                ));
            }
            (None, None) => vec![1.0; workers],
        };
        if speeds.len() != workers {
            return Err(format!(
                "machine: `speeds` has {} entries but `workers` is {workers}; give one speed per worker",
                speeds.len()
            ));
        }
        if let Some((i, s)) = speeds
            .iter()
            .enumerate()
            .find(|(_, s)| !(**s > 0.0 && **s <= 1.0))
        {
            return Err(format!(
                "machine: speed {s} of worker {i} is outside (0, 1]"
            ));
        }
        // Tasks that allocate run on every worker at once, beside what the executor itself
        // keeps (queues, per-worker state, the timeline): refuse what could not fit.
        let at_once = workers as u64;
        let executor = self.executor_bytes(workers);
        let kernels_at_once = |g: &Group| {
            g.kernel
                .scaled(1.0 + g.jitter)
                .memory_bytes()
                .saturating_mul(at_once.min(g.count as u64))
        };
        // Graph tasks run at most one per worker at once too; the largest stands for them all.
        let largest_task = self
            .task_kernels()
            .map(|k| k.memory_bytes())
            .max()
            .unwrap_or(0)
            .saturating_mul(at_once.min(self.tasks.len() as u64));
        if largest_task.saturating_add(executor) > MAX_CONCURRENT_BYTES {
            return Err(format!(
                "tasks: {} workers running the largest graph task at once would need about {} MiB, and the executor about {} MiB: more than the {} MiB allowed",
                at_once.min(self.tasks.len() as u64),
                largest_task >> 20,
                executor >> 20,
                MAX_CONCURRENT_BYTES >> 20
            ));
        }
        if let Some(g) = self
            .groups
            .iter()
            .find(|g| kernels_at_once(g).saturating_add(executor) > MAX_CONCURRENT_BYTES)
        {
            return Err(format!(
                "group \"{}\": {} workers running it at once would need about {} MiB, and the executor about {} MiB for its queues, per-worker state and timeline: more than the {} MiB allowed",
                g.name,
                at_once.min(g.count as u64),
                kernels_at_once(g) >> 20,
                executor >> 20,
                MAX_CONCURRENT_BYTES >> 20
            ));
        }
        // A slower core is emulated by keeping it busy for t·(1/s − 1) after each body of
        // length t: refuse a speed at which even the smallest task would take longer than
        // the time limit there (such a core would never finish, and its deadline arithmetic
        // would overflow).
        if let Some(smallest_us) = self.smallest_task_us() {
            for (i, &s) in speeds.iter().enumerate() {
                let there = std::time::Duration::from_secs_f64((smallest_us / s / 1e6).min(1e15));
                if there > MAX_ESTIMATED {
                    return Err(format!(
                        "machine: speed {} of worker {i} would make even the smallest task (about {:.3} µs at speed 1) take about {} there; the limit for a whole run is {}: use a speed of at least {:.1e}",
                        fmt_speed(s),
                        smallest_us,
                        fmt_duration(there),
                        fmt_duration(MAX_ESTIMATED),
                        smallest_us / 1e6 / MAX_ESTIMATED.as_secs_f64()
                    ));
                }
            }
        }
        let machine = ResolvedMachine { speeds };
        let estimate = self.estimate(&machine);
        if estimate.least() > MAX_ESTIMATED {
            let why = if estimate.least() == estimate.arrivals {
                format!("tasks arriving until {}", fmt_duration(estimate.arrivals))
            } else if estimate.least() == estimate.longest_task {
                format!(
                    "its longest task, with the {:.1} attempts its faults give it on average, one after another",
                    self.expected_attempts()
                )
            } else {
                format!(
                    "{} of work over total speed {}",
                    fmt_duration(estimate.work.mul_f64(machine.speeds.iter().sum::<f64>())),
                    machine.speeds.iter().sum::<f64>()
                )
            };
            return Err(format!(
                "this workload would run for about {} at least ({why}); the limit is {}: make it smaller",
                fmt_duration(estimate.least()),
                fmt_duration(MAX_ESTIMATED)
            ));
        }
        Ok(machine)
    }

    /// Bytes the executor itself needs to run this workload on `workers` workers: each task's
    /// place in a queue and in a recorded timeline (measured: 25 B a task unrecorded, 57 B
    /// recorded, for 10 million empty tasks), each group's plan, state and report line, and
    /// each worker's thread, queues and counters.
    pub fn executor_bytes(&self, workers: usize) -> u64 {
        const PER_TASK: u64 = 64;
        const PER_GROUP: u64 = 1024;
        const PER_GRAPH_TASK: u64 = 256;
        const PER_WORKER: u64 = 256 << 10;
        total_tasks(self)
            .saturating_mul(PER_TASK)
            .saturating_add((self.groups.len() as u64).saturating_mul(PER_GROUP))
            // A graph task's plan: its name, cost, kernel and edges.
            .saturating_add((self.tasks.len() as u64).saturating_mul(PER_GRAPH_TASK))
            .saturating_add((workers as u64).saturating_mul(PER_WORKER))
    }

    /// The estimated body time of the smallest task that a core's emulated slowdown applies
    /// to, in µs at speed 1.0: a body is never shorter than [`MIN_BODY_US`] (its clock reads),
    /// and `Fib`'s nodes that compute nothing (inner nodes, fib(0), fib(1)) are not slowed.
    /// `None` if no task is slowed at all.
    pub fn smallest_task_us(&self) -> Option<f64> {
        self.groups
            .iter()
            .filter_map(|g| match g.kernel {
                Kernel::Fib { n, cutoff } => {
                    // Leaves compute fib(k) for k ≤ cutoff; only k ≥ 2 does any work.
                    let leaf = n.min(cutoff);
                    (leaf >= 2).then(|| Kernel::Fib { n: 2, cutoff }.estimate_us())
                }
                ref kernel => Some(kernel.scaled(1.0 - g.jitter).estimate_us()),
            })
            .chain(self.task_kernels().map(|k| k.estimate_us()))
            .map(|us| us.max(MIN_BODY_US))
            .min_by(f64::total_cmp)
    }

    /// Attempts a task takes on average under the workload's faults: each attempt fails with
    /// `panic_rate`, and a failed one is retried up to `max_retries` times.
    pub fn expected_attempts(&self) -> f64 {
        let (p, retries) = (self.faults.panic_rate, self.faults.max_retries);
        if p >= 1.0 {
            f64::from(retries) + 1.0
        } else {
            (1.0 - p.powf(f64::from(retries) + 1.0)) / (1.0 - p)
        }
    }

    /// A rough lower bound on the run's length on `machine`, from the kernels' calibrated
    /// estimates: the work (every expected attempt, retries included) spread over every
    /// worker's speed or the longest task's attempts one after another, whichever is longer;
    /// and when the last task arrives.
    pub fn estimate(&self, machine: &ResolvedMachine) -> Estimate {
        let speed: f64 = machine.speeds.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let mut work_us = 0.0f64;
        let mut last_arrival_us = 0.0f64;
        for g in &self.groups {
            let per_task = match g.kernel {
                // Every node of the tree: leaves run fib(cutoff) or less, inner ones spawn.
                Kernel::Fib { n, cutoff } => crate::kernels::fib::tree_work_us(n, cutoff),
                ref kernel => kernel.estimate_us(),
            };
            work_us += per_task * g.count as f64 * self.expected_attempts();
            let count = g.count.saturating_sub(1) as f64;
            last_arrival_us = last_arrival_us.max(match g.arrival {
                Arrival::AtStart => 0.0,
                Arrival::Every { us } => us * count,
                Arrival::Poisson { per_sec } => count / per_sec * 1e6,
            });
        }
        for kernel in self.task_kernels() {
            work_us += kernel.estimate_us() * self.expected_attempts();
        }
        // A task's attempts run one after another, so the longest task, retried as often as
        // the faults make it, bounds the run too, even on the fastest core.
        let fastest = machine
            .speeds
            .iter()
            .copied()
            .fold(f64::MIN_POSITIVE, f64::max);
        let longest_us = self
            .groups
            .iter()
            .map(|g| match g.kernel {
                Kernel::Fib { .. } => 0.0,
                ref kernel => kernel.scaled(1.0 + g.jitter).estimate_us(),
            })
            .chain(self.task_kernels().map(|k| k.estimate_us()))
            .fold(0.0, f64::max)
            * self.expected_attempts()
            / fastest;
        let seconds = |us: f64| std::time::Duration::from_secs_f64((us / 1e6).clamp(0.0, 1e12));
        Estimate {
            work: seconds(work_us / speed),
            longest_task: seconds(longest_us),
            arrivals: seconds(last_arrival_us),
        }
    }
}

/// How long a run must take at least, by three separate bounds (see [`Workload::estimate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The work, retries included, spread over every worker's speed.
    pub work: std::time::Duration,
    /// The longest task's expected attempts, one after another on the fastest core.
    pub longest_task: std::time::Duration,
    /// When the last task arrives.
    pub arrivals: std::time::Duration,
}

impl Estimate {
    /// The largest of the bounds.
    pub fn least(&self) -> std::time::Duration {
        self.work.max(self.longest_task).max(self.arrivals)
    }
}

/// Parses one value of `--speeds 1,1,0.5,0.5`.
pub fn parse_speed(part: &str) -> Result<f64, String> {
    let part = part.trim();
    let speed: f64 = part
        .parse()
        .map_err(|_| format!("`{part}` is not a number"))?;
    if speed > 0.0 && speed <= 1.0 {
        Ok(speed)
    } else {
        Err(format!("speed {part} is outside (0, 1]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Workload {
        parse(text, "t.ron").map(|l| l.workload).unwrap()
    }

    fn err(text: &str) -> String {
        parse(text, "t.ron").unwrap_err().to_string()
    }

    #[test]
    fn optional_fields_are_written_bare_and_defaults_apply() {
        let w = ok(
            r#"(name: "x", machine: (workers: 3), groups: [(name: "a", kernel: Spin(us: 1.0), count: 2)])"#,
        );
        assert_eq!(w.machine.workers, Some(3));
        assert_eq!(w.machine.speeds, None);
        assert_eq!(w.seed, 0);
        assert_eq!(w.groups[0].arrival, Arrival::AtStart);
        assert_eq!(w.faults, Faults::default());
    }

    #[test]
    fn struct_names_may_be_written() {
        let w = ok(
            r#"Workload(name: "x", machine: Machine(speeds: [1.0, 0.5]), faults: Faults(panic_rate: 0.5),
            groups: [Group(name: "a", kernel: Spin(us: 1.0), count: 2, arrival: Every(us: 5.0))])"#,
        );
        assert_eq!(w.groups[0].arrival, Arrival::Every { us: 5.0 });
        assert_eq!(
            w.resolve_machine(&Overrides::default()).unwrap().speeds,
            vec![1.0, 0.5]
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = err("(name: \"x\",\n groups: [(name: \"a\" kernel: Spin(us: 1.0), count: 1)])");
        assert!(e.starts_with("t.ron:2:"), "{e}");
    }

    #[test]
    fn fib_tree_sizes() {
        assert_eq!(fib_tree_size(30, 0), 2_692_537);
        assert_eq!(fib_tree_size(5, 10), 1);
        assert_eq!(fib_tree_size(2, 0), 3);
        assert_eq!(fib_tree_size(200, 0), u64::MAX);
        assert_eq!(
            fib_tree_size(u32::MAX, 0),
            u64::MAX,
            "an absurd n costs no time or memory"
        );
    }

    #[test]
    fn cycles_are_named() {
        let e = err(r#"(name: "x", groups: [
            (name: "a", kernel: Spin(us: 1.0), count: 1, after: ["c"]),
            (name: "b", kernel: Spin(us: 1.0), count: 1, after: ["a"]),
            (name: "c", kernel: Spin(us: 1.0), count: 1, after: ["b"]),
        ])"#);
        assert!(e.contains("dependency cycle: a -> c -> b -> a"), "{e}");
        assert!(e.starts_with("t.ron:2:"), "{e}");
    }

    #[test]
    fn overrides_apply() {
        let w = ok(
            r#"(name: "x", machine: (workers: 4, speeds: [1.0, 1.0, 0.5, 0.5]), groups: [(name: "a", kernel: Spin(us: 1.0), count: 1)])"#,
        );
        let o = Overrides {
            workers: Some(2),
            speeds: Some(vec![1.0, 0.25]),
            ..Overrides::default()
        };
        assert_eq!(w.resolve_machine(&o).unwrap().speeds, vec![1.0, 0.25]);
        let o = Overrides {
            workers: Some(2),
            ..Overrides::default()
        };
        assert!(w.resolve_machine(&o).unwrap_err().contains("--speeds"));
        let o = Overrides {
            speeds: Some(vec![1.0; 3]),
            ..Overrides::default()
        };
        assert_eq!(w.resolve_machine(&o).unwrap().workers(), 3);
    }

    #[test]
    fn speeds_parse() {
        assert_eq!(parse_speed(" 0.5").unwrap(), 0.5);
        assert!(parse_speed("0").unwrap_err().contains("outside (0, 1]"));
        assert!(parse_speed("NaN").unwrap_err().contains("outside (0, 1]"));
        assert!(parse_speed("x").unwrap_err().contains("not a number"));
    }

    #[test]
    fn bad_task_graphs_say_which_task_and_what_is_wrong() {
        let graph = |tasks: &str| err(&format!("(name: \"g\", tasks: [{tasks}])"));
        let e = graph(
            r#"(name: "a", time: 1, after: ["c"]), (name: "b", time: 1, after: ["a"]), (name: "c", time: 1, after: ["b"])"#,
        );
        assert!(
            e.contains("dependency cycle among tasks: a -> c -> b -> a"),
            "{e}"
        );
        assert!(e.starts_with("t.ron:1:"), "the line of a task on it: {e}");
        let e = graph(r#"(name: "a", time: 1, after: ["nowhere"])"#);
        assert!(
            e.contains("`after` names \"nowhere\", which is neither a task nor a group"),
            "{e}"
        );
        let e = graph(r#"(name: "a", time: -1)"#);
        assert!(
            e.contains("`time` must be a finite number >= 0, got -1"),
            "{e}"
        );
        let e = graph(r#"(name: "a", time: 1), (name: "a", time: 2)"#);
        assert!(e.contains("used by an earlier task too"), "{e}");
        let e = graph(r#"(name: "a")"#);
        assert!(e.contains("give its cost"), "{e}");
        let e = graph(r#"(name: "a", time: 1, kernel: Spin(us: 1))"#);
        assert!(e.contains("either `time` or `kernel`"), "{e}");
        let e = graph(r#"(name: "a", kernel: Fib(n: 10, cutoff: 2))"#);
        assert!(e.contains("cannot be `Fib`"), "{e}");
        let e = err(
            r#"(name: "g", groups: [(name: "blur", kernel: Spin(us: 1), count: 1)], tasks: [(name: "blur_1", time: 1)])"#,
        );
        assert!(
            e.contains("its kind \"blur\" is also a group's name"),
            "{e}"
        );
        let e = err(r#"(name: "g")"#);
        assert!(
            e.contains("at least one group, or a task graph in `tasks`"),
            "{e}"
        );
    }

    #[test]
    fn a_graph_alone_is_a_workload_and_kinds_come_from_names() {
        let w = ok(
            r#"(name: "g", time_unit_ns: 1000, tasks: [Task(name: "mProject_ID01", time: 2), Task(name: "mProject_ID02", time: 3, after: ["mProject_ID01"])])"#,
        );
        assert!(w.groups.is_empty());
        assert_eq!(w.tasks[1].kind(), "mProject");
        assert_eq!(total_tasks(&w), 2);
        assert_eq!(w.unit_ns(), 1000);
        assert_eq!(w.tasks[1].kernel(w.unit_ns()), Kernel::Spin { us: 3.0 });
    }

    #[test]
    fn every_builtin_graph_loads_by_name_and_by_file_name() {
        for (name, file, _) in BUILTIN_GRAPHS {
            for arg in [name, file] {
                let loaded = find(arg).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(loaded.source_name, format!("built-in:{name}"));
                assert!(!loaded.workload.tasks.is_empty(), "{name} is a task graph");
                let source = loaded.workload.source.expect("its source");
                assert_eq!(source.format, "wfformat");
                assert!(
                    source.recorded_makespan.is_some(),
                    "{name}: the recorded run's makespan"
                );
            }
        }
    }

    #[test]
    fn every_builtin_workload_loads() {
        for (name, text) in BUILTIN {
            let w = parse(text, name).unwrap_or_else(|e| panic!("{e}")).workload;
            assert_eq!(&w.name, name, "a built-in's name matches its file name");
            assert!(!w.description.is_empty(), "{name} says what to watch for");
        }
    }
}
