//! The command line: parse arguments, run what was asked, and turn the outcome into an exit
//! status (0 done, 2 bad usage or input, 130 interrupted). `../shared/spec/cli-and-report.md`
//! is the contract.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};

use crate::costs::CostModel;
use crate::exec::{self, Progress, RunOptions, RunResult};
use crate::kernels::KERNELS;
use crate::output::{self, Named};
use crate::plan::Plan;
use crate::report::{Report, fmt_ns};
use crate::session::{Engine, Session, Threads};
use crate::sim::Sim;
use crate::workload::{self, Overrides};
use std::sync::Arc;

use crate::terminal::interrupt_flag;
pub use crate::terminal::{Crashed, EXIT_INTERRUPTED};
/// Exit status for bad usage or bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the policy or the executor itself failed: a bug, not bad input (70 is
/// `EX_SOFTWARE` of sysexits.h).
pub const EXIT_CRASHED: u8 = 70;

const AFTER_HELP: &str = "\
Examples:
  schedlab --policy steal --workload mixed.ron      run the card's example
  schedlab --policy rr --workload imbalance --headless --json report.json
  schedlab compare --workload big-little            every policy on one workload
  schedlab check my-workload.ron                    validate a file
  schedlab list                                     policies, kernels, shipped workloads
  schedlab man | man -l -                           the manual, with the workload format

A workload is a path, or the name of a shipped one (looked up in ./workloads/, then built in).
Outputs are checked before the run: none may be the workload or another output, at most one
may be `-` (stdout), and each is written whole or not at all.
Exit status: 0 the run finished (failed tasks included), 2 bad usage or input, 130 interrupted,
70 the policy or the executor crashed (a bug).";

/// The version with the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SCHEDLAB_COMMIT"),
    ")"
);

/// A terminal scheduling lab: pluggable policies run real workloads on OS threads.
#[derive(Debug, Parser)]
#[command(
    name = "schedlab",
    version = VERSION,
    about,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the same workload under each policy and print one comparison table.
    Compare(CompareArgs),
    /// Validate a workload and print what it holds, or the error.
    Check {
        /// Workload file, or the name of a shipped workload.
        workload: String,
        #[command(flatten)]
        machine: MachineArgs,
    },
    /// Read a task graph (STG `.stg`, WfFormat `.json`, Graphviz `.dot`/`.gv`) and write it as
    /// a RON workload, one task per line.
    ///
    /// Every command takes such a graph as its workload directly; the RON form is one to read,
    /// to edit (give it a machine, faults, a kernel instead of a time) or to keep beside the
    /// results, and it loads back into the same workload.
    Import {
        /// The task graph file.
        file: String,
        /// Write the workload to PATH instead of stdout.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// List the policies, kernels and shipped workloads.
    List,
    /// Print a shell completion script, e.g. `schedlab completions bash > ~/.local/share/bash-completion/completions/schedlab`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): the options, the commands and the workload format. View
    /// it with `schedlab man | man -l -`.
    ///
    /// Its WORKLOAD FORMAT section is the format's full reference: every field, kernel, arrival
    /// and fault option with its default and its limits, and example workloads (the same text
    /// as docs/workload-format.md in the sources). With --dir, write one page per command into
    /// DIR instead (`schedlab.1`, `schedlab-sweep.1`, …).
    Man {
        /// Write `schedlab.1` and a page per subcommand into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Cut the same real work into tasks of many sizes (or run it on more and more workers)
    /// under each policy: makespan, speedup over one worker, efficiency and the scheduler's
    /// share of the time.
    ///
    /// Granularity sweep (the default): the speedup at each size is over the same tasks under
    /// fifo on 1 worker (with one worker the policy hardly matters, so one baseline serves
    /// all); efficiency is the share of the workers' time spent inside tasks, which falls for
    /// tiny tasks (scheduler overhead) and for huge ones (too few tasks: idle cores). Scaling
    /// sweep (`--workers 1..P`): the speedup is over the same policy on 1 worker and
    /// efficiency is speedup per worker. A sweep estimated to take over 10 minutes is refused.
    Sweep(SweepArgs),
    /// Open a recording (made with `--record PATH`) in the TUI: play, pause, rewind and scrub
    /// through the run; `--json`, `--trace`, `--csv` write it out as from a live run.
    Replay(ReplayArgs),
    /// Measure this machine's scheduling costs (per policy: a take, a push, a steal, a victim
    /// found empty, the spin before parking; a wake-up; each kernel's µs per unit) and write
    /// them as a cost model for `--sim --cost-model PATH`.
    ///
    /// Takes a few seconds; each figure is a median of several repetitions, but a busy machine
    /// still shows in them, so run it on a quiet one. A policy gets its own value only where
    /// it differs from the median over the policies by more than 20 %. The built-in defaults
    /// came from this command on the machine they name.
    Calibrate {
        /// Write the cost model (RON) to PATH instead of stdout. What was measured goes to
        /// stderr either way.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Measure each kernel of these workloads (files or shipped workloads' names,
        /// comma-separated), so that a simulation of them costs their tasks as they take here;
        /// every shipped workload's by default.
        #[arg(long, value_name = "W,..", value_delimiter = ',')]
        workloads: Option<Vec<String>>,
    },
    /// Run every task graph on every worker count under every policy and hold each schedule
    /// against the best one known for it: per policy, the mean and worst gap to the optimum
    /// (from --optimal), how often it reached it, and where no optimum is known, the gap to
    /// the lower bound max(work / P, critical path).
    ///
    /// A makespan below a known optimum is an error of the lab (an invalid schedule), never a
    /// win, and so is a task started before a predecessor ended: the board checks every run's
    /// recorded schedule, lists what it finds and exits with 70. Real runs (the default) with
    /// more workers than cores, or that the OS held off their cores, are run but not judged;
    /// --sim judges every case in exact virtual time.
    Board(BoardArgs),
    /// A guided tour: one lesson per idea of task parallelism, each run for real, each ending
    /// with conclusions computed from the measured runs. In a terminal it runs in the TUI
    /// (`t` for the next lesson); with --headless (or piped) it prints text.
    ///
    /// A lesson whose point needs more cores than this machine has runs simulated, and says
    /// so; with --sim every lesson does, the same on every machine.
    Tour {
        /// Run only lesson N (1-based; in the TUI, start there); all lessons by default.
        #[arg(long, value_name = "N")]
        lesson: Option<usize>,
        /// Text only: each lesson's idea, what to watch, and what was measured.
        #[arg(long)]
        headless: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scheduling policy: fifo, rr (round-robin), steal (work-stealing), hetero (heterogeneous),
    /// heft and cp (critical path first; both for task graphs). `schedlab list` says what each does.
    #[arg(short, long, default_value = "steal", value_parser = parse_policy)]
    policy: String,
    /// Workload file, or the name of a shipped workload (e.g. mixed.ron or mixed).
    #[arg(short, long, required = true)]
    workload: Option<String>,
    #[command(flatten)]
    machine: MachineArgs,
    /// No TUI: a progress line on stderr while it runs, the summary table on stdout at the end.
    #[arg(long)]
    headless: bool,
    #[command(flatten)]
    outputs: Outputs,
    /// Save the whole run (workload, options, report, every event) to PATH, to replay later
    /// with `schedlab replay PATH`. About 6 bytes per scheduling event, 15 per task.
    #[arg(long, value_name = "PATH")]
    record: Option<PathBuf>,
    #[command(flatten)]
    exec: ExecArgs,
}

/// What a finished run (or a recording of one) can be written as.
#[derive(Debug, Args)]
struct Outputs {
    /// Write the run report as JSON to PATH (`-` for stdout). In the TUI, this and the other
    /// outputs describe the run the command line asked for (the first), not later re-runs.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write a Chrome Trace Event Format file (one track per worker) for Perfetto or chrome://tracing.
    /// Expect roughly 120 bytes per scheduling event, about 270 bytes per task: 1M tiny tasks
    /// make a 270 MB trace (see --trace-max).
    #[arg(long, value_name = "PATH")]
    trace: Option<PathBuf>,
    /// Keep the trace under SIZE (e.g. 50MB, 1GB): every core's events are cut at the same
    /// moment, so the trace shows the whole machine up to there, and says where it was cut.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "trace")]
    trace_max: Option<u64>,
    /// Write one CSV row per task attempt (task, group, worker, ready, start, end, attempt,
    /// outcome; times in ns) to PATH, for notebooks. About 60 bytes per attempt.
    #[arg(long, value_name = "PATH")]
    csv: Option<PathBuf>,
    /// Write the per-core timeline as an SVG picture, for slides: a row per core, groups in
    /// colour, scheduler and idle time, the critical path outlined. Tens of KB whatever the
    /// run's size (time is binned to the picture's width).
    #[arg(long, value_name = "PATH")]
    svg: Option<PathBuf>,
}

impl Outputs {
    /// Whether an output needs the run's events.
    fn need_events(&self) -> bool {
        self.trace.is_some() || self.csv.is_some() || self.svg.is_some()
    }

    fn any(&self) -> bool {
        self.json.is_some() || self.need_events()
    }

    /// The outputs asked for, each with its flag.
    fn named(&self) -> Vec<Named<'_>> {
        named_outputs(&[
            ("--json", &self.json),
            ("--trace", &self.trace),
            ("--csv", &self.csv),
            ("--svg", &self.svg),
        ])
    }
}

/// The outputs of `flags` that were given.
fn named_outputs<'a>(flags: &[(&'a str, &'a Option<PathBuf>)]) -> Vec<Named<'a>> {
    flags
        .iter()
        .filter_map(|&(flag, path)| path.as_deref().map(|p| Named::new(flag, p)))
        .collect()
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// A recording made with `--record PATH`.
    recording: PathBuf,
    /// No TUI: print the recorded run's summary (and write the outputs asked for).
    #[arg(long)]
    headless: bool,
    /// Simulate what the recorded run would have done, each task costing what it measured:
    /// under another policy (--policy) or on another number of cores (--workers).
    #[arg(long)]
    sim: bool,
    /// With --sim: the policy (default: the recorded run's).
    #[arg(long, requires = "sim", value_parser = parse_policy)]
    policy: Option<String>,
    /// With --sim: the simulated machine's cores (default: the recorded run's), all at speed 1
    /// when they differ from the recorded count.
    #[arg(long, requires = "sim", value_name = "N")]
    workers: Option<usize>,
    /// With --sim: scheduler costs from this RON file (see `schedlab calibrate`).
    #[arg(long, requires = "sim", value_name = "PATH")]
    cost_model: Option<PathBuf>,
    #[command(flatten)]
    outputs: Outputs,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Workload file, or the name of a shipped workload.
    #[arg(short, long)]
    workload: String,
    /// Policies to compare, comma-separated, each once.
    #[arg(long, value_delimiter = ',', default_value = "fifo,rr,steal,hetero", value_parser = parse_policy_arg)]
    policies: Vec<PolicyArg>,
    #[command(flatten)]
    machine: MachineArgs,
    /// Write `{ "schema": 1, "runs": [report, ...] }` to PATH (`-` for stdout); with
    /// `--repeat`, every run, plus a `summary` per policy.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Run each policy N times, interleaved (fifo, rr, …, fifo, rr, …) so slow moments of the
    /// machine hit every policy alike; report medians and min–max, and say which differences
    /// are inside the noise.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    #[command(flatten)]
    exec: ExecArgs,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Policies to sweep, comma-separated, each once.
    #[arg(long, value_delimiter = ',', default_value = "fifo,rr,steal,hetero", value_parser = parse_policy_arg)]
    policies: Vec<PolicyArg>,
    /// Total work at each point, in ms of `Spin` at speed 1.0.
    #[arg(long, value_name = "MS", default_value_t = 100.0)]
    total_ms: f64,
    // The three flags below belong to one kind of sweep each, so they have no clap default:
    // `None` says the user did not give the flag, which lets `sweep` refuse one given to the
    // other kind. Their defaults (`SWEEP_SIZES` and the others) are applied there.
    /// Task sizes of a granularity sweep, from..to, log steps (e.g. 1us..10ms, 500ns..2ms;
    /// default: 500ns..100ms).
    #[arg(long, value_name = "RANGE")]
    sizes: Option<String>,
    /// Steps per factor of ten between the sizes of a granularity sweep (default: 2).
    #[arg(long, visible_alias = "steps", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    per_decade: Option<u32>,
    /// Workers: a count (default: the machine's cores), or a range like 1..8 for a scaling
    /// sweep (1, 2, 4, … workers at `--size`).
    #[arg(long, value_name = "N|RANGE")]
    workers: Option<String>,
    /// Task size of a scaling sweep (default: 100us).
    #[arg(long, value_name = "SIZE")]
    size: Option<String>,
    /// A scaling sweep of this workload (a file, or a shipped workload's name) instead of
    /// spins of --size: its own tasks at every worker count, all cores at speed 1.
    #[arg(long, value_name = "WORKLOAD", conflicts_with_all = ["size", "total_ms"])]
    workload: Option<String>,
    /// Seed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Write the points as JSON to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the points as CSV to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    csv: Option<PathBuf>,
    /// Write the chart as an SVG picture to PATH, for slides (`-` for stdout). One output at
    /// most on stdout, no two on the same file; all are checked before the sweep starts.
    #[arg(long, value_name = "PATH")]
    svg: Option<PathBuf>,
    /// No chart: progress on stderr, the table on stdout. (In a terminal the points are
    /// drawn on log axes as they are measured, and the table printed when you leave.)
    #[arg(long)]
    headless: bool,
    #[command(flatten)]
    exec: ExecArgs,
}

#[derive(Debug, Args)]
struct BoardArgs {
    /// Task graphs: files (.stg, .json WfFormat, .dot/.gv, .ron) or directories, every graph
    /// file under which is taken.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Worker counts, comma-separated.
    #[arg(
        long,
        value_name = "N,..",
        value_delimiter = ',',
        default_value = "2,4,8,16"
    )]
    workers: Vec<usize>,
    /// Policies, comma-separated (default: every policy).
    #[arg(long, value_delimiter = ',', value_parser = parse_policy_arg)]
    policies: Option<Vec<PolicyArg>>,
    /// Known optimal makespans: a CSV `graph,processors,optimal`, whose `graph` matches the
    /// end of a graph file's path (`50/rand0000.stg`) and whose optimum is in the graph's units.
    #[arg(long, value_name = "FILE.csv")]
    optimal: Option<PathBuf>,
    /// What one unit of the graphs' time becomes (default: each graph's own, or 1ms).
    #[arg(long, value_name = "DURATION", value_parser = crate::sweep::parse_duration)]
    unit: Option<u64>,
    /// Write every case and the per-policy summary as JSON to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    #[command(flatten)]
    exec: ExecArgs,
}

/// The task sizes of a granularity sweep when `--sizes` is not given.
const SWEEP_SIZES: &str = "500ns..100ms";
/// Steps per factor of ten when `--per-decade` is not given.
const SWEEP_PER_DECADE: u32 = 2;
/// The task size of a scaling sweep when `--size` is not given.
const SWEEP_SIZE: &str = "100us";

#[derive(Debug, Args)]
struct MachineArgs {
    /// Worker threads (overrides the workload's machine).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Relative speed of each worker in (0, 1], comma-separated, e.g. 1,1,0.5,0.5 (slower speeds are emulated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = workload::parse_speed)]
    speeds: Option<Vec<f64>>,
    /// Seed of every random choice (overrides the workload's).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// What one unit of a task graph's time becomes (e.g. 1ms, 250us, 1s; one second for a
    /// WfFormat workflow): its tasks run as calibrated spins that long, or take exactly that
    /// long with --sim. Default: the workload's, or 1ms.
    #[arg(long, value_name = "DURATION", value_parser = crate::sweep::parse_duration)]
    unit: Option<u64>,
}

#[derive(Debug, Args)]
struct ExecArgs {
    /// Do not pin worker threads to cores.
    #[arg(long)]
    no_pin: bool,
    /// Simulate instead of running on threads: the same policy code decides everything in
    /// virtual time, task bodies cost their kernels' estimates (exact at any speed, nothing
    /// spins) and scheduler calls cost what a cost model says. The same result on any machine
    /// and any load, up to 65536 workers.
    #[arg(long)]
    sim: bool,
    /// With --sim: scheduler and kernel costs from this RON file (`schedlab calibrate` writes
    /// one) instead of the built-in defaults.
    #[arg(long, value_name = "PATH", requires = "sim")]
    cost_model: Option<PathBuf>,
    /// With --sim: each task's body time as measured in this recording of a real run of the
    /// same workload (`--record`), to replay it under another policy or on more cores.
    #[arg(long, value_name = "RUN.rec", requires = "sim")]
    costs_from: Option<PathBuf>,
}

impl ExecArgs {
    /// The engine these flags choose; `recorded` is the recording `--costs-from` names,
    /// loaded, with its path.
    fn engine_with(
        &self,
        recorded: Option<(&crate::recording::Recording, &Path)>,
    ) -> Result<Arc<dyn Engine + Send + Sync>> {
        Ok(if self.sim {
            Arc::new(simulator(self.cost_model.as_deref(), recorded)?)
        } else {
            Arc::new(Threads)
        })
    }

    /// The engine these flags choose for a command that runs workloads of its own (the
    /// tour's, the sweep's): a recording's task times fit only the workload it recorded.
    fn engine(&self) -> Result<Arc<dyn Engine + Send + Sync>> {
        if let Some(path) = &self.costs_from {
            bail!(
                "--costs-from {}: a recording's task times are those of the workload it recorded, so they go with a run or a compare of it (`schedlab --sim --costs-from {} --workload …`, or `schedlab replay {} --sim`), not with this command's own workloads",
                path.display(),
                path.display(),
                path.display()
            );
        }
        self.engine_with(None)
    }
}

/// The simulator with the costs of the model at `cost_model` (the defaults without one) and,
/// given a recording of a real run, each task's time as it measured it.
fn simulator(
    cost_model: Option<&Path>,
    recorded: Option<(&crate::recording::Recording, &Path)>,
) -> Result<Sim> {
    let model = match cost_model {
        Some(path) => CostModel::load(path)?,
        None => CostModel::default(),
    };
    let mut sim = Sim::new(model);
    if let Some((recording, path)) = recorded {
        warn_if_preempted(recording, path);
        sim.measured = Some(Arc::new(recording.task_times()));
        sim.measured_from = Some(path.display().to_string());
    }
    Ok(sim)
}

/// The workload `arg` names, with the command line's overrides, for `exec`'s engine; a
/// recording given with --costs-from must be of the same workload.
fn prepare_for(
    arg: &str,
    machine: &MachineArgs,
    exec: &ExecArgs,
) -> Result<(Session, Arc<dyn Engine + Send + Sync>)> {
    let recording = exec
        .costs_from
        .as_deref()
        .map(crate::recording::Recording::load)
        .transpose()?;
    let recorded = recording.as_ref().zip(exec.costs_from.as_deref());
    let engine = exec.engine_with(recorded)?;
    let p = Session::load_for(arg, &machine.overrides(), engine.as_ref())?;
    if let Some((recording, path)) = recorded {
        let (theirs, ours) = (&recording.loaded.workload.name, &p.loaded.workload.name);
        if theirs != ours || recording.plan.total != p.plan.total {
            bail!(
                "--costs-from {}: it recorded `{}` ({} tasks, seed {}), but this run is `{}` ({} tasks, seed {}); give the same workload and seed",
                path.display(),
                crate::escape::printable(theirs),
                recording.plan.total,
                recording.plan.seed,
                crate::escape::printable(ours),
                p.plan.total,
                p.plan.seed
            );
        }
    }
    Ok((p, engine))
}

impl MachineArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            workers: self.workers,
            speeds: self.speeds.clone(),
            seed: self.seed,
            unit_ns: self.unit,
        }
    }
}

/// Parses a size such as `500k`, `50MB`, `1.5GB` or `100MiB` into bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 50MB or 1GB"))?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}` (use B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = value * scale;
    if !(bytes.is_finite() && bytes >= 64e3) {
        return Err(format!("`{text}` is too small for a trace (at least 64kB)"));
    }
    Ok(bytes as u64)
}

fn parse_policy(name: &str) -> Result<String, String> {
    match schedlab_policies::find(name) {
        Some(info) => Ok(info.name.to_string()),
        None => {
            let valid: Vec<String> = schedlab_policies::ALL
                .iter()
                .map(|p| {
                    if p.aliases.is_empty() {
                        p.name.to_string()
                    } else {
                        format!("{} ({})", p.name, p.aliases.join(", "))
                    }
                })
                .collect();
            Err(format!(
                "unknown policy `{name}`; valid policies: {}",
                valid.join(", ")
            ))
        }
    }
}

/// A policy as written in `--policies`, and the policy it names.
#[derive(Clone, Debug)]
struct PolicyArg {
    given: String,
    name: String,
}

fn parse_policy_arg(given: &str) -> Result<PolicyArg, String> {
    parse_policy(given).map(|name| PolicyArg {
        given: given.to_string(),
        name,
    })
}

/// The policies of `--policies`, by their names. One named twice, even by two of its names
/// (`rr,round-robin`), is refused: it would run twice and count twice in the comparison.
fn distinct_policies(list: &[PolicyArg]) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (i, policy) in list.iter().enumerate() {
        if let Some(first) = list[..i].iter().find(|p| p.name == policy.name) {
            if first.given == policy.given {
                bail!(
                    "--policies names {} twice; give each policy once",
                    policy.given
                );
            }
            bail!(
                "--policies names {} twice (as {} and as {}); give each policy once",
                policy.name,
                first.given,
                policy.given
            );
        }
        names.push(policy.name.clone());
    }
    Ok(names)
}

/// Parses the command line, runs it and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Messages quote what files hold (names, RON tokens): nothing in them may drive
            // the terminal.
            eprintln!(
                "schedlab: error: {}",
                crate::escape::printable_lines(&format!("{e:#}"))
            );
            if e.downcast_ref::<Crashed>().is_some() {
                ExitCode::from(EXIT_CRASHED)
            } else {
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // Ctrl-C is ours from the start, so one arriving early still stops the run cleanly.
    interrupt_flag();
    match cli.command {
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Check { workload, machine }) => check(&workload, &machine),
        Some(Command::Tour {
            lesson,
            headless,
            exec,
        }) => tour(lesson, headless, &exec),
        Some(Command::Sweep(args)) => sweep(&args),
        Some(Command::Board(args)) => board(&args),
        Some(Command::Calibrate { out, workloads }) => {
            calibrate(out.as_deref(), workloads.as_deref())
        }
        Some(Command::Replay(args)) => replay(&args),
        Some(Command::Import { file, out }) => import(&file, out.as_deref()),
        Some(Command::List) => {
            print_text(&list());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::aot::generate(shell, &mut command, "schedlab", &mut script);
            print_bytes(&script)
        }
        Some(Command::Man { dir }) => {
            // Each subcommand's page names the version too (clap gives it only to the top).
            let command = <Cli as clap::CommandFactory>::command()
                .mut_subcommands(|sub| sub.version(VERSION));
            let main_page = manual_page(command.clone())?;
            match dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    let cannot = || format!("cannot write the pages into {}", dir.display());
                    clap_mangen::generate_to(command, &dir).with_context(cannot)?;
                    // The main page again, with the workload format that clap knows nothing of.
                    std::fs::write(dir.join("schedlab.1"), main_page).with_context(cannot)?;
                }
                None => return print_bytes(main_page.as_bytes()),
            }
            Ok(ExitCode::SUCCESS)
        }
        None => run_one(&cli.run),
    }
}

/// The main manual page: clap's page of the options and commands, with the workload format's
/// reference (`docs/workload-format.md`) as a section of its own before the version.
fn manual_page(command: clap::Command) -> Result<String> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    let mut page = String::from_utf8(page).context("the manual page is not UTF-8")?;
    let section = crate::manual::roff_section("WORKLOAD FORMAT", crate::manual::WORKLOAD_FORMAT);
    let at = page.find("\n.SH VERSION").map_or(page.len(), |i| i + 1);
    page.insert_str(at, &section);
    Ok(page)
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
/// Text for stdout. A reader that went away (`schedlab list | head -1`) is no error: what it
/// did not read is not wanted, and the run's other outputs still get written.
fn print_text(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("schedlab: cannot write to stdout: {e}");
    }
}

fn print_bytes(bytes: &[u8]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The workload `arg` names, with the command line's machine overrides.
fn prepare(arg: &str, machine: &MachineArgs) -> Result<Session> {
    Session::load(arg, &machine.overrides())
}

/// A progress bar of `len` steps drawn with `template` (indicatif's), the same look everywhere.
fn progress_bar(len: usize, template: &str) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(len as u64).with_style(style)
}

fn execute(
    p: &Session,
    engine: &dyn Engine,
    policy: &str,
    record: bool,
    pin: bool,
    progress: bool,
) -> Result<RunResult> {
    let options = RunOptions {
        record,
        pin,
        stop: Some(interrupt_flag()),
        events: None,
    };
    // A progress bar on a terminal, for runs long enough to wonder about (over a second);
    // nothing at all when stderr is a file or a pipe.
    let tty = progress && std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut tick = |p: Progress| {
        if !tty || p.elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            progress_bar(p.total, "{prefix} [{bar:40}] {pos}/{len} tasks  {msg}")
                .with_prefix(policy.to_string())
        });
        bar.set_position(p.finished as u64);
        // From the run's own pace: the bar only starts after a second.
        let elapsed = p.elapsed.as_secs_f64();
        let left = match p.finished {
            0 => String::new(),
            done => format!(
                ", about {:.0} s left",
                elapsed * (p.total - done) as f64 / done as f64
            ),
        };
        bar.set_message(format!("{elapsed:.1} s{left}"));
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.run_on(engine, policy, &options, &mut tick)
    }));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(Ok(run)) => Ok(run),
        Ok(Err(e)) => Err(e.into()),
        Err(panic) => Err(Crashed(exec::panic_message(&*panic)).into()),
    }
}

/// Writes an output to stdout (`-`) or, whole or not at all, to the file at `path`.
fn write_to(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if output::is_stdout(path) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        write(&mut lock).with_context(|| format!("cannot write the {what} to stdout"))?;
        return Ok(());
    }
    output::write(path, write)
        .with_context(|| format!("cannot write the {what} to {}", path.display()))
}

/// The workload's file, where it was read from one (a built-in workload is no file).
fn workload_file(p: &Session) -> Vec<Named<'_>> {
    let path = Path::new(&p.loaded.source_name);
    if path.is_file() {
        vec![Named::new("the workload", path)]
    } else {
        Vec::new()
    }
}

fn run_one(args: &RunArgs) -> Result<ExitCode> {
    let Some(arg) = &args.workload else {
        bail!("--workload is required")
    };
    let (p, engine) = prepare_for(arg, &args.machine, &args.exec)?;
    let mut outputs = args.outputs.named();
    if let Some(path) = &args.record {
        if output::is_stdout(path) {
            bail!(
                "--record needs a file path: a recording is replayed from a file (`./-` names a file called -)"
            );
        }
        outputs.push(Named::new("--record", path));
    }
    output::check(&workload_file(&p), &outputs)?;
    let tui = !args.headless && std::io::stdout().is_terminal();
    if !args.headless && !tui {
        eprintln!("schedlab: stdout is not a terminal, so no TUI: headless summary");
    }
    let need_events = args.outputs.need_events() || args.record.is_some();
    let (report, timeline, samples, interrupted) = if tui {
        let w = &p.loaded.workload;
        let policy = schedlab_policies::find(&args.policy).map_or("steal", |info| info.name);
        let app = crate::tui::run_with_tour(crate::tui::Session {
            workload: &w.name,
            description: &w.description,
            plan: p.plan.clone(),
            machine: p.machine.clone(),
            policy,
            pin: !args.exec.no_pin,
            keep_events: need_events,
            recorded: None,
            lesson: None,
            engine: engine.clone(),
        })?;
        // The run the command line asked for is the session's first.
        let report = app.first_report();
        (
            report,
            app.kept.unwrap_or_default(),
            app.kept_samples,
            app.interrupted,
        )
    } else {
        let w = &p.loaded.workload;
        eprintln!(
            "schedlab: {} {} ({} tasks) under {} on {} workers...",
            if engine.simulated() {
                "simulating"
            } else {
                "running"
            },
            w.name,
            p.plan.total,
            args.policy,
            p.machine.workers()
        );
        let cores = exec::machine::cores();
        if !engine.simulated() && p.machine.workers() > cores {
            eprintln!(
                "schedlab: {} workers on {cores} cores take turns on them, and the OS's time-slicing shows in every figure; `--sim` simulates a machine of {} cores instead",
                p.machine.workers(),
                p.machine.workers()
            );
        }
        let run = execute(
            &p,
            engine.as_ref(),
            &args.policy,
            need_events,
            !args.exec.no_pin,
            true,
        )?;
        let report = p.report(&run);
        let interrupted = report.interrupted;
        print_summary(&report, &args.outputs);
        (Some(report), run.timeline, run.samples, interrupted)
    };
    if let Some(report) = &report {
        write_outputs(&args.outputs, &p.plan, report, &timeline, &samples)?;
        if let Some(path) = &args.record {
            let seed = args.machine.seed.unwrap_or(p.loaded.workload.seed);
            let recording = crate::recording::Recording::new(
                &p.loaded, seed, &p.machine, report, &timeline, &samples,
            )?;
            recording.save(path)?;
            eprintln!(
                "schedlab: run recorded to {} (replay it with `schedlab replay {}`)",
                path.display(),
                path.display()
            );
        }
    } else if args.outputs.any() || args.record.is_some() {
        eprintln!("schedlab: the first run did not finish, so nothing was written");
    }
    Ok(if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The summary table goes to stdout, unless an output does.
fn print_summary(report: &Report, outputs: &Outputs) {
    if outputs.named().iter().any(Named::is_stdout) {
        eprint!("{}", report.summary());
    } else {
        print_text(&report.summary());
    }
}

/// Writes what `outputs` asks for, from a finished run.
fn write_outputs(
    outputs: &Outputs,
    plan: &Plan,
    report: &Report,
    timeline: &crate::record::Timeline,
    samples: &[Progress],
) -> Result<()> {
    if let Some(path) = &outputs.json {
        write_to(path, "report", |out| {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        })?;
    }
    if let Some(path) = &outputs.trace {
        let cut = outputs
            .trace_max
            .and_then(|max| crate::trace::cut_time(plan, timeline, max));
        write_to(path, "trace", |out| {
            crate::trace::write(out, plan, report, timeline, samples, cut)
        })?;
        if let Some(cut) = cut {
            eprintln!(
                "schedlab: trace cut at {} of {} to stay under --trace-max",
                fmt_ns(cut),
                fmt_ns(report.makespan_ns)
            );
        }
        eprintln!(
            "schedlab: trace written to {} (open it in https://ui.perfetto.dev or chrome://tracing)",
            path.display()
        );
    }
    if let Some(path) = &outputs.csv {
        write_to(path, "task table", |out| {
            crate::export::write_csv(out, plan, timeline)
        })?;
    }
    if let Some(path) = &outputs.svg {
        let critical = crate::report::critical_attempts(plan, report, timeline);
        let mut picture = Vec::new();
        crate::svg::write_timeline(
            &mut picture,
            plan,
            report,
            timeline,
            &critical,
            Some(report.critical_path_ns),
        )?;
        write_to(path, "picture", |out| out.write_all(&picture))?;
    }
    Ok(())
}

fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    if args.sim {
        return replay_simulated(args);
    }
    let recording = crate::recording::Recording::load(&args.recording)?;
    output::check(
        &[Named::new("the recording", &args.recording)],
        &args.outputs.named(),
    )?;
    let report = recording.report();
    write_outputs(
        &args.outputs,
        &recording.plan,
        report,
        &recording.timeline,
        &recording.samples(),
    )?;
    let tui = !args.headless && std::io::stdout().is_terminal();
    if tui {
        let w = &recording.loaded.workload;
        let policy = schedlab_policies::find(&report.policy).map_or("steal", |info| info.name);
        let app = crate::tui::run_with_tour(crate::tui::Session {
            workload: &w.name,
            description: &w.description,
            plan: recording.plan.clone(),
            machine: recording.machine.clone(),
            policy,
            pin: true,
            keep_events: false,
            recorded: Some(&recording),
            lesson: None,
            // Runs started from a replay are of the same kind as the recorded one.
            engine: match &report.cost_model {
                Some(model) => Arc::new(Sim::new(model.clone())),
                None => Arc::new(Threads),
            },
        })?;
        if app.interrupted {
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
    } else {
        eprintln!(
            "schedlab: {} recorded by schedlab {} ({} under {}, seed {})",
            args.recording.display(),
            crate::escape::printable(&recording.header.schedlab),
            crate::escape::printable(&report.workload),
            crate::escape::printable(&report.policy),
            report.seed
        );
        print_summary(report, &args.outputs);
    }
    Ok(ExitCode::SUCCESS)
}

/// Says so when the OS kept a recorded run's workers off their CPUs: the task times a
/// simulation takes from it then include the machine's doing.
fn warn_if_preempted(recording: &crate::recording::Recording, path: &Path) {
    if let Some(share) = recording
        .report()
        .preempted_share()
        .filter(|s| *s > crate::report::PREEMPTED_WARNING)
    {
        eprintln!(
            "schedlab: warning: in {}, the OS kept the workers waiting for a CPU {:.0} % of their time, and the task times taken from it include those waits: record on a quieter machine for times that are the tasks' own",
            path.display(),
            share * 100.0
        );
    }
}

/// `replay --sim`: the recorded workload simulated with the recorded task times.
fn replay_simulated(args: &ReplayArgs) -> Result<ExitCode> {
    let recording = crate::recording::Recording::load(&args.recording)?;
    output::check(
        &[Named::new("the recording", &args.recording)],
        &args.outputs.named(),
    )?;
    let sim = simulator(
        args.cost_model.as_deref(),
        Some((&recording, &args.recording)),
    )?;
    let recorded = recording.report();
    let overrides = Overrides {
        workers: args.workers,
        speeds: match args.workers {
            Some(n) if n != recording.machine.workers() => Some(vec![1.0; n]),
            _ => Some(recording.machine.speeds.clone()),
        },
        seed: Some(recorded.seed),
        unit_ns: None,
    };
    let p = Session::of_for(recording.loaded.clone(), &overrides, &sim)?;
    let policy = args
        .policy
        .clone()
        .unwrap_or_else(|| recorded.policy.clone());
    let policy = schedlab_policies::find(&policy).map_or("steal", |info| info.name);
    let tui = !args.headless && std::io::stdout().is_terminal();
    let (report, timeline, samples) = if tui {
        let w = &p.loaded.workload;
        let app = crate::tui::run_with_tour(crate::tui::Session {
            workload: &w.name,
            description: &w.description,
            plan: p.plan.clone(),
            machine: p.machine.clone(),
            policy,
            pin: false,
            keep_events: args.outputs.any(),
            recorded: None,
            lesson: None,
            engine: Arc::new(sim),
        })?;
        let report = app.first_report();
        (report, app.kept.unwrap_or_default(), app.kept_samples)
    } else {
        eprintln!(
            "schedlab: simulating {} as recorded in {} ({} under {} on {} workers), under {policy} on {} workers...",
            crate::escape::printable(&recorded.workload),
            args.recording.display(),
            p.plan.total,
            crate::escape::printable(&recorded.policy),
            recorded.workers.len(),
            p.machine.workers()
        );
        let run = execute(&p, &sim, policy, args.outputs.need_events(), false, false)?;
        let report = p.report(&run);
        print_summary(&report, &args.outputs);
        (Some(report), run.timeline, run.samples)
    };
    if let Some(report) = &report {
        write_outputs(&args.outputs, &p.plan, report, &timeline, &samples)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn compare(args: &CompareArgs) -> Result<ExitCode> {
    let policies = distinct_policies(&args.policies)?;
    let (p, engine) = prepare_for(&args.workload, &args.machine, &args.exec)?;
    output::check(
        &workload_file(&p),
        &named_outputs(&[("--json", &args.json)]),
    )?;
    // A simulated run is deterministic: repeating it measures nothing new.
    let repeat = if engine.simulated() { 1 } else { args.repeat };
    if repeat < args.repeat {
        eprintln!(
            "schedlab: simulated runs are deterministic, so --repeat {} would give {} identical runs of each policy: each runs once",
            args.repeat, args.repeat
        );
    }
    let mut reports = Vec::new();
    'rounds: for round in 1..=repeat {
        for policy in &policies {
            if repeat > 1 {
                eprintln!(
                    "schedlab: {} under {policy}, run {round} of {repeat}...",
                    p.loaded.workload.name
                );
            } else {
                eprintln!("schedlab: {} under {policy}...", p.loaded.workload.name);
            }
            let run = execute(&p, engine.as_ref(), policy, false, !args.exec.no_pin, true)?;
            reports.push(p.report(&run));
            if run.interrupted {
                break 'rounds;
            }
        }
    }
    let summary = crate::compare::summarize(&reports);
    let table = if repeat > 1 {
        format!(
            "{}{}{}",
            comparison_heading(&reports),
            crate::compare::table(&summary),
            crate::compare::diagnostics(&reports)
        )
    } else {
        comparison(&reports)
    };
    if args.json.as_deref().is_some_and(output::is_stdout) {
        eprint!("{table}");
    } else {
        print_text(&table);
    }
    if let Some(path) = &args.json {
        let doc = if repeat > 1 {
            serde_json::json!({ "schema": crate::report::SCHEMA, "runs": reports, "summary": summary })
        } else {
            serde_json::json!({ "schema": crate::report::SCHEMA, "runs": reports })
        };
        write_to(path, "comparison", |out| {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        })?;
    }
    let interrupted = reports.iter().any(|r| r.interrupted);
    Ok(if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn board(args: &BoardArgs) -> Result<ExitCode> {
    let policies = match &args.policies {
        Some(list) => distinct_policies(list)?,
        None => schedlab_policies::ALL
            .iter()
            .map(|p| p.name.to_string())
            .collect(),
    };
    if let Some(&w) = args.workers.iter().find(|&&w| w == 0) {
        bail!("--workers {w}: a worker count is at least 1");
    }
    let graphs = crate::board::graph_files(&args.paths)?;
    let optimal = args
        .optimal
        .as_deref()
        .map(crate::board::Optimal::load)
        .transpose()?;
    let inputs: Vec<Named> = graphs
        .iter()
        .map(|g| Named::new("a graph", g))
        .chain(args.optimal.as_deref().map(|o| Named::new("--optimal", o)))
        .collect();
    output::check(&inputs, &named_outputs(&[("--json", &args.json)]))?;
    let engine = args.exec.engine()?;
    let board = crate::board::Board {
        graphs,
        workers: args.workers.clone(),
        policies,
        optimal,
        unit_ns: args.unit,
        engine: engine.as_ref(),
        pin: !args.exec.no_pin,
    };
    let tty = std::io::stderr().is_terminal();
    let total = board.graphs.len() * board.workers.len() * board.policies.len();
    let mut done = 0;
    let results = board.run(Some(&interrupt_flag()), &mut |case| {
        done += 1;
        if tty {
            eprint!("\r\x1b[2Kschedlab: board {done}/{total}: {case}");
        }
    })?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let table = crate::board::table(&results, board.graphs.len(), &board.workers);
    if args.json.as_deref().is_some_and(output::is_stdout) {
        eprint!("{table}");
    } else {
        print_text(&table);
    }
    if let Some(path) = &args.json {
        write_to(path, "board", |out| {
            serde_json::to_writer_pretty(&mut *out, &results)?;
            writeln!(out)
        })?;
    }
    Ok(if results.errors().next().is_some() {
        ExitCode::from(EXIT_CRASHED)
    } else if results.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn tour(lesson: Option<usize>, headless: bool, exec: &ExecArgs) -> Result<ExitCode> {
    let lessons = crate::tour::LESSONS.len();
    let chosen: Vec<usize> = match lesson {
        Some(n) if (1..=lessons).contains(&n) => vec![n - 1],
        Some(n) => bail!("there is no lesson {n}; the tour has lessons 1 to {lessons}"),
        None => (0..lessons).collect(),
    };
    if !headless && std::io::stdout().is_terminal() {
        let interrupted = crate::tui::run_tour(chosen[0], !exec.no_pin, exec.engine()?)?;
        return Ok(if interrupted {
            ExitCode::from(EXIT_INTERRUPTED)
        } else {
            ExitCode::SUCCESS
        });
    }
    let engine = exec.engine()?;
    for (i, index) in chosen.into_iter().enumerate() {
        if i > 0 {
            print_text("\n");
        }
        let text = crate::tour::run_lesson(index, !exec.no_pin, &engine, &mut |line| {
            eprintln!("schedlab: {line}")
        })?;
        print_text(&text);
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate(out: Option<&Path>, workloads: Option<&[String]>) -> Result<ExitCode> {
    let out = out.filter(|path| !output::is_stdout(path));
    if let Some(path) = out {
        output::check(&[], &[Named::new("--out", path)])?;
    }
    // Loaded first, so a typo fails before the measuring starts.
    let names: Vec<String> = match workloads {
        Some(list) => list.to_vec(),
        None => workload::BUILTIN
            .iter()
            .map(|(name, _)| (*name).to_string())
            .collect(),
    };
    let loaded: Vec<workload::Workload> = names
        .iter()
        .map(|name| workload::find(name).map(|l| l.workload))
        .collect::<Result<_, _>>()?;
    let measured = crate::calibrate::calibrate(&interrupt_flag(), &mut |step| {
        eprintln!("schedlab: measuring {step}...");
    })?;
    let Some(mut c) = measured else {
        eprintln!("schedlab: calibration interrupted; nothing was written");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    eprintln!("schedlab: measuring the kernels of {}...", names.join(", "));
    c.model.measure_kernels(
        loaded
            .iter()
            .flat_map(|w| w.groups.iter().map(|g| &g.kernel)),
    );
    eprint!("{}", crate::calibrate::table(&c));
    eprintln!(
        "{} kernels measured as the workloads run them (kernel_us)",
        c.model.kernel_us.len()
    );
    let ron = format!("{}\n", c.model.to_ron());
    match out {
        Some(path) => {
            write_to(path, "cost model", |o| o.write_all(ron.as_bytes()))?;
            eprintln!(
                "schedlab: cost model written to {} (use it with `--sim --cost-model {}`)",
                path.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => print_bytes(ron.as_bytes()),
    }
}

fn sweep(args: &SweepArgs) -> Result<ExitCode> {
    use crate::sweep::{self, Axis};
    if !(args.total_ms.is_finite() && args.total_ms > 0.0 && args.total_ms <= 60_000.0) {
        bail!(
            "--total-ms must be above 0 and at most 60000, got {}",
            args.total_ms
        );
    }
    let total_ns = (args.total_ms * 1e6) as u64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let engine = args.exec.engine()?;
    let most = engine.max_workers();
    let worker_count = |s: &str| -> Result<usize, String> {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=most).contains(n))
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a worker count between 1 and {most}{}",
                    if most < crate::workload::MAX_SIM_WORKERS {
                        " (with --sim, up to 65536)"
                    } else {
                        ""
                    }
                )
            })
    };
    let workload = match &args.workload {
        Some(arg) => {
            if !args.workers.as_deref().is_some_and(|w| w.contains("..")) {
                bail!(
                    "--workload makes a scaling sweep of that workload: give the worker counts as a range, e.g. --workers 1..64"
                );
            }
            Some(crate::workload::find(arg)?.workload)
        }
        None => None,
    };
    let axis = match &args.workers {
        Some(w) if w.contains("..") => {
            // A scaling sweep runs tasks of one size: the flags of sizes would be ignored.
            if args.sizes.is_some() {
                bail!(
                    "--sizes is for a granularity sweep, but --workers {w} makes this a scaling \
                     sweep, which runs tasks of one size: give it with --size"
                );
            }
            if args.per_decade.is_some() {
                bail!(
                    "--per-decade (--steps) is for a granularity sweep, but --workers {w} makes \
                     this a scaling sweep, which runs tasks of one size (--size)"
                );
            }
            let (from, to) =
                sweep::parse_range(w, worker_count).map_err(|e| anyhow!("--workers {e}"))?;
            let size = args.size.as_deref().unwrap_or(SWEEP_SIZE);
            let size_ns = sweep::parse_duration(size).map_err(|e| anyhow!("--size {e}"))?;
            Axis::Scaling {
                size_ns,
                workers: sweep::worker_counts(from, to),
            }
        }
        other => {
            if let Some(size) = &args.size {
                bail!(
                    "--size {size} is for a scaling sweep (--workers FROM..TO); this is a \
                     granularity sweep, whose task sizes are given with --sizes FROM..TO"
                );
            }
            let workers = other
                .as_deref()
                .map(worker_count)
                .transpose()
                .map_err(|e| anyhow!("--workers {e}"))?
                .unwrap_or(cores);
            let (from, to) = sweep::parse_range(sizes_of(args), sweep::parse_duration)
                .map_err(|e| anyhow!("--sizes {e}"))?;
            Axis::Granularity {
                sizes: sweep::sizes(from, to, args.per_decade.unwrap_or(SWEEP_PER_DECADE)),
                workers,
            }
        }
    };
    let scaling = matches!(axis, Axis::Scaling { .. });
    let policies = distinct_policies(&args.policies)?;
    sweep::check(&axis, &policies, total_ns)?;
    let outputs = named_outputs(&[
        ("--json", &args.json),
        ("--csv", &args.csv),
        ("--svg", &args.svg),
    ]);
    output::check(&[], &outputs)?;
    let (points, stopped) = if !args.headless && std::io::stdout().is_terminal() {
        sweep_chart(args, policies, axis, total_ns, scaling, engine, workload)?
    } else {
        // On a terminal, a bar of the runs with the one going on; in a pipe, a line each.
        let bar = std::io::stderr().is_terminal().then(|| {
            progress_bar(
                sweep::run_count(&axis, &policies, total_ns),
                "sweep [{bar:30}] {pos}/{len} runs  {wide_msg}",
            )
        });
        let mut started = 0;
        let setup = sweep::Setup {
            seed: args.seed,
            pin: !args.exec.no_pin,
            engine: engine.as_ref(),
            workload: workload.as_ref(),
        };
        let points = sweep::run_with(&axis, &policies, total_ns, &setup, &mut |step| match (
            step, &bar,
        ) {
            (sweep::Step::Running(line), Some(bar)) => {
                // The runs before this one are done.
                bar.set_position(started);
                bar.set_message(line.to_string());
                started += 1;
            }
            (sweep::Step::Running(line), None) => eprintln!("schedlab: {line}"),
            (sweep::Step::Measured(_), _) => {}
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        (points?, false)
    };
    if stopped {
        eprintln!(
            "schedlab: sweep stopped after {} points; these are the points measured",
            points.len()
        );
    }
    let table = sweep::table(&points, scaling);
    if outputs.iter().any(Named::is_stdout) {
        eprint!("{table}");
    } else {
        print_text(&table);
    }
    if let Some(path) = &args.json {
        let kind = if scaling { "scaling" } else { "granularity" };
        let doc = serde_json::json!({ "schema": 1, "kind": kind, "total_ms": args.total_ms, "points": points });
        write_to(path, "sweep", |out| {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        })?;
    }
    if let Some(path) = &args.csv {
        write_to(path, "sweep", |out| {
            out.write_all(sweep::csv(&points).as_bytes())
        })?;
    }
    if let Some(path) = &args.svg {
        let mut picture = Vec::new();
        crate::svg::write_sweep(&mut picture, &points, scaling)?;
        write_to(path, "picture", |out| out.write_all(&picture))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The task sizes of a granularity sweep, as given or by default.
fn sizes_of(args: &SweepArgs) -> &str {
    args.sizes.as_deref().unwrap_or(SWEEP_SIZES)
}

/// Runs a sweep on its own thread while the chart shows its points as they come; returns
/// the points and whether the user left before the end.
fn sweep_chart(
    args: &SweepArgs,
    policies: Vec<String>,
    axis: crate::sweep::Axis,
    total_ns: u64,
    scaling: bool,
    engine: Arc<dyn Engine + Send + Sync>,
    workload: Option<crate::workload::Workload>,
) -> Result<(Vec<crate::sweep::Point>, bool)> {
    use crate::tui::chart::{self, SweepMsg, SweepView};
    let (tx, rx) = crossbeam::channel::unbounded();
    let (seed, pin) = (args.seed, !args.exec.no_pin);
    let simulated = engine.simulated();
    let name = workload.as_ref().map(|w| w.name.clone());
    std::thread::Builder::new()
        .name("schedlab-sweep".into())
        .spawn(move || {
            let setup = crate::sweep::Setup {
                seed,
                pin,
                engine: engine.as_ref(),
                workload: workload.as_ref(),
            };
            let result = crate::sweep::run_with(&axis, &policies, total_ns, &setup, &mut |step| {
                let _ = tx.send(match step {
                    crate::sweep::Step::Running(line) => SweepMsg::Running(line.to_string()),
                    crate::sweep::Step::Measured(p) => SweepMsg::Point(p.clone()),
                });
            });
            let _ = tx.send(SweepMsg::Done(
                result.err().map(|e| format!("error: {e:#}")),
            ));
        })?;
    let title = if let Some(name) = name {
        format!("scaling {}", crate::escape::printable(&name))
    } else if scaling {
        format!("scaling, {} ms of work at each point", args.total_ms)
    } else {
        format!(
            "granularity {}, {} ms of work at each point",
            sizes_of(args),
            args.total_ms
        )
    };
    let title = if simulated {
        format!("SIMULATED {title}, virtual time")
    } else {
        title
    };
    chart::run(
        SweepView {
            title,
            scaling,
            ..SweepView::default()
        },
        rx,
    )
}

/// The comparison table of `compare`.
/// The first line of a comparison: the workload, and the machine the runs had.
fn comparison_heading(reports: &[Report]) -> String {
    reports.first().map_or(String::new(), |first| {
        let machine = if first.is_simulated() {
            format!("SIMULATED: {} cores, virtual time", first.machine.cores)
        } else {
            format!(
                "{} cores{}",
                first.machine.cores,
                if first.machine.oversubscribed {
                    ", oversubscribed"
                } else {
                    ""
                }
            )
        };
        format!(
            "{}: {} tasks on {} workers ({machine}), seed {}{}\n",
            crate::escape::printable(&first.workload),
            first.tasks.total,
            first.workers.len(),
            first.seed,
            if first.speeds_emulated && !first.is_simulated() {
                " (slower speeds emulated)"
            } else {
                ""
            }
        )
    })
}

pub fn comparison(reports: &[Report]) -> String {
    use std::fmt::Write as _;
    let mut out = comparison_heading(reports);
    let _ = writeln!(
        out,
        "{:<8} {:>10} {:>11} {:>7} {:>11} {:>14} {:>10} {:>8} {:>7}",
        "policy",
        "makespan",
        "efficiency",
        "idle %",
        "overhead %",
        "overhead/task",
        "p99 wait",
        "steals",
        "failed"
    );
    let best = reports.iter().map(|r| r.makespan_ns).min().unwrap_or(0);
    let busy = reports
        .iter()
        .any(|r| r.diagnostics.iter().any(|d| d.code == "preempted"));
    for r in reports {
        let total: u64 = r.makespan_ns * r.workers.len() as u64;
        let share = |f: fn(&crate::report::WorkerReport) -> u64| {
            let sum: u64 = r.workers.iter().map(f).sum();
            if total == 0 {
                0.0
            } else {
                sum as f64 * 100.0 / total as f64
            }
        };
        let _ = writeln!(
            out,
            "{:<8} {:>10} {:>10.1}% {:>7.1} {:>11.1} {:>14} {:>10} {:>8} {:>7}{}",
            r.policy,
            fmt_ns(r.makespan_ns),
            r.efficiency * 100.0,
            share(|w| w.idle_ns),
            share(|w| w.overhead_ns),
            fmt_ns(r.overhead_ns_per_task),
            fmt_ns(r.wait_ns.p99),
            r.workers.iter().map(|w| w.steals).sum::<u64>(),
            r.tasks.failed,
            if r.makespan_ns == best && reports.len() > 1 && !busy {
                "  <- fastest"
            } else {
                ""
            }
        );
    }
    // What the machine did to each run: the same list the report and the summary show.
    for r in reports {
        for d in &r.diagnostics {
            let _ = writeln!(out, "{}: {d}", r.policy);
        }
    }
    if busy && reports.len() > 1 {
        let _ = writeln!(
            out,
            "no fastest policy named: the OS kept the workers off their cores in some runs (see `preempted`), so the makespans measure the machine as much as the policies"
        );
    }
    out
}

/// `schedlab import FILE [--out PATH]`.
fn import(file: &str, out: Option<&Path>) -> Result<ExitCode> {
    if crate::import::Format::of(Path::new(file)).is_none() {
        bail!(
            "{file}: import reads a task graph: an STG file (.stg), a WfFormat workflow (.json) or a Graphviz digraph (.dot, .gv)"
        );
    }
    let out = out.filter(|path| !output::is_stdout(path));
    if let Some(path) = out {
        output::check(
            &[Named::new("the graph", Path::new(file))],
            &[Named::new("--out", path)],
        )?;
    }
    let loaded = workload::find(file)?;
    let ron = crate::import::to_ron(&loaded.workload)
        .with_context(|| format!("cannot write {file} as RON"))?;
    match out {
        Some(path) => {
            output::write(path, |w| w.write_all(ron.as_bytes()))
                .with_context(|| format!("cannot write the workload to {}", path.display()))?;
            eprintln!(
                "schedlab: {} ({} tasks) written to {}",
                loaded.source_name,
                loaded.workload.tasks.len(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => print_bytes(ron.as_bytes()),
    }
}

fn check(arg: &str, machine: &MachineArgs) -> Result<ExitCode> {
    let p = prepare(arg, machine)?;
    print_text(&describe(&p));
    Ok(ExitCode::SUCCESS)
}

fn describe(p: &Session) -> String {
    use std::fmt::Write as _;
    let w = &p.loaded.workload;
    let mut out = String::new();
    let _ = writeln!(out, "{}: ok", p.loaded.source_name);
    let _ = writeln!(out, "workload   {}", w.name);
    if !w.description.is_empty() {
        let _ = writeln!(
            out,
            "about      {}",
            crate::escape::printable(&w.description)
        );
    }
    let speeds: Vec<String> = p
        .machine
        .speeds
        .iter()
        .map(|&s| workload::fmt_speed(s))
        .collect();
    let _ = writeln!(
        out,
        "machine    {} workers, speeds {}{}",
        p.machine.workers(),
        speeds.join(", "),
        if p.machine.emulated() {
            " (slower speeds emulated)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "seed       {}", p.plan.seed);
    let _ = writeln!(
        out,
        "faults     panic rate {}, up to {} retries",
        w.faults.panic_rate, w.faults.max_retries
    );
    let _ = writeln!(out, "tasks      {} in all", p.plan.total);
    let mut estimated_work = 0.0;
    if !w.groups.is_empty() {
        let _ = writeln!(out, "\ngroups:");
    }
    for (g, group) in w.groups.iter().enumerate() {
        let gp = &p.plan.groups[g];
        let tasks = gp.roots as u64 * u64::from(gp.tree);
        let est: f64 = match &gp.fib {
            // Every node of the call tree (the same rule as the run's estimate).
            Some(fib) => crate::kernels::fib::tree_work_us(fib.n, fib.cutoff) * gp.roots as f64,
            None => f64::from(gp.cost_us) * gp.roots as f64,
        };
        estimated_work += est;
        let kernel =
            ron::to_string(&group.kernel).unwrap_or_else(|_| group.kernel.name().to_string());
        let mut line = format!("  {:<14} {:>8} x {kernel}", group.name, tasks);
        if !group.after.is_empty() {
            let _ = write!(line, "  after {}", group.after.join(", "));
        }
        match group.arrival {
            workload::Arrival::AtStart => {}
            a => {
                let _ = write!(line, "  arrival {}", ron::to_string(&a).unwrap_or_default());
            }
        }
        if group.jitter > 0.0 {
            let _ = write!(line, "  jitter {}", group.jitter);
        }
        let _ = writeln!(
            out,
            "{line}  ~{} per task",
            fmt_ns((est * 1e3 / tasks as f64) as u64)
        );
    }
    if let Some(graph) = &p.plan.graph {
        let work_us: f64 = graph.cost_us.iter().sum();
        estimated_work += work_us;
        let span_us = graph.rank_us.iter().copied().fold(0.0, f32::max);
        let unit = p.plan.source.as_ref().map_or(0, |s| s.unit_ns);
        let _ = writeln!(
            out,
            "\ntask graph: {} tasks, {} edges, one unit of time = {}{}",
            graph.len(),
            graph.succ.len() + graph.waits.len(),
            fmt_ns(unit),
            w.source.as_ref().map_or(String::new(), |s| format!(
                ", imported from {} ({})",
                crate::escape::printable(&s.file),
                s.format
            ))
        );
        for group in p.plan.groups.iter().filter(|g| g.graph) {
            let _ = writeln!(
                out,
                "  {:<14} {:>8} tasks  ~{} per task",
                group.name,
                group.roots,
                fmt_ns((f64::from(group.cost_us) * 1e3) as u64)
            );
        }
        let _ = writeln!(
            out,
            "critical path {} (estimated), work {}: parallelism {:.1}",
            fmt_ns((f64::from(span_us) * 1e3) as u64),
            fmt_ns((work_us * 1e3) as u64),
            work_us / f64::from(span_us).max(f64::MIN_POSITIVE)
        );
    }
    let estimate = w.estimate(&p.machine);
    let arrivals = estimate.arrivals;
    let attempts = w.expected_attempts();
    let _ = writeln!(
        out,
        "\nestimated work {}{} (about {} at least on this machine's {} workers{})",
        fmt_ns((estimated_work * 1e3) as u64),
        if attempts > 1.0 + 1e-9 {
            format!(
                ", {} with retries ({attempts:.2} attempts a task)",
                fmt_ns((estimated_work * attempts * 1e3) as u64)
            )
        } else {
            String::new()
        },
        fmt_ns(estimate.least().as_nanos() as u64),
        p.machine.workers(),
        if arrivals == estimate.least() && arrivals > estimate.work {
            format!(
                ", tasks arriving until {}",
                fmt_ns(arrivals.as_nanos() as u64)
            )
        } else {
            String::new()
        }
    );
    // Tasks that arrive over time: the load they offer against the workers, group by group
    // (the work of a second of arrivals, in cores).
    let speed_sum: f64 = p.machine.speeds.iter().sum();
    for (g, group) in w.groups.iter().enumerate() {
        let per_sec = match group.arrival {
            workload::Arrival::AtStart => continue,
            workload::Arrival::Every { us } if us > 0.0 => 1e6 / us,
            workload::Arrival::Every { .. } => continue,
            workload::Arrival::Poisson { per_sec } => per_sec,
        };
        let gp = &p.plan.groups[g];
        let cost_us = f64::from(gp.cost_us) * f64::from(gp.tree) * attempts;
        let cores = per_sec * cost_us / 1e6;
        let _ = writeln!(
            out,
            "arrivals   {}: {per_sec:.0}/s × {} = {cores:.2} cores of work on {} workers{}",
            group.name,
            fmt_ns((cost_us * 1e3) as u64),
            p.machine.workers(),
            if cores > speed_sum {
                ": the queue grows without bound while they arrive".to_string()
            } else {
                format!(" ({:.0} % of their speed)", cores / speed_sum * 100.0)
            }
        );
    }
    // A slow core makes each task that lands there longer by 1/speed: say how long.
    if let (Some(smallest), Some(slowest)) = (
        w.smallest_task_us(),
        p.machine.speeds.iter().copied().min_by(f64::total_cmp),
    ) && slowest < 1.0
    {
        let per_task = smallest / slowest;
        let _ = writeln!(
            out,
            "slowest core speed {}: even the smallest task takes about {} there (emulated: the core spins for the rest)",
            workload::fmt_speed(slowest),
            fmt_ns((per_task * 1e3).min(u64::MAX as f64) as u64)
        );
    }
    out
}

/// The text of `schedlab list`.
pub fn list() -> String {
    use std::fmt::Write as _;
    let mut out = String::from("policies:\n");
    for p in schedlab_policies::ALL {
        let names = std::iter::once(p.name)
            .chain(p.aliases.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "  {names:<24} {}", p.about);
    }
    out.push_str("\nkernels:\n");
    for (name, about) in KERNELS {
        let _ = writeln!(out, "  {name:<12} {about}");
    }
    out.push_str(
        "\nworkloads (built in; a file of the same name in ./workloads/ takes precedence):\n",
    );
    for (name, text) in workload::BUILTIN {
        let about = workload::parse(text, name)
            .map(|l| l.workload.description)
            .unwrap_or_default();
        // The whole description: cutting it at the first sentence dropped what to watch for.
        let _ = writeln!(out, "  {name:<14} {}", about.trim());
    }
    out.push_str("\nreal workflow runs (task graphs, WfInstances; LGPL-3.0):\n");
    for (name, _, _) in workload::BUILTIN_GRAPHS {
        let about = workload::find(name)
            .map(|l| l.workload.description)
            .unwrap_or_default();
        let about = about.split("; imported from").next().unwrap_or_default();
        let _ = writeln!(
            out,
            "  {name:<14} {}",
            crate::escape::printable(about.trim())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_help_states_the_defaults_the_code_applies() {
        // The defaults live in constants, not in clap, so --help spells them out by hand.
        let mut command = <Cli as clap::CommandFactory>::command();
        let sweep = command
            .find_subcommand_mut("sweep")
            .expect("a sweep subcommand");
        // Wide enough that no default is cut by a line break.
        let help = sweep
            .clone()
            .term_width(1000)
            .render_long_help()
            .to_string();
        for default in [
            format!("default: {SWEEP_SIZES}"),
            format!("default: {SWEEP_PER_DECADE}"),
            format!("default: {SWEEP_SIZE}"),
        ] {
            assert!(
                help.contains(&default),
                "sweep --help says `{default}`:\n{help}"
            );
        }
    }
}
