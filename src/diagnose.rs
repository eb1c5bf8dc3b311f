//! What a run shows that its user should know: every rule in one place, over one set of
//! [`Figures`], each with a stable code. The report's `diagnostics`, the headless summary,
//! `compare` and the TUI (finished runs from their report, a live run from its timeline so
//! far) all show this list.
//!
//! | code | severity | fires when |
//! |---|---|---|
//! | `oversubscribed` | warning | more workers than cores |
//! | `preempted` | warning | the OS kept the workers waiting for a CPU over 5 % of their time |
//! | `idle_while_queued` | warning | workers sat idle over 10 % of their time while ready tasks waited in queues they were not given |
//! | `too_fine` | warning | a task's mean body is under 10 × the scheduler's cost per task |
//! | `imbalance` | warning | the busiest and the least busy worker differ by over 20 % of the run |
//! | `spinning` | info | a worker spent over 20 ms, and over half its idle time, backing off instead of parked |
//! | `critical_path_bound` | info | the critical path binds and is over 80 % of the run |
//! | `arrival_bound` | info | the tasks' arrivals bind: the makespan says when the last one came |
//! | `failures` | warning | tasks failed after their retries |

use serde::{Deserialize, Serialize};

use crate::escape::printable;
use crate::fmt::fmt_ns;

/// Share of the workers' time the OS kept them waiting for a CPU above which a run's figures
/// judge the machine as much as the policy.
pub const PREEMPTED_WARNING: f64 = 0.05;
/// Share of the workers' time spent idle while work waited elsewhere that is worth a warning.
const IDLE_WHILE_QUEUED: f64 = 0.1;
/// A task should be at least this many times its scheduling cost.
const FINE: u64 = 10;
/// Busy shares of the busiest and the least busy worker further apart than this are imbalance.
const IMBALANCE: f64 = 0.2;
/// Backing off this long (and for most of the idle time) is spinning.
const SPINNING_NS: u64 = 20_000_000;
/// A critical path this share of the run bounds it.
const CRITICAL: f64 = 0.8;

/// One thing a run shows that its user should know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable, for tools: one of the codes in the table above.
    pub code: String,
    /// `info` or `warning`.
    pub severity: String,
    /// A sentence with the measured figures.
    pub message: String,
}

impl Diagnostic {
    fn new(code: &str, severity: &str, message: String) -> Diagnostic {
        Diagnostic {
            code: code.into(),
            severity: severity.into(),
            message,
        }
    }
}

/// `warning [preempted]: the OS kept ...`, the message's control characters escaped: the
/// line every text view prints.
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}]: {}",
            self.severity,
            self.code,
            printable(&self.message)
        )
    }
}

/// One worker's figures, ns.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerFigures {
    /// Inside task bodies.
    pub busy_ns: u64,
    /// Backing off or parked.
    pub idle_ns: u64,
    /// The part of idle while ready tasks waited in queues it was not given.
    pub queued_elsewhere_ns: u64,
    /// The part of idle backing off instead of parked.
    pub spinning_ns: u64,
}

/// What the rules look at: a finished run's report, or a live run so far.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// The run so far, or its makespan.
    pub span_ns: u64,
    /// CPUs the process could run on (0: not known).
    pub cores: usize,
    /// Per worker.
    pub workers: Vec<WorkerFigures>,
    /// Attempts run.
    pub attempts: u64,
    /// Task bodies' time, preemption left out.
    pub work_ns: u64,
    /// The scheduler's cost per attempt, preemption left out.
    pub overhead_ns_per_task: u64,
    /// How the idle split was measured, in words (`exact, from the recorded events`).
    pub idle_split_from: &'static str,
    /// The share of the workers' time the OS kept them waiting for a CPU, and how much of it
    /// fell inside bodies and scheduler calls (left out of their figures); `None` where the
    /// OS does not tell or the run is not over.
    pub preempted: Option<(f64, u64)>,
    /// Which bound binds (`work`, `critical_path`, `arrivals`); empty while the run goes on.
    pub bound: String,
    /// The critical path and the groups along it.
    pub critical_path_ns: u64,
    /// Its groups, when more than one.
    pub critical_groups: Vec<String>,
    /// p99 of the tasks' response times (for arrival-driven runs).
    pub response_p99_ns: u64,
    /// Tasks failed after their retries, and their dependents cancelled.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

/// Every rule that fires on `f`, in the order of the table above.
pub fn diagnose(f: &Figures) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let workers = f.workers.len();
    let capacity = f.span_ns as f64 * workers as f64;
    if f.cores > 0 && workers > f.cores {
        out.push(Diagnostic::new(
            "oversubscribed",
            "warning",
            format!(
                "{workers} workers on {} cores: the OS time-slices the workers, so a worker's waits, idle and scheduler time include time it spent off its core; --sim simulates a machine of {workers} cores instead",
                f.cores
            ),
        ));
    }
    if let Some((share, inside)) = f.preempted.filter(|(s, _)| *s > PREEMPTED_WARNING) {
        out.push(Diagnostic::new(
            "preempted",
            "warning",
            format!(
                "the OS kept the workers waiting for a CPU {:.1} % of their time (other programs, or more workers than cores): the scheduler's cost and the task times leave out the {} of it found inside their spans, but the makespan, idle time and waits include all of it, so they judge the machine as much as the policy",
                share * 100.0,
                fmt_ns(inside)
            ),
        ));
    }
    let elsewhere: u64 = f.workers.iter().map(|w| w.queued_elsewhere_ns).sum();
    if capacity > 0.0 && elsewhere as f64 > IDLE_WHILE_QUEUED * capacity {
        out.push(Diagnostic::new(
            "idle_while_queued",
            "warning",
            format!(
                "workers sat idle {:.0} % of their time while ready tasks waited in queues they were not given ({}): the policy does not move work to idle cores",
                elsewhere as f64 * 100.0 / capacity,
                f.idle_split_from
            ),
        ));
    }
    if f.attempts > 0 && f.overhead_ns_per_task > 0 {
        let mean = f.work_ns / f.attempts;
        if mean < FINE * f.overhead_ns_per_task {
            out.push(Diagnostic::new(
                "too_fine",
                "warning",
                format!(
                    "tasks ({} on average) are shorter than {FINE}× their scheduling cost ({} per task): make them bigger",
                    fmt_ns(mean),
                    fmt_ns(f.overhead_ns_per_task)
                ),
            ));
        }
    }
    let busiest = f.workers.iter().enumerate().max_by_key(|(_, w)| w.busy_ns);
    let idlest = f.workers.iter().enumerate().min_by_key(|(_, w)| w.busy_ns);
    if let (Some((hi, most)), Some((lo, least))) = (busiest, idlest) {
        let span = f.span_ns.max(1) as f64;
        if (most.busy_ns - least.busy_ns) as f64 > IMBALANCE * span {
            out.push(Diagnostic::new(
                "imbalance",
                "warning",
                format!(
                    "worker {hi} was busy {:.0} % of the run, worker {lo} only {:.0} %",
                    most.busy_ns as f64 * 100.0 / span,
                    least.busy_ns as f64 * 100.0 / span
                ),
            ));
        }
    }
    if let Some((w, spinner)) = f
        .workers
        .iter()
        .enumerate()
        .find(|(_, w)| w.spinning_ns > SPINNING_NS && w.spinning_ns * 2 > w.idle_ns)
    {
        out.push(Diagnostic::new(
            "spinning",
            "info",
            format!(
                "worker {w} spent {} of its {} idle backing off instead of parked",
                fmt_ns(spinner.spinning_ns),
                fmt_ns(spinner.idle_ns)
            ),
        ));
    }
    if f.bound == "critical_path"
        && workers > 1
        && f.critical_path_ns as f64 > CRITICAL * f.span_ns as f64
    {
        let through = if f.critical_groups.len() > 1 {
            format!(" through {}", f.critical_groups.join(" -> "))
        } else {
            String::new()
        };
        out.push(Diagnostic::new(
            "critical_path_bound",
            "info",
            format!(
                "the critical path ({}{through}) is {:.0} % of the run: more cores would not make it faster, shorter tasks along it would",
                fmt_ns(f.critical_path_ns),
                f.critical_path_ns as f64 * 100.0 / f.span_ns.max(1) as f64
            ),
        ));
    }
    if f.bound == "arrivals" {
        out.push(Diagnostic::new(
            "arrival_bound",
            "info",
            format!(
                "the tasks' arrivals set the end: the makespan says when the last task came, not how well the policy served them; judge by response times (p99 {})",
                fmt_ns(f.response_p99_ns)
            ),
        ));
    }
    if f.failed > 0 {
        out.push(Diagnostic::new(
            "failures",
            "warning",
            format!(
                "{} tasks failed after their retries and {} dependents were cancelled",
                f.failed, f.cancelled
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Figures {
        Figures {
            span_ns: 100_000_000,
            cores: 4,
            workers: vec![
                WorkerFigures {
                    busy_ns: 90_000_000,
                    idle_ns: 5_000_000,
                    ..WorkerFigures::default()
                };
                2
            ],
            attempts: 100,
            work_ns: 180_000_000,
            overhead_ns_per_task: 1_000,
            idle_split_from: "exact, from the recorded events",
            preempted: Some((0.01, 0)),
            bound: "work".into(),
            ..Figures::default()
        }
    }

    fn codes(f: &Figures) -> Vec<String> {
        diagnose(f).into_iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_balanced_run_on_a_quiet_machine_has_nothing_to_say() {
        assert!(codes(&quiet()).is_empty(), "{:?}", diagnose(&quiet()));
    }

    /// A rule's code, and the change to quiet figures that must make it fire.
    type Case = (&'static str, Box<dyn Fn(&mut Figures)>);

    #[test]
    fn each_rule_fires_on_its_own_figures() {
        let cases: Vec<Case> = vec![
            ("oversubscribed", Box::new(|f| f.cores = 1)),
            ("preempted", Box::new(|f| f.preempted = Some((0.3, 5_000)))),
            (
                "idle_while_queued",
                Box::new(|f| f.workers[1].queued_elsewhere_ns = 30_000_000),
            ),
            ("too_fine", Box::new(|f| f.overhead_ns_per_task = 500_000)),
            ("imbalance", Box::new(|f| f.workers[1].busy_ns = 40_000_000)),
            (
                "spinning",
                Box::new(|f| {
                    f.workers[0].idle_ns = 30_000_000;
                    f.workers[0].spinning_ns = 25_000_000;
                }),
            ),
            (
                "critical_path_bound",
                Box::new(|f| {
                    f.bound = "critical_path".into();
                    f.critical_path_ns = 95_000_000;
                }),
            ),
            ("arrival_bound", Box::new(|f| f.bound = "arrivals".into())),
            ("failures", Box::new(|f| f.failed = 2)),
        ];
        for (code, change) in cases {
            let mut f = quiet();
            change(&mut f);
            assert_eq!(codes(&f), [code], "{:?}", diagnose(&f));
            let d = &diagnose(&f)[0];
            assert!(["info", "warning"].contains(&d.severity.as_str()));
            assert!(d.message.chars().any(|c| c.is_ascii_digit()), "{d}");
        }
    }

    #[test]
    fn a_short_critical_path_or_one_worker_is_no_bound_worth_saying() {
        let mut f = quiet();
        f.bound = "critical_path".into();
        f.critical_path_ns = 50_000_000;
        assert!(codes(&f).is_empty());
        f.critical_path_ns = 95_000_000;
        f.workers.truncate(1);
        assert!(!codes(&f).contains(&"critical_path_bound".to_string()));
    }
}
