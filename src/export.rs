//! Per-task CSV export (`--csv PATH`): one row per attempt, for notebooks and spreadsheets.
//!
//! Columns: `task` (`group#index`), `task_id`, `group`, `worker`, `ready_ns`, `start_ns`,
//! `end_ns`, `attempt`, `outcome`. Times are nanoseconds since the start of the run. The end
//! includes emulated slowdown; the ready time is the start minus the wait the worker recorded
//! with the attempt.

use std::io::{self, Write};

use crate::plan::Plan;
use crate::record::{Outcome, Timeline};

/// The CSV header line.
pub const CSV_HEADER: &str = "task,task_id,group,worker,ready_ns,start_ns,end_ns,attempt,outcome";

/// A CSV field, quoted when it needs to be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes one row per recorded attempt, worker by worker in time order.
pub fn write_csv(out: &mut dyn Write, plan: &Plan, timeline: &Timeline) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    let groups: Vec<String> = plan.groups.iter().map(|g| field(&g.name)).collect();
    for attempt in timeline.attempts() {
        let (e, worker) = (attempt.run, attempt.worker);
        let (Some(end), Some(wait), Some(outcome)) =
            (attempt.end_ns(), attempt.wait_ns(), attempt.outcome())
        else {
            continue;
        };
        let outcome = match outcome {
            Outcome::Completed => "completed",
            Outcome::Retry => "retried",
            Outcome::Failed => "failed",
            Outcome::None => "unfinished",
        };
        let g = plan.locate(e.task).0;
        let ready = e.t.saturating_sub(wait);
        let task = field(&plan.task_name(e.task));
        writeln!(
            out,
            "{task},{},{},{worker},{ready},{},{end},{},{outcome}",
            e.task, groups[g], e.t, e.attempt
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("blur"), "blur");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
