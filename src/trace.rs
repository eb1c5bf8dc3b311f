//! Chrome Trace Event Format export (`--trace PATH`), which Perfetto and chrome://tracing open.
//!
//! One track per worker (`core N`), a complete (`X`) event per task attempt with its group,
//! task, attempt and outcome in `args`, the emulated slowdown nested inside it, scheduler and
//! idle spans as their own events, an instant mark on the thief's track at each steal, and
//! counter tracks of the ready-queue depth (total, and per worker) sampled every 10 ms.
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

/// Writes the trace of a recorded run; `samples` become queue-depth counter tracks.
pub fn write(
    out: &mut dyn Write,
    plan: &Plan,
    report: &Report,
    timeline: &Timeline,
    samples: &[Progress],
) -> io::Result<()> {
    let group_names: Vec<String> = plan.groups.iter().map(|g| json_str(&g.name)).collect();
    writeln!(out, "{{\"displayTimeUnit\":\"ns\",\"traceEvents\":[")?;
    let title = json_str(&format!(
        "schedlab: {} under {}",
        report.workload, report.policy
    ));
    write!(
        out,
        "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{{\"name\":{title}}}}}"
    )?;
    for (w, events) in timeline.workers.iter().enumerate() {
        let speed = report.workers.get(w).map_or(1.0, |r| r.speed);
        let label = if speed < 1.0 {
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
        write_track(out, w, events, plan, &group_names, report.makespan_ns)?;
    }
    for p in samples {
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

fn write_track(
    out: &mut dyn Write,
    w: usize,
    events: &[Event],
    plan: &Plan,
    group_names: &[String],
    makespan: u64,
) -> io::Result<()> {
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
                let (g, index) = plan.locate(e.task);
                let name = json_str(&format!("{}#{index}", plan.groups[g].name));
                write!(
                    out,
                    ",\n{{\"name\":{name},\"cat\":\"task\",\"ph\":\"X\",\"pid\":1,\"tid\":{w},\"ts\":{},\"dur\":{},\"args\":{{\"group\":{},\"task\":{},\"attempt\":{},\"outcome\":\"{outcome}\"}}}}",
                    us(e.t),
                    dur(e.t, end),
                    group_names[g],
                    e.task,
                    e.attempt,
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
