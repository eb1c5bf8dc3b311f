//! Event recording: what every worker did and when, for the live view, traces and tests.
//!
//! Each worker appends fixed-size [`Event`]s to a buffer it owns: no lock, no allocation per
//! event. For a live view, a full buffer (or one older than [`FLUSH_AFTER_NS`], so the view
//! never waits long) is sent whole as a [`Chunk`] over a channel, and the worker starts a new
//! one: one channel send and one allocation per [`CHUNK_EVENTS`] events. Without a live view
//! the buffer is reserved for the whole run up front and asked to be backed by huge pages (see
//! [`reserve`]); it grows if it must (the kernel moves a large one, nothing is copied) and is
//! sent once at the end, so nobody copies events while the run goes on. An event marks the
//! *start* of a span; the span lasts until the worker's next event.
//!
//! With recording off, [`Recorder::event`] is one predictable branch.

use crossbeam::channel::{Receiver, Sender};
use serde::Serialize;

/// Events per chunk: 8192 × 16 bytes = 128 KiB.
pub const CHUNK_EVENTS: usize = 8192;
/// A chunk this old is sent even if not full, so a live view stays current.
pub const FLUSH_AFTER_NS: u64 = 20_000_000;
/// The most events a worker reserves room for before the run (1 GiB of address space).
const MAX_RESERVED: usize = 1 << 26;

/// What a worker starts doing at an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum Kind {
    /// Runs the body of task `task`, attempt `attempt`; `aux` is 1 + the victim when stolen.
    Run = 0,
    /// Emulates a slower core: keeps its core busy for the rest of the task's time.
    Slow = 1,
    /// Scheduler: looks for work in its own queues. Right after a task body, `aux` is the
    /// [`Outcome`] of that attempt and `task` its ready → start wait ([`decode_wait`]).
    Take = 2,
    /// Scheduler: pushes tasks made ready (children, dependents, retries) and wakes workers;
    /// `aux` as for `Take`.
    Push = 3,
    /// Scheduler: tries to steal from other workers.
    Steal = 4,
    /// Idle: backs off between attempts.
    Idle = 5,
    /// Idle: parked until woken.
    Park = 6,
    /// The worker has left the run.
    Exit = 7,
    /// The task body blocks (sleeps, waits for I/O) from here to its end.
    Block = 8,
}

impl Kind {
    /// Whether this event continues the task body started by the last `Run`.
    pub fn is_inside_task(self) -> bool {
        matches!(self, Kind::Slow | Kind::Block)
    }
}

/// How an attempt ended, stored in the `aux` of the event after its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u16)]
pub enum Outcome {
    /// No task just ended.
    None = 0,
    /// The task completed.
    Completed = 1,
    /// The attempt panicked and the task will be retried.
    Retry = 2,
    /// The attempt panicked and no retries are left: the task failed.
    Failed = 3,
}

impl Outcome {
    /// Decodes an `aux` value.
    pub fn from_aux(aux: u16) -> Outcome {
        match aux {
            1 => Outcome::Completed,
            2 => Outcome::Retry,
            3 => Outcome::Failed,
            _ => Outcome::None,
        }
    }
}

/// Packs a ready → start wait into 32 bits: nanoseconds below 2³¹ ns (2.1 s), else
/// microseconds with the top bit set (up to 35 minutes; longer saturates).
pub fn encode_wait(ns: u64) -> u32 {
    const NS_LIMIT: u64 = 1 << 31;
    if ns < NS_LIMIT {
        ns as u32
    } else {
        (1 << 31) | (ns / 1000).min(NS_LIMIT - 1) as u32
    }
}

/// The wait packed by [`encode_wait`], in nanoseconds.
pub fn decode_wait(packed: u32) -> u64 {
    if packed & (1 << 31) == 0 {
        u64::from(packed)
    } else {
        u64::from(packed & !(1 << 31)) * 1000
    }
}

/// One recorded event: 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Nanoseconds since the run started.
    pub t: u64,
    /// The task, for `Run`; for the event right after a body, the attempt's packed wait.
    pub task: u32,
    /// What starts here.
    pub kind: Kind,
    /// The attempt (1-based, saturating at 255), for `Run`.
    pub attempt: u8,
    /// Kind-specific: victim + 1 for a stolen `Run`, the [`Outcome`] for `Take`/`Push`.
    pub aux: u16,
}

/// A batch of one worker's events, in time order.
#[derive(Debug)]
pub struct Chunk {
    /// The worker that recorded them.
    pub worker: usize,
    /// The events.
    pub events: Vec<Event>,
}

/// A worker's recording end.
pub(crate) struct Recorder {
    worker: usize,
    buf: Vec<Event>,
    tx: Option<Sender<Chunk>>,
    first_t: u64,
    /// Someone watches as the run goes on: send chunks as they fill (else once, at the end).
    live: bool,
}

impl Recorder {
    /// A recorder sending to `tx`, or one that records nothing when `tx` is `None`; `live`
    /// sends chunks as they fill, for a view of the run as it goes. `expected` is how many
    /// events this worker could record at most, as far as the run's size tells.
    pub(crate) fn new(
        worker: usize,
        tx: Option<Sender<Chunk>>,
        live: bool,
        expected: usize,
    ) -> Self {
        let buf = match (&tx, live) {
            (None, _) => Vec::new(),
            (Some(_), true) => Vec::with_capacity(CHUNK_EVENTS),
            (Some(_), false) => reserve(expected.min(MAX_RESERVED)),
        };
        Recorder {
            worker,
            buf,
            tx,
            first_t: 0,
            live,
        }
    }

    /// Records one event.
    #[inline]
    pub(crate) fn event(&mut self, t: u64, kind: Kind, task: u32, attempt: u32, aux: u16) {
        if self.tx.is_none() {
            return;
        }
        if self.buf.is_empty() {
            self.first_t = t;
        }
        let attempt = attempt.min(255) as u8;
        self.buf.push(Event {
            t,
            task,
            kind,
            attempt,
            aux,
        });
        if self.live
            && (self.buf.len() == CHUNK_EVENTS || t.saturating_sub(self.first_t) > FLUSH_AFTER_NS)
        {
            self.flush();
        }
    }

    /// Sends what is buffered.
    pub(crate) fn flush(&mut self) {
        if let Some(tx) = self.tx.as_ref().filter(|_| !self.buf.is_empty()) {
            let capacity = if self.live { CHUNK_EVENTS } else { 0 };
            let mut events = std::mem::replace(&mut self.buf, Vec::with_capacity(capacity));
            if !self.live {
                // The whole run's events: give back what doubling left unused (the kernel
                // unmaps the tail of a large buffer; nothing is copied).
                events.shrink_to_fit();
            }
            // A collector that hung up only means nobody wants the events any more.
            let _ = tx.send(Chunk {
                worker: self.worker,
                events,
            });
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

/// An empty buffer with room for `events` events, backed by huge pages where the kernel has
/// them.
///
/// The room is address space only: the kernel gives a page of memory when it is first written.
/// With 4 KiB pages that is a page fault every 256 events, and a recorded run of tiny tasks
/// spends a quarter of its time in the kernel handing out and zeroing pages. A 2 MiB page is
/// one fault for 131 072 events. Asking for them needs the room to be there from the start (a
/// buffer that grows is moved, and the kernel splits the huge pages it moves), hence the
/// reservation. If the address space cannot be had, the buffer grows as it needs instead.
fn reserve(events: usize) -> Vec<Event> {
    let mut buf = Vec::new();
    if buf.try_reserve_exact(events).is_err() {
        return Vec::with_capacity(CHUNK_EVENTS);
    }
    advise_huge_pages(&mut buf);
    buf
}

/// Asks Linux to back `buf`'s allocation with transparent huge pages, if it is large enough to
/// hold one. (Not under miri, which runs no system calls of this kind.)
#[cfg(all(target_os = "linux", not(miri)))]
fn advise_huge_pages(buf: &mut Vec<Event>) {
    const HUGE: usize = 2 << 20;
    let start = buf.as_mut_ptr() as usize;
    let end = start + buf.capacity() * std::mem::size_of::<Event>();
    // Whole huge pages inside the allocation; madvise wants a page-aligned start.
    let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if last <= first {
        return;
    }
    // SAFETY: the range lies inside `buf`'s own allocation, which lives on after the call, and
    // MADV_HUGEPAGE only changes how the kernel backs the pages, never what they hold, so no
    // Rust value can be affected. A failure (a kernel without THP) changes nothing: ignored.
    #[allow(unsafe_code)]
    let _ = unsafe {
        libc::madvise(
            first as *mut libc::c_void,
            last - first,
            libc::MADV_HUGEPAGE,
        )
    };
}

#[cfg(any(not(target_os = "linux"), miri))]
fn advise_huge_pages(_: &mut Vec<Event>) {}

/// One attempt as the timeline shows it: its `Run` event, and the first event after its body,
/// which carries the attempt's outcome and its packed wait.
#[derive(Clone, Copy, Debug)]
pub struct RecordedAttempt<'a> {
    /// The worker that ran it.
    pub worker: usize,
    /// Its `Run` event: the start, the task, the attempt, the victim it was stolen from.
    pub run: &'a Event,
    /// The event that ended its body; `None` if the recording stops inside it.
    pub after: Option<&'a Event>,
}

impl RecordedAttempt<'_> {
    /// When its body ended, if the recording shows it.
    pub fn end_ns(&self) -> Option<u64> {
        self.after.map(|e| e.t)
    }

    /// How long it waited between becoming ready and starting, if the recording shows it.
    pub fn wait_ns(&self) -> Option<u64> {
        self.after.map(|e| decode_wait(e.task))
    }

    /// How it ended, if the recording shows it.
    pub fn outcome(&self) -> Option<Outcome> {
        self.after.map(|e| Outcome::from_aux(e.aux))
    }
}

/// Every worker's events, gathered from the chunks.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// Events of each worker, in time order.
    pub workers: Vec<Vec<Event>>,
}

impl Timeline {
    /// An empty timeline for `workers` workers.
    pub fn new(workers: usize) -> Self {
        Timeline {
            workers: vec![Vec::new(); workers],
        }
    }

    /// Adds one chunk.
    pub fn add(&mut self, chunk: Chunk) {
        let events = &mut self.workers[chunk.worker];
        if events.is_empty() {
            *events = chunk.events;
        } else {
            events.extend_from_slice(&chunk.events);
        }
    }

    /// Adds every chunk waiting in `rx` without blocking.
    pub fn drain(&mut self, rx: &Receiver<Chunk>) {
        while let Ok(chunk) = rx.try_recv() {
            self.add(chunk);
        }
    }

    /// Events recorded in all.
    pub fn len(&self) -> usize {
        self.workers.iter().map(Vec::len).sum()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per worker, the part of its idle time (backing off or parked) during which some ready
    /// task waited in a queue: exact from the events, since every attempt's `Run` and the
    /// wait after its body give the moment it became ready and the moment it started.
    pub fn idle_while_queued(&self) -> Vec<u64> {
        // When the number of ready, unstarted tasks rises (+1) and falls (-1).
        let mut changes: Vec<(u64, i64)> = Vec::new();
        for a in self.attempts() {
            if let Some(wait) = a.wait_ns().filter(|&w| w > 0) {
                let start = a.run.t;
                changes.push((start.saturating_sub(wait), 1));
                changes.push((start, -1));
            }
        }
        changes.sort_unstable();
        // The spans during which at least one was queued, in order and disjoint.
        let mut queued: Vec<(u64, u64)> = Vec::new();
        let mut depth = 0i64;
        for (t, change) in changes {
            if depth == 0 && change > 0 {
                queued.push((t, t));
            }
            depth += change;
            if depth == 0
                && let Some(last) = queued.last_mut()
            {
                last.1 = t;
            }
        }
        let overlap = |from: u64, to: u64| -> u64 {
            let first = queued.partition_point(|&(_, end)| end <= from);
            queued[first..]
                .iter()
                .take_while(|&&(start, _)| start < to)
                .map(|&(start, end)| end.min(to).saturating_sub(start.max(from)))
                .sum()
        };
        self.workers
            .iter()
            .map(|events| {
                events
                    .windows(2)
                    .filter(|pair| matches!(pair[0].kind, Kind::Idle | Kind::Park))
                    .map(|pair| overlap(pair[0].t, pair[1].t))
                    .sum()
            })
            .collect()
    }

    /// Every recorded attempt, worker by worker, each worker's in time order.
    pub fn attempts(&self) -> impl Iterator<Item = RecordedAttempt<'_>> {
        self.workers
            .iter()
            .enumerate()
            .flat_map(|(worker, events)| {
                events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.kind == Kind::Run)
                    .map(move |(i, run)| RecordedAttempt {
                        worker,
                        run,
                        // Usually the very next event; a body that blocked or ran slowed has
                        // those marks in between.
                        after: events[i + 1..].iter().find(|e| !e.kind.is_inside_task()),
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_keeps_every_event_past_its_reservation_and_hands_over_no_slack() {
        let (tx, rx) = crossbeam::channel::unbounded();
        let mut rec = Recorder::new(3, Some(tx), false, 100);
        assert!(rec.buf.capacity() >= 100, "reserved before the run");
        for t in 0..5_000 {
            rec.event(t, Kind::Run, t as u32, 1, 0);
        }
        drop(rec);
        let chunk = rx.try_recv().expect("sent once, at the end");
        assert_eq!(chunk.worker, 3);
        assert_eq!(chunk.events.len(), 5_000);
        assert_eq!(
            chunk.events.capacity(),
            5_000,
            "shrunk to what was recorded"
        );
        assert!(
            chunk
                .events
                .iter()
                .enumerate()
                .all(|(i, e)| e.t == i as u64)
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_reservation_the_machine_cannot_give_falls_back_to_growing() {
        let buf = reserve(usize::MAX / 4);
        assert_eq!(buf.capacity(), CHUNK_EVENTS);
    }

    #[test]
    fn attempts_pair_each_run_with_the_event_that_ends_its_body() {
        let ev = |t, kind, task, aux| Event {
            t,
            task,
            kind,
            attempt: 1,
            aux,
        };
        let timeline = Timeline {
            workers: vec![
                vec![
                    ev(0, Kind::Take, 0, 0),
                    ev(10, Kind::Run, 4, 0),
                    ev(15, Kind::Block, 4, 0),
                    ev(30, Kind::Take, encode_wait(7), Outcome::Completed as u16),
                    ev(40, Kind::Run, 5, 0),
                ],
                vec![
                    ev(5, Kind::Run, 6, 1),
                    ev(9, Kind::Push, encode_wait(2), Outcome::Retry as u16),
                ],
            ],
        };
        let seen: Vec<_> = timeline
            .attempts()
            .map(|a| (a.worker, a.run.task, a.end_ns(), a.wait_ns(), a.outcome()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (0, 4, Some(30), Some(7), Some(Outcome::Completed)),
                (0, 5, None, None, None),
                (1, 6, Some(9), Some(2), Some(Outcome::Retry)),
            ]
        );
    }

    #[test]
    fn waits_pack_into_32_bits() {
        for ns in [0, 1, 999, 2_147_483_647] {
            assert_eq!(decode_wait(encode_wait(ns)), ns, "exact below 2.1 s");
        }
        assert_eq!(
            decode_wait(encode_wait(5_000_000_123)),
            5_000_000_000,
            "µs above"
        );
        assert_eq!(
            decode_wait(encode_wait(u64::MAX)),
            ((1u64 << 31) - 1) * 1000,
            "saturates"
        );
    }
}
