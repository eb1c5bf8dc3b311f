//! Chrome Trace Event Format export (`--trace PATH`), which Perfetto and chrome://tracing open.
//!
//! One track per worker (`core N`), a complete (`X`) event per task attempt with its group,
//! task, attempt and outcome in `args`, the emulated slowdown nested inside it, scheduler and
//! idle spans as their own events, an instant mark on the thief's track at each steal, and
//! counter tracks of the ready-queue depth (total, and per worker) sampled every 10 ms, the
//! attempts on the critical path flagged (`critical_path` in `args`) and its bound marked.
//! Times are microseconds in 1024ths (about a nanosecond), exact in a double. Spans of one
//! track never overlap: each recorded event starts a span that ends where the worker's next
//! event starts.

use std::io::{self, Write};

use crate::exec::Progress;
use crate::plan::Plan;
use crate::record::{Event, Kind, Outcome, Timeline};
use crate::report::Report;

fn us(ns: u64) -> String {
    format!("{}", ticks(ns) as f64 / 1024.0)
}

/// Nanoseconds in 1024ths of a microsecond. Binary fractions are exact in a double, so a
/// reader adding `ts + dur` lands exactly on the next slice's `ts`; decimal fractions can land
/// one rounding step past it, and the DevTools engine then drops the next slice from its tree.
fn ticks(ns: u64) -> u64 {
    (ns * 128 + 62) / 125
}

/// A duration from `start` to `end`, as the difference of the two rounded ends.
fn dur(start: u64, end: u64) -> String {
    format!(
        "{}",
        ticks(end).saturating_sub(ticks(start)) as f64 / 1024.0
    )
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".to_string())
}

/// An upper estimate of the bytes an event adds to a trace.
fn event_bytes(e: &Event, plan: &Plan) -> u64 {
    match e.kind {
        Kind::Run => {
            let name = plan.groups[plan.locate(e.task).0].name.len() as u64;
            // The slice, its args, and a steal mark when stolen.
            165 + 2 * name + if e.aux > 0 { 110 } else { 0 }
        }
        Kind::Exit => 0,
        _ => 105,
    }
}

/// The time at which to cut the trace of `timeline` so it stays under about `max_bytes`, or
/// `None` if all of it fits. Every core is cut at the same moment, so what is kept is the
/// whole machine's picture of the run's beginning.
pub fn cut_time(plan: &Plan, timeline: &Timeline, max_bytes: u64) -> Option<u64> {
    // Metadata, counters and slack.
    let budget = (max_bytes as f64 * 0.95) as u64;
    let budget = budget.saturating_sub(4096 + 200 * timeline.workers.len() as u64);
    let prefix: Vec<Vec<u64>> = timeline
        .workers
        .iter()
        .map(|events| {
            events
                .iter()
                .scan(0u64, |sum, e| {
                    *sum += event_bytes(e, plan);
                    Some(*sum)
                })
                .collect()
        })
        .collect();
    let bytes_before = |t: u64| -> u64 {
        timeline
            .workers
            .iter()
            .zip(&prefix)
            .map(|(events, sums)| {
                let n = events.partition_point(|e| e.t < t);
                // Counted with the next event, which ends the last span kept.
                sums.get(n).or(sums.last()).copied().unwrap_or(0)
            })
            .sum()
    };
    let end = timeline
        .workers
        .iter()
        .filter_map(|w| w.last())
        .map(|e| e.t + 1)
        .max()
        .unwrap_or(0);
    if bytes_before(end) <= budget {
        return None;
    }
    let (mut lo, mut hi) = (0u64, end);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if bytes_before(mid) <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// Writes the trace of a recorded run; `samples` become queue-depth counter tracks. With
/// `until`, the trace ends there (see [`cut_time`]) with a mark saying so.
pub fn write(
    out: &mut dyn Write,
    plan: &Plan,
    report: &Report,
    timeline: &Timeline,
    samples: &[Progress],
    until: Option<u64>,
) -> io::Result<()> {
    let end = until.map_or(report.makespan_ns, |t| t.min(report.makespan_ns));
    let critical = crate::report::critical_attempts(plan, report, timeline);
    let group_names: Vec<String> = plan.groups.iter().map(|g| json_str(&g.name)).collect();
    writeln!(out, "{{\"displayTimeUnit\":\"ns\",\"traceEvents\":[")?;
    let title = json_str(&format!(
        "{}: {} under {}",
        if report.is_simulated() {
            "schedlab SIMULATED (virtual time)"
        } else {
            "schedlab"
        },
        report.workload,
        report.policy
    ));
    write!(
        out,
        "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{{\"name\":{title}}}}}"
    )?;
    for (w, events) in timeline.workers.iter().enumerate() {
        let speed = report.workers.get(w).map_or(1.0, |r| r.speed);
        let label = if speed < 1.0 && !report.is_simulated() {
            format!("core {w} (speed {speed}, emulated)")
        } else {
            format!("core {w}")
        };
        write!(
            out,
            ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{w},\"args\":{{\"name\":{}}}}}",
            json_str(&label)
        )?;
        write!(
            out,
            ",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":{w},\"args\":{{\"sort_index\":{w}}}}}"
        )?;
        // A cut trace keeps each core's events before the cut, the last one ending at it.
        let (kept, last_end) = match until {
            Some(_) => (events.partition_point(|e| e.t < end), end),
            None => (events.len(), report.makespan_ns),
        };
        let critical: Vec<u64> = critical
            .iter()
            .filter(|a| a.worker == w)
            .map(|a| a.start_ns)
            .collect();
        let track = Track {
            worker: w,
            events: &events[..kept],
            critical: &critical,
        };
        write_track(out, &track, plan, &group_names, last_end)?;
    }
    write_critical_track(out, plan, report, &critical, end)?;
    if until.is_some() {
        write!(
            out,
            ",\n{{\"name\":{},\"ph\":\"I\",\"s\":\"g\",\"pid\":1,\"tid\":0,\"ts\":{}}}",
            json_str(&format!(
                "trace cut here by --trace-max: the run went on to {}",
                crate::report::fmt_ns(report.makespan_ns)
            )),
            us(end)
        )?;
    }
    for p in samples
        .iter()
        .filter(|p| (p.elapsed.as_nanos() as u64) < end)
    {
        let ts = us(p.elapsed.as_nanos() as u64);
        let per_worker: Vec<String> = p
            .queued
            .iter()
            .enumerate()
            .map(|(w, q)| format!("\"core {w}\":{q}"))
            .collect();
        write!(
            out,
            ",\n{{\"name\":\"ready tasks\",\"ph\":\"C\",\"pid\":1,\"ts\":{ts},\"args\":{{\"total\":{}}}}}",
            p.queued.iter().sum::<usize>() + p.queued_shared
        )?;
        write!(
            out,
            ",\n{{\"name\":\"queued per worker\",\"ph\":\"C\",\"pid\":1,\"ts\":{ts},\"args\":{{\"shared\":{}{}{}}}}}",
            p.queued_shared,
            if per_worker.is_empty() { "" } else { "," },
            per_worker.join(",")
        )?;
    }
    writeln!(out, "\n]}}")
}

/// A track after the cores' (`critical path`) holding a copy of each attempt on the critical
/// path and a mark at its bound, so the chain reads left to right on one line.
fn write_critical_track(
    out: &mut dyn Write,
    plan: &Plan,
    report: &Report,
    critical: &[crate::report::Attempt],
    end: u64,
) -> io::Result<()> {
    if report.critical_path_ns == 0 {
        return Ok(());
    }
    let tid = report.workers.len();
    let span = crate::report::fmt_ns(report.critical_path_ns);
    write!(
        out,
        ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
        json_str(&format!("critical path ({span})"))
    )?;
    write!(
        out,
        ",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}}}"
    )?;
    let mut attempts: Vec<&crate::report::Attempt> =
        critical.iter().filter(|a| a.start_ns < end).collect();
    attempts.sort_by_key(|a| a.start_ns);
    let mut last_end = 0;
    for a in attempts {
        // Copies on one track must not overlap; a chain's attempts follow one another.
        let start = a.start_ns.max(last_end);
        let stop = a.end_ns.min(end).max(start);
        last_end = stop;
        write!(
            out,
            ",\n{{\"name\":{},\"cat\":\"critical\",\"ph\":\"X\",\"pid\":1,\"tid\":{tid},\"ts\":{},\"dur\":{}}}",
            json_str(&format!("{} on core {}", plan.task_name(a.task), a.worker)),
            us(start),
            dur(start, stop)
        )?;
    }
    if report.critical_path_ns <= end {
        write!(
            out,
            ",\n{{\"name\":{},\"cat\":\"critical\",\"ph\":\"I\",\"s\":\"t\",\"pid\":1,\"tid\":{tid},\"ts\":{}}}",
            json_str(&format!(
                "critical path bound: {span}, no schedule finishes sooner"
            )),
            us(report.critical_path_ns)
        )?;
    }
    Ok(())
}

/// One worker's events and which of its attempts lie on the critical path (by start time).
struct Track<'a> {
    worker: usize,
    events: &'a [Event],
    critical: &'a [u64],
}

fn write_track(
    out: &mut dyn Write,
    track: &Track,
    plan: &Plan,
    group_names: &[String],
    makespan: u64,
) -> io::Result<()> {
    let (w, events) = (track.worker, track.events);
    let end_of = |i: usize| events.get(i + 1).map_or(makespan.max(events[i].t), |e| e.t);
    let mut i = 0;
    while i < events.len() {
        let e = events[i];
        match e.kind {
            Kind::Run => {
                // The attempt lasts through its emulated slowdown, up to the next scheduler event.
                let mut j = i;
                while events.get(j + 1).is_some_and(|n| n.kind.is_inside_task()) {
                    j += 1;
                }
                let end = end_of(j);
                let outcome = match events.get(j + 1).map(|n| Outcome::from_aux(n.aux)) {
                    Some(Outcome::Completed) => "completed",
                    Some(Outcome::Retry) => "panicked, retried",
                    Some(Outcome::Failed) => "panicked, failed",
                    _ => "unfinished",
                };
                let g = plan.locate(e.task).0;
                let name = json_str(&plan.task_name(e.task));
                write!(
                    out,
                    ",\n{{\"name\":{name},\"cat\":\"task\",\"ph\":\"X\",\"pid\":1,\"tid\":{w},\"ts\":{},\"dur\":{},\"args\":{{\"group\":{},\"task\":{},\"attempt\":{},\"outcome\":\"{outcome}\"{}}}}}",
                    us(e.t),
                    dur(e.t, end),
                    group_names[g],
                    e.task,
                    e.attempt,
                    if track.critical.contains(&e.t) {
                        ",\"critical_path\":true"
                    } else {
                        ""
                    },
                )?;
                if e.aux > 0 {
                    write!(
                        out,
                        ",\n{{\"name\":\"steal\",\"cat\":\"steal\",\"ph\":\"I\",\"s\":\"t\",\"pid\":1,\"tid\":{w},\"ts\":{},\"args\":{{\"victim\":{}}}}}",
                        us(e.t),
                        e.aux - 1
                    )?;
                }
                for (k, s) in events.iter().enumerate().take(j + 1).skip(i + 1) {
                    let (name, cat) = if s.kind == Kind::Block {
                        ("blocked (sleep, I/O)", "blocked")
                    } else {
                        ("emulated slowdown", "slowdown")
                    };
                    write!(
                        out,
                        ",\n{{\"name\":\"{name}\",\"cat\":\"{cat}\",\"ph\":\"X\",\"pid\":1,\"tid\":{w},\"ts\":{},\"dur\":{}}}",
                        us(s.t),
                        dur(s.t, end_of(k))
                    )?;
                }
                i = j + 1;
            }
            Kind::Exit => i += 1,
            kind => {
                let (name, cat) = match kind {
                    Kind::Take => ("take", "scheduler"),
                    Kind::Push => ("push", "scheduler"),
                    Kind::Steal => ("steal attempts", "scheduler"),
                    Kind::Idle => ("idle", "idle"),
                    _ => ("parked", "idle"),
                };
                let end = end_of(i);
                write!(
                    out,
                    ",\n{{\"name\":\"{name}\",\"cat\":\"{cat}\",\"ph\":\"X\",\"pid\":1,\"tid\":{w},\"ts\":{},\"dur\":{}}}",
                    us(e.t),
                    dur(e.t, end)
                )?;
                i += 1;
            }
        }
    }
    Ok(())
}
