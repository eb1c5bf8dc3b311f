//! Comparisons that survive noise: each policy run several times, interleaved, summarised by
//! median and min–max, with a plain statement of whether a difference is larger than the
//! spread of the runs themselves.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{Report, fmt_ns};

/// Median and range of one metric over repeated runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; all zero when empty.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Spread {
                median: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// Whether the two ranges overlap: then the runs cannot tell the two apart.
    pub fn overlaps(&self, other: &Spread) -> bool {
        self.min <= other.max && other.min <= self.max
    }
}

/// One policy's repeated runs, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySummary {
    /// Canonical policy name.
    pub policy: String,
    /// How many runs.
    pub runs: usize,
    /// Makespan, ns.
    pub makespan_ns: Spread,
    /// Efficiency, 0..1.
    pub efficiency: Spread,
    /// Idle share of all workers' time, percent.
    pub idle_pct: Spread,
    /// Scheduler share of all workers' time, percent.
    pub overhead_pct: Spread,
    /// The scheduler's cost per task, preemption left out, ns.
    #[serde(default)]
    pub overhead_ns_per_task: Spread,
    /// p99 ready → start wait, ns.
    pub p99_wait_ns: Spread,
    /// p99 release → end response, ns.
    #[serde(default)]
    pub p99_response_ns: Spread,
    /// Some group's tasks arrive over time: the arrivals fix the makespan, so the responses
    /// are judged too.
    #[serde(default)]
    pub arrivals: bool,
    /// Runs in which the OS kept the workers off their cores for long (`preempted` fired):
    /// their figures judge the machine as much as the policy.
    #[serde(default)]
    pub preempted_runs: usize,
    /// The largest share of the workers' time the OS kept them waiting for a CPU, percent;
    /// `None` where the OS does not tell.
    pub preempted_pct_max: Option<f64>,
}

fn share(r: &Report, pick: fn(&crate::report::WorkerReport) -> u64) -> f64 {
    let total = (r.makespan_ns * r.workers.len() as u64).max(1) as f64;
    r.workers.iter().map(pick).sum::<u64>() as f64 * 100.0 / total
}

/// Summarises `reports` policy by policy, in the order the policies first appear.
pub fn summarize(reports: &[Report]) -> Vec<PolicySummary> {
    let mut order: Vec<&str> = Vec::new();
    for r in reports {
        if !order.contains(&r.policy.as_str()) {
            order.push(&r.policy);
        }
    }
    order
        .into_iter()
        .map(|policy| {
            let runs: Vec<&Report> = reports.iter().filter(|r| r.policy == policy).collect();
            PolicySummary {
                policy: policy.to_string(),
                runs: runs.len(),
                makespan_ns: Spread::of(runs.iter().map(|r| r.makespan_ns as f64)),
                efficiency: Spread::of(runs.iter().map(|r| r.efficiency)),
                idle_pct: Spread::of(runs.iter().map(|r| share(r, |w| w.idle_ns))),
                overhead_pct: Spread::of(runs.iter().map(|r| share(r, |w| w.overhead_ns))),
                overhead_ns_per_task: Spread::of(
                    runs.iter().map(|r| r.overhead_ns_per_task as f64),
                ),
                p99_wait_ns: Spread::of(runs.iter().map(|r| r.wait_ns.p99 as f64)),
                p99_response_ns: Spread::of(runs.iter().map(|r| r.response_ns.p99 as f64)),
                arrivals: runs
                    .iter()
                    .any(|r| r.groups.iter().any(|g| g.arrives_over_time)),
                preempted_runs: runs
                    .iter()
                    .filter(|r| r.diagnostics.iter().any(|d| d.code == "preempted"))
                    .count(),
                preempted_pct_max: runs
                    .iter()
                    .filter_map(|r| r.preempted_share())
                    .map(|s| s * 100.0)
                    .reduce(f64::max),
            }
        })
        .collect()
}

/// Which differences between the best policy and the others are real, in words: by makespan,
/// and for workloads whose tasks arrive over time (where the arrivals fix the makespan) by
/// p99 response time as well.
pub fn verdicts(summary: &[PolicySummary]) -> Vec<String> {
    let mut out = judge(summary, "makespan", |s| &s.makespan_ns);
    if summary.iter().any(|s| s.arrivals) {
        out.extend(judge(summary, "p99 response", |s| &s.p99_response_ns));
    }
    out
}

/// The verdicts on one metric (smaller is better), each policy against the best.
fn judge(
    summary: &[PolicySummary],
    metric: &str,
    of: fn(&PolicySummary) -> &Spread,
) -> Vec<String> {
    let Some(best) = summary
        .iter()
        .min_by(|a, b| of(a).median.total_cmp(&of(b).median))
    else {
        return Vec::new();
    };
    summary
        .iter()
        .filter(|s| s.policy != best.policy)
        .map(|s| {
            let (mine, theirs) = (of(best), of(s));
            let ratio = theirs.median / mine.median.max(1.0);
            let busy = best.preempted_runs + s.preempted_runs;
            if busy > 0 {
                // Spreads measured while the OS held the workers off their cores tell how busy
                // the machine was, not how the policies differ.
                let most = best
                    .preempted_pct_max
                    .into_iter()
                    .chain(s.preempted_pct_max)
                    .fold(0.0, f64::max);
                format!(
                    "{} and {} ({metric}): no verdict, the machine was busy: in {busy} of their {} runs the OS kept the workers waiting for a CPU (up to {most:.0} % of their time); compare on a quieter machine or with fewer workers",
                    best.policy,
                    s.policy,
                    best.runs + s.runs
                )
            } else if mine.overlaps(theirs) {
                format!(
                    "{} and {} are inside the noise on {metric}: their ranges overlap ({} runs each)",
                    best.policy, s.policy, s.runs
                )
            } else {
                format!(
                    "{} beats {} beyond the noise on {metric}: median {} vs {} ({:.0}% longer), ranges apart",
                    best.policy,
                    s.policy,
                    fmt_ns(mine.median as u64),
                    fmt_ns(theirs.median as u64),
                    (ratio - 1.0) * 100.0
                )
            }
        })
        .collect()
}

/// The table of a repeated comparison.
pub fn table(summary: &[PolicySummary]) -> String {
    let mut rows = vec![[
        "policy".to_string(),
        "runs".to_string(),
        "makespan median [min–max]".to_string(),
        "efficiency".to_string(),
        "idle %".to_string(),
        "overhead %".to_string(),
        "per task".to_string(),
        "p99 wait".to_string(),
        "p99 response".to_string(),
    ]];
    for s in summary {
        let ns = |x: f64| fmt_ns(x as u64);
        rows.push([
            s.policy.clone(),
            s.runs.to_string(),
            format!(
                "{} [{}–{}]",
                ns(s.makespan_ns.median),
                ns(s.makespan_ns.min),
                ns(s.makespan_ns.max)
            ),
            format!(
                "{:.1}% [{:.1}–{:.1}]",
                s.efficiency.median * 100.0,
                s.efficiency.min * 100.0,
                s.efficiency.max * 100.0
            ),
            format!(
                "{:.1} [{:.1}–{:.1}]",
                s.idle_pct.median, s.idle_pct.min, s.idle_pct.max
            ),
            format!(
                "{:.2} [{:.2}–{:.2}]",
                s.overhead_pct.median, s.overhead_pct.min, s.overhead_pct.max
            ),
            format!(
                "{} [{}–{}]",
                ns(s.overhead_ns_per_task.median),
                ns(s.overhead_ns_per_task.min),
                ns(s.overhead_ns_per_task.max)
            ),
            ns(s.p99_wait_ns.median),
            format!(
                "{} [{}–{}]",
                ns(s.p99_response_ns.median),
                ns(s.p99_response_ns.min),
                ns(s.p99_response_ns.max)
            ),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("   "));
    }
    for v in verdicts(summary) {
        let _ = writeln!(out, "{v}");
    }
    out
}

/// What the repeated runs showed, one line per diagnostic: in how many runs it fired, and
/// its message from the first of them (the same list the report and the summary have).
pub fn diagnostics(reports: &[Report]) -> String {
    let mut seen: Vec<(&crate::report::Diagnostic, &str, usize)> = Vec::new();
    for r in reports {
        for d in &r.diagnostics {
            match seen.iter_mut().find(|(first, _, _)| first.code == d.code) {
                Some(entry) => entry.2 += 1,
                None => seen.push((d, &r.policy, 1)),
            }
        }
    }
    let mut out = String::new();
    for (d, policy, runs) in seen {
        let _ = writeln!(
            out,
            "{} [{}] in {runs} of {} runs (first, {policy}): {}",
            d.severity,
            d.code,
            reports.len(),
            crate::escape::printable(&d.message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_median_and_range() {
        let s = Spread::of([3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of([1.0, 2.0, 3.0, 10.0]).median, 2.5);
        assert!(Spread::of([1.0, 2.0]).overlaps(&Spread::of([2.0, 3.0])));
        assert!(!Spread::of([1.0, 2.0]).overlaps(&Spread::of([2.5, 3.0])));
    }

    fn summary(policy: &str, makespans: &[f64]) -> PolicySummary {
        let s = Spread::of(makespans.iter().copied());
        PolicySummary {
            policy: policy.into(),
            runs: makespans.len(),
            makespan_ns: s,
            efficiency: s,
            idle_pct: s,
            overhead_pct: s,
            overhead_ns_per_task: s,
            p99_wait_ns: s,
            p99_response_ns: s,
            arrivals: false,
            preempted_runs: 0,
            preempted_pct_max: None,
        }
    }

    #[test]
    fn verdicts_say_when_a_difference_is_noise() {
        let v = verdicts(&[
            summary("steal", &[100.0, 110.0]),
            summary("fifo", &[105.0, 120.0]),
        ]);
        assert_eq!(v.len(), 1);
        assert!(v[0].contains("inside the noise"), "{v:?}");
        let v = verdicts(&[
            summary("rr", &[200e6, 210e6]),
            summary("steal", &[100e6, 104e6]),
        ]);
        assert!(
            v[0].starts_with("steal beats rr beyond the noise on makespan"),
            "{v:?}"
        );
        assert!(
            v[0].contains("100% longer") || v[0].contains("101% longer"),
            "{v:?}"
        );
    }

    #[test]
    fn runs_on_a_busy_machine_get_no_noise_verdict() {
        let mut busy = summary("rr", &[200e6, 210e6]);
        busy.preempted_runs = 2;
        busy.preempted_pct_max = Some(31.7);
        let v = verdicts(&[busy, summary("steal", &[100e6, 104e6])]);
        assert_eq!(v.len(), 1);
        assert!(v[0].contains("no verdict, the machine was busy"), "{v:?}");
        assert!(v[0].contains("up to 32 %"), "{v:?}");
        assert!(!v[0].contains("beyond the noise"), "{v:?}");
    }

    #[test]
    fn arrival_driven_runs_are_judged_by_response_too() {
        // Arrivals fix the makespan (the same for both); the responses tell them apart.
        let mut fifo = summary("fifo", &[300e6, 301e6]);
        let mut rr = summary("rr", &[300e6, 302e6]);
        fifo.p99_response_ns = Spread::of([1.9e6, 2.0e6]);
        rr.p99_response_ns = Spread::of([7.0e6, 7.2e6]);
        fifo.arrivals = true;
        rr.arrivals = true;
        let v = verdicts(&[fifo.clone(), rr.clone()]);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("inside the noise on makespan"), "{v:?}");
        assert!(
            v[1].starts_with("fifo beats rr beyond the noise on p99 response"),
            "{v:?}"
        );
        fifo.arrivals = false;
        rr.arrivals = false;
        assert_eq!(verdicts(&[fifo, rr]).len(), 1);
    }
}
