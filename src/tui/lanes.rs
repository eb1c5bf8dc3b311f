//! The timeline the TUI draws: every worker's time, binned.
//!
//! Recorded events arrive in chunks; each worker's events become spans (a task body of some
//! group, blocked, scheduler overhead, idle) which are added to fixed-width time bins. When a
//! run outgrows [`MAX_BINS`] bins, the bin width doubles and neighbouring bins merge, so memory
//! grows with the time slices drawn, never with the number of tasks run. Drawing asks for
//! [`Cell`]s: what filled each slice of the screen's time axis.

use crate::record::{Event, Kind, Outcome};

/// Bins per worker before they are merged pairwise.
pub const MAX_BINS: usize = 4096;
/// The finest bin: 1 µs.
const FIRST_BIN_NS: u64 = 1_000;

/// What filled one bin of one worker's time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bin {
    /// Inside task bodies that computed (emulated slowdown included).
    pub busy: u32,
    /// Inside task bodies that blocked (sleep, I/O).
    pub blocked: u32,
    /// Inside attempts that panicked.
    pub failed: u32,
    /// Inside the scheduler.
    pub overhead: u32,
    /// Backing off or parked.
    pub idle: u32,
    /// The group that contributed the most busy time in one span, and how much.
    pub group: u16,
    group_ns: u32,
    /// Tasks stolen by this worker whose body starts in this bin.
    pub steals: u16,
    /// Attempts whose body starts in this bin.
    pub starts: u32,
}

impl Bin {
    fn merge(&mut self, other: &Bin) {
        self.busy = self.busy.saturating_add(other.busy);
        self.blocked = self.blocked.saturating_add(other.blocked);
        self.failed = self.failed.saturating_add(other.failed);
        self.overhead = self.overhead.saturating_add(other.overhead);
        self.idle = self.idle.saturating_add(other.idle);
        self.steals = self.steals.saturating_add(other.steals);
        self.starts = self.starts.saturating_add(other.starts);
        if other.group_ns > self.group_ns {
            self.group = other.group;
            self.group_ns = other.group_ns;
        }
    }
}

/// What a span of time was spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Computing in a task body of this group.
    Busy(u16),
    /// Blocked in a task body of this group.
    Blocked(u16),
    /// In an attempt that panicked.
    Failed(u16),
    /// In the scheduler.
    Overhead,
    /// Idle.
    Idle,
}

/// One worker's binned time and running totals.
#[derive(Clone, Debug, Default)]
pub struct Lane {
    bins: Vec<Bin>,
    /// The last event seen, whose span is still open.
    open: Option<Event>,
    /// Group of the task whose body is open.
    open_group: u16,
    /// The task whose body is open.
    open_task: u32,
    /// Body segments of the current attempt, kept until its outcome is known.
    pending: Vec<(u64, u64, Activity)>,
    /// Totals, ns.
    pub busy_ns: u64,
    /// Of which blocked.
    pub blocked_ns: u64,
    /// Scheduler time.
    pub overhead_ns: u64,
    /// Idle time spent backing off (spinning or yielding), not parked.
    pub spin_ns: u64,
    /// Idle time in all.
    pub idle_ns: u64,
    /// Attempts started.
    pub tasks: u64,
    /// Steals.
    pub steals: u64,
    /// Attempts that panicked.
    pub failures: u64,
}

pub use crate::report::Attempt;

/// Every worker's lane, on one shared time axis.
#[derive(Clone, Debug)]
pub struct Lanes {
    /// Each group's longest attempt so far (its weight on the critical path).
    pub longest: Vec<Option<Attempt>>,
    /// Each graph task's last attempt, by task id less `graph_first` (a task graph's critical
    /// path runs through particular tasks).
    pub graph_attempts: Vec<Option<Attempt>>,
    /// The first graph task's id, if the run has a task graph.
    pub graph_first: Option<u32>,
    /// Width of one bin.
    pub bin_ns: u64,
    /// One per worker.
    pub lanes: Vec<Lane>,
    /// The latest time seen in any event.
    pub end_ns: u64,
}

/// What one screen cell of one worker's row shows, as fractions of the cell's time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cell {
    /// Computing.
    pub busy: f32,
    /// Blocked.
    pub blocked: f32,
    /// Failed attempts.
    pub failed: f32,
    /// Scheduler.
    pub overhead: f32,
    /// Idle.
    pub idle: f32,
    /// Dominant group of the busy time.
    pub group: u16,
    /// Steals starting in this cell.
    pub steals: u16,
    /// Whether the cell covers any recorded time at all.
    pub known: bool,
}

impl Lanes {
    /// Empty lanes for `workers` workers.
    pub fn new(workers: usize) -> Self {
        Lanes {
            longest: Vec::new(),
            graph_attempts: Vec::new(),
            graph_first: None,
            bin_ns: FIRST_BIN_NS,
            lanes: vec![Lane::default(); workers],
            end_ns: 0,
        }
    }

    /// Adds a chunk of `worker`'s events; `group_of` maps a task id to its group.
    pub fn add(&mut self, worker: usize, events: &[Event], group_of: &dyn Fn(u32) -> u16) {
        for &e in events {
            self.end_ns = self.end_ns.max(e.t);
            self.grow_to(e.t);
            let lane = &mut self.lanes[worker];
            if lane.open.is_none() && e.t > 0 {
                // Before its first event the worker was starting up: idle, not unknown.
                lane.record_totals(Kind::Idle, Activity::Idle, e.t);
                lane.spin_ns -= e.t;
                add_span(&mut lane.bins, self.bin_ns, 0, e.t, Activity::Idle);
            }
            if let Some(prev) = lane.open {
                let span = match prev.kind {
                    Kind::Run | Kind::Slow => Some(Activity::Busy(lane.open_group)),
                    Kind::Block => Some(Activity::Blocked(lane.open_group)),
                    Kind::Take | Kind::Push | Kind::Steal => Some(Activity::Overhead),
                    Kind::Idle | Kind::Park => Some(Activity::Idle),
                    Kind::Exit => None,
                };
                if let Some(activity) = span {
                    lane.record_totals(prev.kind, activity, e.t.saturating_sub(prev.t));
                    if matches!(activity, Activity::Busy(_) | Activity::Blocked(_)) {
                        lane.pending.push((prev.t, e.t, activity));
                    } else {
                        add_span(&mut lane.bins, self.bin_ns, prev.t, e.t, activity);
                    }
                }
            }
            if !e.kind.is_inside_task() && !lane.pending.is_empty() {
                // The attempt's outcome arrives with the first event after its body.
                let failed = matches!(Outcome::from_aux(e.aux), Outcome::Retry | Outcome::Failed);
                if failed {
                    lane.failures += 1;
                }
                if let (Some(first), Some(last)) = (lane.pending.first(), lane.pending.last()) {
                    let g = usize::from(lane.open_group);
                    let attempt = Attempt {
                        task: lane.open_task,
                        worker,
                        start_ns: first.0,
                        end_ns: last.1,
                    };
                    if self.longest.len() <= g {
                        self.longest.resize(g + 1, None);
                    }
                    let longer = self.longest[g]
                        .is_none_or(|l| attempt.end_ns - attempt.start_ns > l.end_ns - l.start_ns);
                    if longer {
                        self.longest[g] = Some(attempt);
                    }
                    if let Some(l) = self
                        .graph_first
                        .and_then(|first| attempt.task.checked_sub(first))
                    {
                        let l = l as usize;
                        if self.graph_attempts.len() <= l {
                            self.graph_attempts.resize(l + 1, None);
                        }
                        self.graph_attempts[l] = Some(attempt);
                    }
                }
                for (from, to, activity) in std::mem::take(&mut lane.pending) {
                    let activity = match activity {
                        Activity::Busy(g) | Activity::Blocked(g) if failed => Activity::Failed(g),
                        other => other,
                    };
                    add_span(&mut lane.bins, self.bin_ns, from, to, activity);
                }
            }
            if e.kind == Kind::Run {
                lane.open_group = group_of(e.task);
                lane.open_task = e.task;
                lane.tasks += 1;
                let b = (e.t / self.bin_ns) as usize;
                ensure_len(&mut lane.bins, b + 1);
                lane.bins[b].starts = lane.bins[b].starts.saturating_add(1);
                if e.aux > 0 {
                    lane.steals += 1;
                    lane.bins[b].steals = lane.bins[b].steals.saturating_add(1);
                }
            }
            lane.open = Some(e);
        }
    }

    /// Doubles the bin width until `t` fits in [`MAX_BINS`] bins.
    fn grow_to(&mut self, t: u64) {
        while t / self.bin_ns >= MAX_BINS as u64 {
            self.bin_ns *= 2;
            for lane in &mut self.lanes {
                let merged: Vec<Bin> = lane
                    .bins
                    .chunks(2)
                    .map(|pair| {
                        let mut bin = pair[0];
                        if let Some(second) = pair.get(1) {
                            bin.merge(second);
                        }
                        bin
                    })
                    .collect();
                lane.bins = merged;
            }
        }
    }

    /// What filled each of `width` cells of `ns_per_cell` starting at `from_ns`, for `worker`,
    /// counting only time before `until_ns` (for replays and runs still going on).
    pub fn cells(
        &self,
        worker: usize,
        from_ns: u64,
        ns_per_cell: u64,
        width: usize,
        until_ns: u64,
    ) -> Vec<Cell> {
        let lane = &self.lanes[worker];
        let ns_per_cell = ns_per_cell.max(1);
        (0..width as u64)
            .map(|i| {
                let start = from_ns + i * ns_per_cell;
                let end = (start + ns_per_cell).min(until_ns);
                if end <= start {
                    return Cell::default();
                }
                let first = (start / self.bin_ns) as usize;
                let last = ((end - 1) / self.bin_ns) as usize;
                let mut sum = Bin::default();
                // Whole bins add up as integers; only the two edge bins are cut to the share
                // of them the cell covers.
                let mut acc = [0u64; 5];
                let mut partial = [0.0f64; 5];
                for (b, bin) in lane.bins.iter().enumerate().take(last + 1).skip(first) {
                    let fields = [bin.busy, bin.blocked, bin.failed, bin.overhead, bin.idle];
                    let b_start = b as u64 * self.bin_ns;
                    let b_end = b_start + self.bin_ns;
                    if b_start >= start && b_end <= end {
                        for (a, v) in acc.iter_mut().zip(fields) {
                            *a += u64::from(v);
                        }
                    } else {
                        let overlap = end.min(b_end) - start.max(b_start);
                        let share = overlap as f64 / self.bin_ns as f64;
                        for (p, v) in partial.iter_mut().zip(fields) {
                            *p += f64::from(v) * share;
                        }
                    }
                    if bin.group_ns > sum.group_ns {
                        sum.group = bin.group;
                        sum.group_ns = bin.group_ns;
                    }
                    sum.steals = sum.steals.saturating_add(bin.steals);
                }
                let acc: [f64; 5] = std::array::from_fn(|i| acc[i] as f64 + partial[i]);
                let weight_total: f64 = acc.iter().sum();
                if weight_total <= 0.0 {
                    return Cell {
                        steals: sum.steals,
                        ..Cell::default()
                    };
                }
                let f = |x: f64| (x / weight_total) as f32;
                Cell {
                    busy: f(acc[0]),
                    blocked: f(acc[1]),
                    failed: f(acc[2]),
                    overhead: f(acc[3]),
                    idle: f(acc[4]),
                    group: sum.group,
                    steals: sum.steals,
                    known: true,
                }
            })
            .collect()
    }
}

/// A lane's totals over part of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LaneTotals {
    /// In task bodies, blocked and failed attempts included, ns.
    pub busy_ns: u64,
    /// In the scheduler, ns.
    pub overhead_ns: u64,
    /// Idle, ns.
    pub idle_ns: u64,
    /// Attempts started.
    pub tasks: u64,
    /// Of which stolen.
    pub steals: u64,
}

impl Lane {
    /// The totals of the time before `until_ns`, from the bins (`bin_ns` wide): what a replay
    /// has shown so far. The bin `until_ns` falls in counts in proportion to the part of it
    /// that is before.
    pub fn totals_until(&self, bin_ns: u64, until_ns: u64) -> LaneTotals {
        let mut totals = LaneTotals::default();
        for (i, bin) in self.bins.iter().enumerate() {
            let start = i as u64 * bin_ns;
            if start >= until_ns {
                break;
            }
            let part = ((until_ns - start) as f64 / bin_ns as f64).min(1.0);
            let share = |v: u64| (v as f64 * part) as u64;
            totals.busy_ns +=
                share(u64::from(bin.busy) + u64::from(bin.blocked) + u64::from(bin.failed));
            totals.overhead_ns += share(u64::from(bin.overhead));
            totals.idle_ns += share(u64::from(bin.idle));
            totals.tasks += share(u64::from(bin.starts));
            totals.steals += share(u64::from(bin.steals));
        }
        totals
    }

    fn record_totals(&mut self, kind: Kind, activity: Activity, ns: u64) {
        match activity {
            Activity::Busy(_) | Activity::Failed(_) => self.busy_ns += ns,
            Activity::Blocked(_) => {
                self.busy_ns += ns;
                self.blocked_ns += ns;
            }
            Activity::Overhead => self.overhead_ns += ns,
            Activity::Idle => {
                self.idle_ns += ns;
                if kind == Kind::Idle {
                    self.spin_ns += ns;
                }
            }
        }
    }
}

fn ensure_len(bins: &mut Vec<Bin>, len: usize) {
    if bins.len() < len {
        bins.resize(len, Bin::default());
    }
}

/// Spreads `[from, to)` spent on `activity` over the bins it covers.
fn add_span(bins: &mut Vec<Bin>, bin_ns: u64, from: u64, to: u64, activity: Activity) {
    if to <= from {
        return;
    }
    let last = ((to - 1) / bin_ns) as usize;
    ensure_len(bins, last + 1);
    let mut t = from;
    while t < to {
        let b = (t / bin_ns) as usize;
        let bin_end = (b as u64 + 1) * bin_ns;
        let piece = (to.min(bin_end) - t) as u32;
        let bin = &mut bins[b];
        match activity {
            Activity::Busy(g) | Activity::Blocked(g) | Activity::Failed(g) => {
                match activity {
                    Activity::Busy(_) => bin.busy = bin.busy.saturating_add(piece),
                    Activity::Blocked(_) => bin.blocked = bin.blocked.saturating_add(piece),
                    _ => bin.failed = bin.failed.saturating_add(piece),
                }
                if piece > bin.group_ns {
                    bin.group = g;
                    bin.group_ns = piece;
                }
            }
            Activity::Overhead => bin.overhead = bin.overhead.saturating_add(piece),
            Activity::Idle => bin.idle = bin.idle.saturating_add(piece),
        }
        t = to.min(bin_end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: u64, kind: Kind, task: u32, aux: u16) -> Event {
        Event {
            t,
            task,
            kind,
            attempt: 1,
            aux,
        }
    }

    #[test]
    fn spans_land_in_bins_and_totals() {
        let mut lanes = Lanes::new(1);
        let events = [
            ev(0, Kind::Take, 0, 0),
            ev(1_000, Kind::Run, 7, 0),
            ev(5_000, Kind::Take, 0, Outcome::Completed as u16),
            ev(6_000, Kind::Idle, 0, 0),
            ev(8_000, Kind::Exit, 0, 0),
        ];
        lanes.add(0, &events, &|task| if task == 7 { 3 } else { 0 });
        let lane = &lanes.lanes[0];
        assert_eq!(
            (lane.busy_ns, lane.overhead_ns, lane.idle_ns),
            (4_000, 2_000, 2_000)
        );
        assert_eq!(lane.spin_ns, 2_000);
        assert_eq!(lane.tasks, 1);
        let cells = lanes.cells(0, 0, 2_000, 4, u64::MAX);
        assert!((cells[0].overhead - 0.5).abs() < 1e-6 && (cells[0].busy - 0.5).abs() < 1e-6);
        assert_eq!(cells[1].busy, 1.0);
        assert_eq!(cells[1].group, 3);
        assert_eq!(cells[3].idle, 1.0);
    }

    #[test]
    fn totals_until_count_only_what_came_before() {
        let mut lanes = Lanes::new(1);
        let b = lanes.bin_ns;
        // Scheduler for one bin, a stolen task's body for two, a second task for one, idle.
        let events = [
            ev(0, Kind::Take, 0, 0),
            ev(b, Kind::Run, 1, 2),
            ev(3 * b, Kind::Push, 0, Outcome::Completed as u16),
            ev(3 * b, Kind::Run, 2, 0),
            ev(4 * b, Kind::Idle, 0, Outcome::Completed as u16),
            ev(6 * b, Kind::Exit, 0, 0),
        ];
        lanes.add(0, &events, &|_| 0);
        let lane = &lanes.lanes[0];
        let at = |t| lane.totals_until(lanes.bin_ns, t);
        assert_eq!(at(0), LaneTotals::default());
        assert_eq!(
            at(2 * b),
            LaneTotals {
                busy_ns: b,
                overhead_ns: b,
                idle_ns: 0,
                tasks: 1,
                steals: 1,
            }
        );
        assert_eq!(at(b + b / 2).busy_ns, b / 2, "half of a bin counts half");
        let whole = at(6 * b);
        assert_eq!(
            (whole.busy_ns, whole.idle_ns, whole.tasks),
            (lane.busy_ns, lane.idle_ns, lane.tasks),
            "at the end, the run's totals"
        );
    }

    #[test]
    fn failed_attempts_and_steals_are_marked() {
        let mut lanes = Lanes::new(1);
        let events = [
            ev(0, Kind::Run, 1, 2),
            ev(3_000, Kind::Push, 0, Outcome::Retry as u16),
            ev(4_000, Kind::Exit, 0, 0),
        ];
        lanes.add(0, &events, &|_| 0);
        let cells = lanes.cells(0, 0, 1_000, 4, u64::MAX);
        assert_eq!(cells[0].failed, 1.0);
        assert_eq!(cells[0].steals, 1);
        assert_eq!(lanes.lanes[0].failures, 1);
        assert_eq!(cells[3].overhead, 1.0);
    }

    #[test]
    fn memory_stays_bounded_as_the_run_grows() {
        let mut lanes = Lanes::new(2);
        let mut t = 0;
        for round in 0..100_000u64 {
            let events = [ev(t, Kind::Run, 0, 0), ev(t + 50_000, Kind::Take, 0, 1)];
            lanes.add((round % 2) as usize, &events, &|_| 0);
            t += 100_000;
        }
        assert!(lanes.lanes.iter().all(|l| l.bins.len() <= MAX_BINS));
        assert!(lanes.bin_ns > FIRST_BIN_NS);
        // Worker 0 computes 50 µs of every 200 µs and is in the scheduler for the rest.
        let cells = lanes.cells(0, 0, t / 10, 10, t - 200_000);
        assert!(
            cells
                .iter()
                .all(|c| c.known && (c.busy - 0.25).abs() < 0.05),
            "{cells:?}"
        );
    }
}
