//! Recordings (`--record PATH`, `schedlab replay PATH`): a finished run saved whole — its
//! workload, seed, machine, policy, report, queue samples and every recorded event — so it can
//! be replayed in the TUI and exported (`--json`, `--trace`, `--csv`, `--svg`) later, on any
//! machine, as if it had just run.
//!
//! # File format, version 2
//! ```text
//! "schedlab-recording\n"          magic, 19 bytes
//! u32 LE                          format version (2)
//! u32 LE, then that many bytes    header: JSON ([`Header`])
//! u32 LE                          CRC-32 of everything above (magic to header)
//! per worker w:
//!   u64 LE                        length of the events that follow, in bytes
//!   header.events[w] events, each:
//!     varint  time since the worker's previous event, ns
//!     u8      kind
//!     varint  task (or the packed wait, see `record::encode_wait`)
//!     u8      attempt
//!     varint  aux
//!   u32 LE                        CRC-32 of the length and the events
//! the end of the file
//! ```
//! Varints are LEB128 (7 bits a byte, low first). A typical event takes 5–7 bytes instead of
//! its 16 in memory. The CRC-32 is the IEEE one of zlib and gzip ([`crc32fast`]). Version 1
//! (schedlab 0.1.0's) is the same without the checksums and the lengths: the header, then the
//! workers' events one after another.
//!
//! # Loading
//! A recording is evidence of a run, so a damaged one must not replay as if it were whole:
//! every version is read in full and checked before anything is shown, and a file that fails
//! is refused with what is wrong and where (the section, the event, the byte offset).
//!
//! - Version 2's checksums catch any damage to the bytes: one bit flipped anywhere is refused,
//!   and the message names the section (the header, or which core's events).
//! - The file ends where the last worker's events do: bytes after them are refused.
//! - For every version, what the file says must agree with itself, so that damage a version
//!   1 file has no checksum for, or a file written by something else, is still caught. The
//!   workload loads and checks again; speeds, event counts and the report's workers agree; the
//!   report's task counts add up to the workload's total and its attempts to its outcomes
//!   (but for those an interrupt cut short), and each worker's busy, idle and scheduler times
//!   to the makespan. Each worker's events follow the order the executor records them in
//!   (see `check_event`) and lie within the run; their attempts, outcomes, and busy, blocked
//!   and working times are the ones the report counts, exactly, since the executor adds up
//!   the same clock readings it records, and so are their waits. What a version 1 file can
//!   still hide is a changed time where nothing adds it up (in a worker's idle spell), and a
//!   name or figure that nothing else repeats (the description, a group's mean time).
//!
//! Times cannot run backwards: they are stored as unsigned deltas. Later versions of schedlab
//! keep reading versions 1 and 2; a file of a newer version is refused with both version
//! numbers named.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::exec::Progress;
use crate::plan::Plan;
use crate::record::{Event, Kind, Outcome, Timeline};
use crate::report::{Percentiles, Report, WorkerReport};
use crate::times::Times;
use crate::workload::{self, Loaded, MAX_SIM_WORKERS, ResolvedMachine};

/// The first bytes of every recording.
pub const MAGIC: &[u8] = b"schedlab-recording\n";
/// The format version this build writes.
pub const VERSION: u32 = 2;
/// The most CPU time one reading of the run-queue wait may take (it takes a few µs).
const READING_NS: u64 = 50_000;
/// Headers larger than this are refused as corrupt.
const MAX_HEADER: u32 = 1 << 30;
/// The fewest bytes an event takes (three one-byte varints and two bytes): a count of events
/// that the bytes left cannot hold is refused before anything is allocated for it.
const MIN_EVENT_BYTES: u64 = 5;
/// How long after the makespan a worker's last events may come. When the last task finishes,
/// the others may be parked: they must be woken and scheduled to take their last look and
/// leave. The most seen was 7 ms (16 workers on 2 busy cores, every policy and shipped
/// workload); this leaves room for any machine that still responds, and still refuses times
/// a damaged file makes up.
const LATE_NS: u64 = 10_000_000_000;
/// How far a `Run` may seem to start after the makespan: the run ends after every attempt has,
/// but the two times are read on different cores, whose clocks may differ a little.
const SKEW_NS: u64 = 1_000_000;

/// A queue-depth sample, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Since the start of the run, ns.
    pub t: u64,
    /// Tasks finished so far.
    pub finished: usize,
    /// Tasks waiting in each worker's own queues.
    pub queued: Vec<usize>,
    /// Tasks waiting in shared queues.
    pub shared: usize,
}

/// Everything about a recording except its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The schedlab version that recorded it.
    pub schedlab: String,
    /// Where the workload came from (a path, or `built-in:NAME`).
    pub source: String,
    /// The workload, as RON.
    pub workload: String,
    /// The seed the run used.
    pub seed: u64,
    /// Each worker's relative speed.
    pub speeds: Vec<f64>,
    /// The run's report.
    pub report: Report,
    /// Queue-depth samples, about every 10 ms.
    pub samples: Vec<Sample>,
    /// Events recorded by each worker.
    pub events: Vec<u64>,
}

/// A recording in memory.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Its header.
    pub header: Header,
    /// The workload, parsed and checked again.
    pub loaded: Loaded,
    /// The machine it ran on.
    pub machine: ResolvedMachine,
    /// The compiled workload (the same task ids as the recorded run).
    pub plan: Plan,
    /// Every worker's events.
    pub timeline: Timeline,
}

impl Recording {
    /// A recording of a finished run.
    pub fn new(
        loaded: &Loaded,
        seed: u64,
        machine: &ResolvedMachine,
        report: &Report,
        timeline: &Timeline,
        samples: &[Progress],
    ) -> Result<Recording> {
        let text = ron::ser::to_string_pretty(&loaded.workload, ron::ser::PrettyConfig::new())
            .context("cannot write the workload as RON")?;
        let header = Header {
            schedlab: env!("CARGO_PKG_VERSION").to_string(),
            source: loaded.source_name.clone(),
            workload: text,
            seed,
            speeds: machine.speeds.clone(),
            report: report.clone(),
            samples: samples
                .iter()
                .map(|p| Sample {
                    t: p.elapsed.as_nanos() as u64,
                    finished: p.finished,
                    queued: p.queued.clone(),
                    shared: p.queued_shared,
                })
                .collect(),
            events: timeline.workers.iter().map(|w| w.len() as u64).collect(),
        };
        Ok(Recording {
            header,
            loaded: loaded.clone(),
            machine: machine.clone(),
            plan: Plan::new(&loaded.workload, seed),
            timeline: timeline.clone(),
        })
    }

    /// The report of the recorded run.
    pub fn report(&self) -> &Report {
        &self.header.report
    }

    /// The queue samples, as the executor reported them.
    pub fn samples(&self) -> Vec<Progress> {
        self.header
            .samples
            .iter()
            .map(|s| Progress {
                finished: s.finished,
                total: self.plan.total,
                elapsed: Duration::from_nanos(s.t),
                queued: s.queued.clone(),
                queued_shared: s.shared,
            })
            .collect()
    }

    /// Writes the recording, in the current format version ([`VERSION`]).
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let header = serde_json::to_vec(&self.header)?;
        let len = u32::try_from(header.len())
            .ok()
            .filter(|&len| len <= MAX_HEADER)
            .ok_or_else(|| corrupt("the header is too large to record"))?;
        let mut head = Vec::with_capacity(MAGIC.len() + 8 + header.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&len.to_le_bytes());
        head.extend_from_slice(&header);
        out.write_all(&head)?;
        out.write_all(&crc32fast::hash(&head).to_le_bytes())?;
        // Each worker's events are encoded whole before they are written: their length comes
        // first, so that a reader can check it against the file before reading them.
        let mut block = Vec::new();
        for events in &self.timeline.workers {
            block.clear();
            block.extend_from_slice(&[0; 8]);
            encode_events(events, &mut block);
            let len = (block.len() - 8) as u64;
            block[..8].copy_from_slice(&len.to_le_bytes());
            out.write_all(&block)?;
            out.write_all(&crc32fast::hash(&block).to_le_bytes())?;
        }
        Ok(())
    }

    /// Writes the recording to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        // Whole or not at all: a failed save leaves any earlier recording at `path` as it was.
        crate::output::write(path, |out| self.write(out))
            .with_context(|| format!("cannot write the recording to {}", path.display()))
    }

    /// Reads a recording of any version this build knows, and checks it (see the module's
    /// documentation): a damaged one is refused with where it breaks.
    pub fn read(input: &mut dyn BufRead, name: &str) -> Result<Recording> {
        let mut bytes = vec![0; MAGIC.len()];
        if input.read_exact(&mut bytes).is_err() || bytes != MAGIC {
            bail!("{name} is not a schedlab recording (make one with `schedlab --record PATH`)");
        }
        // The timeline takes more memory than its encoding, so holding the file whole costs
        // little more, and it lets every length be checked against what is really there.
        input
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {name}"))?;
        decode(&bytes, name)
    }

    /// Reads the recording at `path`.
    pub fn load(path: &Path) -> Result<Recording> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut input = io::BufReader::new(file);
        Recording::read(&mut input, &path.display().to_string())
    }

    /// Each task's body time at speed 1.0 as this run measured it, in ns, by task id (`NaN`
    /// for a task that never ran): from a `Run` event to the body's end (the start of a
    /// slower core's emulation, or the next scheduler event). A task run more than once keeps
    /// its shortest attempt: noise only ever slows a run. For `--sim --costs-from`.
    pub fn task_times(&self) -> Vec<f32> {
        let mut times = vec![f32::NAN; self.plan.total];
        for events in &self.timeline.workers {
            let mut running: Option<(u32, u64)> = None;
            for e in events {
                if e.kind == Kind::Block {
                    continue;
                }
                if let Some((task, t0)) = running.take()
                    && let Some(slot) = times.get_mut(task as usize)
                {
                    let ns = e.t.saturating_sub(t0) as f32;
                    if slot.is_nan() || ns < *slot {
                        *slot = ns;
                    }
                }
                if e.kind == Kind::Run {
                    running = Some((e.task, e.t));
                }
            }
        }
        times
    }

    /// Ready → start waits per group, rebuilt from the events (each attempt's wait is packed
    /// into the event right after its body).
    pub fn group_waits(&self) -> Vec<crate::times::Times> {
        let mut waits = vec![crate::times::Times::new(); self.plan.groups.len()];
        for attempt in self.timeline.attempts() {
            // An attempt an interrupt cut short is not counted, as in the live run.
            if let Some(wait) = attempt
                .wait_ns()
                .filter(|_| attempt.outcome() != Some(Outcome::None))
            {
                let (g, _) = self.plan.locate(attempt.run.task);
                waits[g].record(wait);
            }
        }
        waits
    }

    /// Each group's response times (release → end of the task's last attempt), from the
    /// events: a task's release is its first attempt's start less that attempt's wait.
    pub fn group_responses(&self) -> Vec<crate::times::Times> {
        let mut released: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
        let mut ends: Vec<(u32, u64)> = Vec::new();
        for attempt in self.timeline.attempts() {
            let (Some(wait), Some(end), Some(outcome)) =
                (attempt.wait_ns(), attempt.end_ns(), attempt.outcome())
            else {
                continue;
            };
            if attempt.run.attempt == 1 {
                released.insert(attempt.run.task, attempt.run.t.saturating_sub(wait));
            }
            if matches!(outcome, Outcome::Completed | Outcome::Failed) {
                ends.push((attempt.run.task, end));
            }
        }
        let mut responses = vec![crate::times::Times::new(); self.plan.groups.len()];
        for (task, end) in ends {
            if let Some(&from) = released.get(&task) {
                let (g, _) = self.plan.locate(task);
                responses[g].record(end.saturating_sub(from));
            }
        }
        responses
    }
}

/// Appends `events`, encoded as the format says, to `buf`.
fn encode_events(events: &[Event], buf: &mut Vec<u8>) {
    let mut last = 0;
    for e in events {
        // Times are stored as deltas, so they cannot run backwards; a time that did (none does)
        // is stored as its predecessor's instead of shifting every later one.
        let t = e.t.max(last);
        put_varint(buf, t - last);
        last = t;
        buf.push(e.kind as u8);
        put_varint(buf, u64::from(e.task));
        buf.push(e.attempt);
        put_varint(buf, u64::from(e.aux));
    }
}

/// Decodes and checks a whole recording, `bytes` from its magic on.
fn decode(bytes: &[u8], name: &str) -> Result<Recording> {
    let mut input = Bytes {
        name,
        all: bytes,
        at: MAGIC.len(),
    };
    let version = input.u32("the format version")?;
    if version > VERSION {
        bail!(
            "{name} is a recording of format version {version}, newer than this schedlab ({}) \
             reads (up to version {VERSION}): open it with a newer schedlab",
            env!("CARGO_PKG_VERSION")
        );
    }
    if version == 0 {
        bail!("{name}: format version 0 does not exist; the file is corrupt");
    }
    let len = input.u32("the header's length")?;
    if len > MAX_HEADER {
        bail!("{name}: header of {len} bytes; the file is corrupt");
    }
    let text = input.take(u64::from(len), "the header")?;
    if version >= 2 {
        input.checksum(0, "the header")?;
    }
    let header: Header = serde_json::from_slice(text)
        .with_context(|| format!("{name}: the recording's header is corrupt"))?;
    let loaded = workload::parse(&header.workload, &header.source)
        .map_err(|e| anyhow!("{name}: the recorded workload no longer loads: {e}"))?;
    let plan = Plan::new(&loaded.workload, header.seed);
    let rules = Rules::new(&header, &plan);
    check_header(&header, &loaded, &plan, &rules)
        .map_err(|what| anyhow!("{name}: {what}; the file is corrupt"))?;
    let report = &header.report;
    let mut timeline = Timeline::new(header.speeds.len());
    let mut ends = Ends::default();
    let mut work = 0u64;
    let mut long = 0u64;
    let mut group_attempts = vec![0u64; plan.groups.len()];
    for (w, &count) in header.events.iter().enumerate() {
        let section = format!("core {w}'s events");
        let (block, start) = if version >= 2 {
            let from = input.at;
            let len = input.u64(&format!("the length of {section}"))?;
            let start = input.at;
            let block = input.take(len, &section)?;
            input.checksum(from, &section)?;
            (block, start)
        } else {
            // Version 1 does not say where a worker's events end: they end where its count
            // of them does.
            (&bytes[input.at..], input.at)
        };
        let lane = Lane {
            count,
            start,
            slowed: header.speeds[w] < 1.0,
        };
        let (events, used, spent) =
            decode_events(block, &lane, &rules, &mut ends).map_err(|what| {
                anyhow!("{name}: truncated or corrupt recording (in {section}): {what}")
            })?;
        if version >= 2 && used < block.len() {
            bail!(
                "{name}: {section} end at byte {}, {} bytes before their section does; the file \
                 is corrupt",
                start + used,
                block.len() - used
            );
        }
        if version == 1 {
            input.at += used;
        }
        check_spent(&events, &spent, &report.workers[w], report.makespan_ns)
            .map_err(|what| anyhow!("{name}: core {w}'s events {what}; the file is corrupt"))?;
        work = work.saturating_add(spent.work);
        long += spent.long;
        timeline.workers[w] = events;
    }
    // A group's attempts are those that ended (an attempt cut short is not counted).
    for attempt in timeline.attempts() {
        if attempt.outcome() != Some(Outcome::None) {
            group_attempts[plan.locate(attempt.run.task).0] += 1;
        }
    }
    if input.at < bytes.len() {
        bail!(
            "{name}: {} bytes after the end of the recording, from byte {}; the file is corrupt",
            bytes.len() - input.at,
            input.at
        );
    }
    let t = report.tasks;
    // Attempts an interrupt cut short reach no outcome and the report does not count them
    // (the event order allows them in interrupted runs only).
    if (ends.completed, ends.failed, ends.retried) != (t.completed, t.failed, t.retried) {
        bail!(
            "{name}: the events end {} attempts completed, {} failed and {} retried (and {} cut \
             short), but the report counts {}, {} and {}; the file is corrupt",
            ends.completed,
            ends.failed,
            ends.retried,
            ends.cut,
            t.completed,
            t.failed,
            t.retried,
        );
    }
    // The report's work leaves out what the OS held the workers off their cores inside the
    // bodies, which the events do not show, and the events' body ends come after the reading
    // that found it (a few microseconds of CPU after each long body; a wait for a CPU during
    // the reading is part of the preempted total). So it is the events' work less at most
    // all of that.
    let preempted: u64 = report.workers.iter().filter_map(|w| w.preempted_ns).sum();
    let slack = long * READING_NS;
    if report.work_ns > work || report.work_ns < work.saturating_sub(preempted + slack) {
        bail!(
            "{name}: the events hold {work} ns of work ({preempted} ns of it possibly preempted), but the report counts {} ns; the file is \
             corrupt",
            report.work_ns
        );
    }
    for (g, (&attempts, group)) in group_attempts.iter().zip(&report.groups).enumerate() {
        if attempts != group.attempts {
            bail!(
                "{name}: the events hold {attempts} attempts of group {g} ({}), but the report \
                 counts {}; the file is corrupt",
                group.name,
                group.attempts
            );
        }
    }
    let machine = ResolvedMachine {
        speeds: header.speeds.clone(),
    };
    let recording = Recording {
        header,
        loaded,
        machine,
        plan,
        timeline,
    };
    check_waits(&recording, version)
        .and_then(|()| check_idle_and_responses(&recording))
        .map_err(|what| anyhow!("{name}: {what}; the file is corrupt"))?;
    Ok(recording)
}

/// A recording's bytes and how far decoding has got, so that every refusal can say where.
struct Bytes<'a> {
    /// The file's name, for messages.
    name: &'a str,
    /// The whole file.
    all: &'a [u8],
    /// The offset of the next byte to decode.
    at: usize,
}

impl<'a> Bytes<'a> {
    /// The next `n` bytes, which hold `what` (named if the file ends first).
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let left = self.all.len() - self.at;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                let bytes = &self.all[self.at..self.at + n];
                self.at += n;
                Ok(bytes)
            }
            _ => bail!(
                "{}: truncated recording (in {what}: {n} bytes from byte {} on, but the file \
                 ends at byte {})",
                self.name,
                self.at,
                self.all.len()
            ),
        }
    }

    /// The next four bytes, as a little-endian `u32`.
    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(self.take(4, what)?);
        Ok(u32::from_le_bytes(bytes))
    }

    /// The next eight bytes, as a little-endian `u64`.
    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(bytes))
    }

    /// Reads the CRC-32 that comes next and checks it against the bytes from `from` to here,
    /// which hold `what`.
    fn checksum(&mut self, from: usize, what: &str) -> Result<()> {
        let end = self.at;
        let computed = crc32fast::hash(&self.all[from..end]);
        let stored = self.u32(&format!("the checksum of {what}"))?;
        if stored != computed {
            bail!(
                "{}: the recording is damaged in {what} (bytes {from} to {end} do not match \
                 their checksum: stored {stored:08x}, computed {computed:08x}); the file is \
                 corrupt",
                self.name
            );
        }
        Ok(())
    }
}

/// What every worker's events must agree with, from the header.
struct Rules {
    /// Tasks in the plan: every `Run` is of one of them.
    total: u64,
    /// Workers: a stolen `Run` names one of them as its victim.
    workers: usize,
    /// The highest attempt a `Run` can have: the first and every retry, as events store it.
    max_attempt: u8,
    /// No `Run` starts later than this, ns.
    last_run: u64,
    /// No event at all, and no queue sample, is later than this, ns.
    last_event: u64,
    /// The run was interrupted, so attempts may have been cut short.
    interrupted: bool,
}

impl Rules {
    /// The rules for the run `header` describes.
    fn new(header: &Header, plan: &Plan) -> Rules {
        let report = &header.report;
        let makespan = report.makespan_ns;
        let (last_run, last_event) = if report.interrupted {
            // A stopped run ends at the stop, not after its last attempt: a worker inside a
            // body finishes it, may start one more before it sees the stop, and then leaves.
            let longest = report.groups.iter().map(|g| g.max_ns).max().unwrap_or(0);
            let slowest = header.speeds.iter().copied().fold(1.0, f64::min);
            let body = (longest as f64 / slowest) as u64;
            let run = makespan.saturating_add(body).saturating_add(LATE_NS);
            (run, run.saturating_add(body))
        } else {
            (
                makespan.saturating_add(SKEW_NS),
                makespan.saturating_add(LATE_NS),
            )
        };
        Rules {
            total: plan.total as u64,
            workers: header.speeds.len(),
            max_attempt: u8::try_from(plan.max_retries.saturating_add(1)).unwrap_or(u8::MAX),
            last_run,
            last_event,
            interrupted: report.interrupted,
        }
    }
}

/// One worker's events, as the header and the section holding them describe them.
struct Lane {
    /// How many there are.
    count: u64,
    /// The offset of the first in the file.
    start: usize,
    /// The worker is slower than 1.0: every body it runs has a `Slow` part.
    slowed: bool,
}

/// The attempt whose body a worker is in, as its events show it.
struct Body {
    /// The `Run` that started it.
    run: Event,
    /// When it blocked, if a `Block` was recorded in it.
    blocked: Option<u64>,
    /// When its real work ended and the emulated slowdown began, if a `Slow` was recorded.
    slowed: Option<u64>,
}

/// One worker's times, as its events add them up: the executor adds the same clock readings
/// that it records (`run_task` in exec.rs), so the report's figures must agree exactly.
#[derive(Default)]
struct Spent {
    /// Inside bodies, from each `Run` to the event after its body.
    busy: u64,
    /// Inside bodies, from each `Block` to the end of the body's real work.
    blocked: u64,
    /// Real work, from each `Run` to its `Slow`, or to the end of its body if it has none;
    /// none for an attempt an interrupt cut short.
    work: u64,
    /// Attempts whose real work was long enough for the executor to read the run-queue wait
    /// after it (see `exec::PREEMPTION_CHECK_NS`): each such reading lies inside `work`.
    long: u64,
}

/// How the recorded attempts ended, over all workers.
#[derive(Default)]
struct Ends {
    /// Attempts that completed their task.
    completed: u64,
    /// Attempts that failed their task (no retries left).
    failed: u64,
    /// Attempts that panicked and were retried.
    retried: u64,
    /// Attempts an interrupt cut short (they count as nothing but their busy time).
    cut: u64,
}

/// Decodes one worker's events from `block` and checks each; returns them, the bytes they
/// took and the times they add up to, or what is wrong and where.
fn decode_events(
    block: &[u8],
    lane: &Lane,
    rules: &Rules,
    ends: &mut Ends,
) -> Result<(Vec<Event>, usize, Spent), String> {
    let count = lane.count;
    if count > block.len() as u64 / MIN_EVENT_BYTES {
        return Err(format!(
            "the header counts {count} events, more than the {} bytes from byte {} can hold",
            block.len(),
            lane.start
        ));
    }
    // Bounded by the bytes there are, just checked.
    let mut events = Vec::with_capacity(count as usize);
    let mut rest = block;
    let mut t = 0;
    let mut body = None;
    let mut spent = Spent::default();
    for i in 0..count {
        let at = lane.start + (block.len() - rest.len());
        let event = read_event(&mut rest, &mut t).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                format!(
                    "the bytes end inside event {i} of {count}, at byte {}",
                    lane.start + block.len()
                )
            } else {
                format!("event {i} of {count} (at byte {at}): {e}")
            }
        })?;
        let place = Place {
            first: i == 0,
            last: i + 1 == count,
        };
        check_event(&event, place, lane, rules, &mut body, ends, &mut spent).map_err(|what| {
            format!(
                "event {i} of {count} (at byte {at}), a {:?} at {} ns, {what}",
                event.kind, event.t
            )
        })?;
        events.push(event);
    }
    if count == 0 {
        return Err("no events, where every worker records its start and its leaving".into());
    }
    Ok((events, block.len() - rest.len(), spent))
}

/// Where an event is in its worker's events.
#[derive(Clone, Copy)]
struct Place {
    /// It is the first.
    first: bool,
    /// It is the last.
    last: bool,
}

/// Checks one event against the order the executor records a worker's events in
/// (`Shared::work` and `run_task` in exec.rs): a `Take` first and an `Exit` last; each `Run`
/// followed by its body's `Block` and `Slow` (if any, in that order), then by the `Take` or
/// `Push` that carries its outcome; every other event outside bodies and with nothing in its
/// task, attempt or aux. `body` is the attempt the worker is in, kept from one event to the
/// next; `ends` counts the outcomes and `spent` adds up the bodies' times.
fn check_event(
    e: &Event,
    Place { first, last }: Place,
    lane: &Lane,
    rules: &Rules,
    body: &mut Option<Body>,
    ends: &mut Ends,
    spent: &mut Spent,
) -> Result<(), String> {
    let plain = e.task == 0 && e.attempt == 0 && e.aux == 0;
    if e.t > rules.last_event {
        return Err(format!(
            "later than the run allows (it ended at {} ns)",
            rules.last_event.min(e.t)
        ));
    }
    if first && !(e.kind == Kind::Take && plain) {
        return Err(
            "where a worker's first event is its first look for work (a plain Take)".into(),
        );
    }
    if last != (e.kind == Kind::Exit) {
        return Err(if last {
            "where a worker's last event is its leaving (an Exit)".into()
        } else {
            "before the worker's last event".into()
        });
    }
    match e.kind {
        Kind::Run => {
            if let Some(open) = body {
                return Err(format!("inside the body of task {}", open.run.task));
            }
            if u64::from(e.task) >= rules.total {
                return Err(format!(
                    "of task {}, outside the workload's {} tasks",
                    e.task, rules.total
                ));
            }
            if e.attempt == 0 || e.attempt > rules.max_attempt {
                return Err(format!(
                    "of attempt {}, where the workload's tasks have attempts 1 to {}",
                    e.attempt, rules.max_attempt
                ));
            }
            if usize::from(e.aux) > rules.workers {
                return Err(format!(
                    "stolen from core {}, of {} cores",
                    e.aux - 1,
                    rules.workers
                ));
            }
            if e.t > rules.last_run {
                return Err("after the run ended".into());
            }
            *body = Some(Body {
                run: *e,
                blocked: None,
                slowed: None,
            });
        }
        Kind::Block | Kind::Slow => {
            let Some(open) = body else {
                return Err("outside any task body".into());
            };
            if e.task != open.run.task || e.attempt != open.run.attempt || e.aux != 0 {
                return Err(format!(
                    "not of the body it is in (task {}, attempt {})",
                    open.run.task, open.run.attempt
                ));
            }
            if open.slowed.is_some() || (e.kind == Kind::Block && open.blocked.is_some()) {
                return Err("after the body's Slow, or twice in one body".into());
            }
            if e.kind == Kind::Slow && !lane.slowed {
                return Err("on a core that runs at full speed".into());
            }
            if e.kind == Kind::Block {
                open.blocked = Some(e.t);
            } else {
                open.slowed = Some(e.t);
            }
        }
        Kind::Take | Kind::Push => match body.take() {
            Some(open) => {
                if lane.slowed && open.slowed.is_none() {
                    return Err("ending a body that was not slowed, on a slowed core".into());
                }
                // Times never decrease, so none of these can underflow.
                let real_end = open.slowed.unwrap_or(e.t);
                spent.busy = spent.busy.saturating_add(e.t - open.run.t);
                if let Some(blocked) = open.blocked {
                    spent.blocked = spent.blocked.saturating_add(real_end - blocked);
                }
                let outcome = Outcome::from_aux(e.aux);
                if outcome != Outcome::None {
                    spent.work = spent.work.saturating_add(real_end - open.run.t);
                    if real_end - open.run.t > crate::exec::PREEMPTION_CHECK_NS {
                        spent.long += 1;
                    }
                }
                match (e.kind, outcome, e.attempt) {
                    (_, Outcome::Completed, 0) => ends.completed += 1,
                    (Kind::Take, Outcome::Failed, 0) => ends.failed += 1,
                    (Kind::Push, Outcome::Retry, 0) => ends.retried += 1,
                    // Cut short by an interrupt: no outcome (`run_task` in exec.rs).
                    (Kind::Take, Outcome::None, 0) if e.aux == 0 && rules.interrupted => {
                        ends.cut += 1;
                    }
                    _ => {
                        return Err(format!(
                            "ending a body with outcome {} and attempt {}, which the executor \
                             never records",
                            e.aux, e.attempt
                        ));
                    }
                }
            }
            None if e.kind == Kind::Take && plain => {}
            None => return Err("with an outcome but outside any task body".into()),
        },
        Kind::Steal | Kind::Idle | Kind::Park | Kind::Exit => {
            if let Some(open) = body {
                return Err(format!("inside the body of task {}", open.run.task));
            }
            if !plain {
                return Err("with a task, attempt or aux, which it never has".into());
            }
        }
    }
    Ok(())
}

/// Whether every wait the events carry is exact: below 2.1 s (longer ones are packed to the
/// microsecond, see `record::encode_wait`).
fn waits_exact(recording: &Recording) -> bool {
    recording
        .timeline
        .attempts()
        .all(|a| a.after.is_none_or(|e| e.task & (1 << 31) == 0))
}

/// Checks the report's waits against the ones the events carry, when they carry them exactly
/// (below 2.1 s; longer ones are packed to the microsecond, see `record::encode_wait`): the
/// executor counts the same waits in distributions made the same way ([`Times`]), so every
/// percentile must agree. The executors that wrote version 1 files may also have kept them
/// in plain histograms (two significant figures), whose percentiles differ from exact ones:
/// for those, either way of counting is accepted.
fn check_waits(recording: &Recording, version: u32) -> Result<(), String> {
    if !waits_exact(recording) {
        return Ok(());
    }
    let report = recording.report();
    let waits = recording.group_waits();
    // As the older executors counted them: every wait in a histogram.
    let histograms = if version == 1 {
        old_wait_histograms(recording)
    } else {
        None
    };
    for (g, (times, group)) in waits.iter().zip(&report.groups).enumerate() {
        let reported = (group.wait_p50_ns, group.wait_p99_ns);
        let seen = (times.quantile(0.5), times.quantile(0.99));
        let old = histograms.as_ref().map(|hists| {
            (
                hists[g].value_at_quantile(0.5),
                hists[g].value_at_quantile(0.99),
            )
        });
        if seen != reported && old != Some(reported) {
            return Err(format!(
                "the events' waits in group {g} ({}) have a median of {} ns and a 99th \
                 percentile of {} ns, but the report says {} ns and {} ns",
                group.name, seen.0, seen.1, group.wait_p50_ns, group.wait_p99_ns
            ));
        }
    }
    let seen = Percentiles::of(&Times::merged(&waits));
    let old = histograms.and_then(|hists| {
        let mut all = Histogram::<u64>::new(2).ok()?;
        for h in &hists {
            all.add(h).ok()?;
        }
        Some(Percentiles {
            p50: all.value_at_quantile(0.5),
            p90: all.value_at_quantile(0.9),
            p99: all.value_at_quantile(0.99),
            max: all.max(),
        })
    });
    if seen != report.wait_ns && old != Some(report.wait_ns) {
        return Err(format!(
            "the events' waits are {seen:?}, but the report says {:?}",
            report.wait_ns
        ));
    }
    Ok(())
}

/// Checks each worker's idle split (its parts add up to its idle; exact ones match the
/// events) and the response times (the events give every task's release and end, so every
/// percentile must agree). Files from executors that kept neither have neither.
fn check_idle_and_responses(recording: &Recording) -> Result<(), String> {
    let report = recording.report();
    let exact = match report.idle_split_from.as_str() {
        "timeline" => Some(recording.timeline.idle_while_queued()),
        "probes" => None,
        // Written before idle was split: nothing to check.
        "" => return check_responses(recording),
        other => return Err(format!("the idle split is said to come from `{other}`")),
    };
    // Figures derived from others, in files that have them.
    if (report.utilisation - report.computed_utilisation()).abs() > 1e-9 {
        return Err(format!(
            "the report's utilisation {} is not what its workers' times make, {}",
            report.utilisation,
            report.computed_utilisation()
        ));
    }
    for (g, group) in report.groups.iter().enumerate() {
        if recording.plan.groups.get(g).map(|p| p.timed) != Some(group.arrives_over_time) {
            return Err(format!(
                "the report says group {} {} over time, the workload says otherwise",
                group.name,
                if group.arrives_over_time {
                    "arrives"
                } else {
                    "does not arrive"
                }
            ));
        }
    }
    if report.diagnostics != crate::diagnose::diagnose(&report.figures()) {
        return Err("the report's diagnostics are not what its figures make".into());
    }
    for w in &report.workers {
        let split = w.idle;
        if split.queued_elsewhere_ns + split.starved_ns != w.idle_ns || w.spinning_ns > w.idle_ns {
            return Err(format!(
                "core {}'s idle of {} ns is split into {} and {} ns, {} ns of it spinning",
                w.id, w.idle_ns, split.queued_elsewhere_ns, split.starved_ns, w.spinning_ns
            ));
        }
        if let Some(seen) = exact.as_ref().and_then(|e| e.get(w.id))
            && (*seen).min(w.idle_ns) != split.queued_elsewhere_ns
        {
            return Err(format!(
                "core {}'s events show {} ns idle while tasks were queued, but the report says {} ns",
                w.id, seen, split.queued_elsewhere_ns
            ));
        }
    }
    check_responses(recording)
}

/// Checks the report's response times against the events'.
fn check_responses(recording: &Recording) -> Result<(), String> {
    let report = recording.report();
    let kept = report.response_ns != Percentiles::default()
        || report
            .groups
            .iter()
            .any(|g| g.response_ns != Percentiles::default());
    if !kept || !waits_exact(recording) {
        return Ok(());
    }
    let responses = recording.group_responses();
    for (times, group) in responses.iter().zip(&report.groups) {
        let seen = Percentiles::of(times);
        if seen != group.response_ns {
            return Err(format!(
                "the events' responses in group {} are {seen:?}, but the report says {:?}",
                group.name, group.response_ns
            ));
        }
    }
    let seen = Percentiles::of(&Times::merged(&responses));
    if seen != report.response_ns {
        return Err(format!(
            "the events' responses are {seen:?}, but the report says {:?}",
            report.response_ns
        ));
    }
    Ok(())
}

/// Each group's waits, as executors before [`Times`] counted them: in an auto-resizing
/// histogram of two significant figures. `None` only if one cannot be made (never).
fn old_wait_histograms(recording: &Recording) -> Option<Vec<Histogram<u64>>> {
    let mut hists = Vec::with_capacity(recording.plan.groups.len());
    for _ in &recording.plan.groups {
        hists.push(Histogram::new(2).ok()?);
    }
    for attempt in recording.timeline.attempts() {
        if let Some(wait) = attempt.wait_ns() {
            let (g, _) = recording.plan.locate(attempt.run.task);
            // Auto-resizing, so recording cannot fail.
            let _ = hists[g].record(wait);
        }
    }
    Some(hists)
}

/// Checks one worker's report against what its events add up to (`spent`), as
/// `Report::new` computes it; says what disagrees.
fn check_spent(
    events: &[Event],
    spent: &Spent,
    report: &WorkerReport,
    makespan: u64,
) -> Result<(), String> {
    // The report counts attempts that reached an outcome: one an interrupt cut short (its
    // body's end carries none) is busy time only.
    let runs = events
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            e.kind == Kind::Run
                && events[i + 1..]
                    .iter()
                    .find(|n| !n.kind.is_inside_task())
                    .is_some_and(|n| Outcome::from_aux(n.aux) != Outcome::None)
        })
        .count() as u64;
    if runs != report.tasks {
        return Err(format!(
            "hold {runs} attempts, but the report counts {}",
            report.tasks
        ));
    }
    // The report clips a worker's times to the makespan (see `Report::new`).
    let busy = spent.busy.min(makespan);
    let blocked = spent.blocked.min(busy);
    if (busy, blocked) != (report.busy_ns, report.blocked_ns) {
        return Err(format!(
            "add up to {busy} ns busy ({blocked} ns of it blocked), but the report says {} ns \
             ({} ns)",
            report.busy_ns, report.blocked_ns
        ));
    }
    Ok(())
}

/// Checks what the header says against itself and the workload; says what disagrees.
fn check_header(h: &Header, loaded: &Loaded, plan: &Plan, rules: &Rules) -> Result<(), String> {
    let r = &h.report;
    let workers = h.speeds.len();
    if workers == 0 || workers > MAX_SIM_WORKERS {
        return Err(format!(
            "{workers} workers, where a run has 1 to {MAX_SIM_WORKERS}"
        ));
    }
    if h.events.len() != workers || r.workers.len() != workers {
        return Err(format!(
            "{workers} speeds, but events for {} workers and a report of {}",
            h.events.len(),
            r.workers.len()
        ));
    }
    for (i, (&speed, wr)) in h.speeds.iter().zip(&r.workers).enumerate() {
        if !(speed > 0.0 && speed <= 1.0) {
            return Err(format!("speed {speed} of worker {i} is outside (0, 1]"));
        }
        if wr.id != i || wr.speed != speed {
            return Err(format!(
                "the report's worker {i} is worker {} at speed {}, the machine's runs at {speed}",
                wr.id, wr.speed
            ));
        }
    }
    if r.workload != loaded.workload.name || r.seed != h.seed {
        return Err(format!(
            "the report is of {:?} with seed {}, the recording of {:?} with seed {}",
            r.workload, r.seed, loaded.workload.name, h.seed
        ));
    }
    let t = r.tasks;
    if t.total != plan.total as u64 {
        return Err(format!(
            "the report counts {} tasks, the workload has {}",
            t.total, plan.total
        ));
    }
    if sum([t.completed, t.failed, t.cancelled]) != Some(t.total) {
        return Err(format!(
            "the report's task counts do not add up: {} completed + {} failed + {} cancelled is \
             not its {} tasks",
            t.completed, t.failed, t.cancelled, t.total
        ));
    }
    // Every attempt the report counts ended in an outcome (those an interrupt cut short are
    // not counted at all).
    let attempts = sum(r.workers.iter().map(|w| w.tasks));
    let ended = sum([t.completed, t.failed, t.retried]);
    let fits = matches!((attempts, ended), (Some(attempts), Some(ended)) if attempts == ended);
    if !fits {
        return Err(format!(
            "the report's workers ran {} attempts, but it counts {} completed + {} failed + {} \
             retried{}",
            attempts.map_or_else(|| "too many".to_string(), |a| a.to_string()),
            t.completed,
            t.failed,
            t.retried,
            ""
        ));
    }
    let (attempts, ended) = (attempts.unwrap_or(0), ended.unwrap_or(0));
    for wr in &r.workers {
        let spent = sum([wr.busy_ns, wr.idle_ns, wr.overhead_ns]);
        if spent != Some(r.makespan_ns) || wr.blocked_ns > wr.busy_ns {
            return Err(format!(
                "worker {}'s busy ({} ns, {} of them blocked), idle ({} ns) and scheduler ({} \
                 ns) times do not add up to the makespan of {} ns",
                wr.id, wr.busy_ns, wr.blocked_ns, wr.idle_ns, wr.overhead_ns, r.makespan_ns
            ));
        }
    }
    if r.groups.len() != plan.groups.len() {
        return Err(format!(
            "the report has {} groups, the workload {}",
            r.groups.len(),
            plan.groups.len()
        ));
    }
    for (g, planned) in r.groups.iter().zip(&plan.groups) {
        let count = planned.roots as u64 * u64::from(planned.tree);
        if g.name != planned.name || g.count != count {
            return Err(format!(
                "the report's group {:?} of {} tasks is the workload's {:?} of {count}",
                g.name, g.count, planned.name
            ));
        }
        if !(g.p50_ns <= g.p99_ns && g.p99_ns <= g.max_ns && g.mean_ns <= g.max_ns)
            || g.wait_p50_ns > g.wait_p99_ns
        {
            return Err(format!(
                "the report's times of group {:?} are out of order: mean {}, p50 {}, p99 {}, max \
                 {} ns, waits p50 {}, p99 {} ns",
                g.name, g.mean_ns, g.p50_ns, g.p99_ns, g.max_ns, g.wait_p50_ns, g.wait_p99_ns
            ));
        }
    }
    if let Some(unknown) = r
        .critical_groups
        .iter()
        .find(|c| !plan.groups.iter().any(|g| &g.name == *c))
    {
        return Err(format!(
            "the report's critical path goes through {unknown:?}, which is no group of the \
             workload"
        ));
    }
    if sum(r.groups.iter().map(|g| g.attempts)) != Some(ended) {
        return Err(format!(
            "the report's groups ended {} attempts, its outcomes {ended}",
            r.groups
                .iter()
                .fold(0u64, |all, g| all.saturating_add(g.attempts))
        ));
    }
    let overhead = r.workers.iter().fold(0u64, |all, w| {
        all.saturating_add(w.overhead_ns.saturating_sub(w.preempted_overhead_ns))
    });
    if r.overhead_ns_per_task != overhead.checked_div(attempts).unwrap_or(0) {
        return Err(format!(
            "the report's scheduler overhead of {} ns per task is not its {overhead} ns over \
             {attempts} attempts",
            r.overhead_ns_per_task
        ));
    }
    let efficiency = if r.makespan_ns == 0 {
        0.0
    } else {
        r.lower_bound_ns as f64 / r.makespan_ns as f64
    };
    if (r.efficiency - efficiency).abs() > 1e-9 * efficiency.max(1.0)
        || r.lower_bound_ns < r.critical_path_ns
    {
        return Err(format!(
            "the report's efficiency {} is not its lower bound of {} ns (at least the critical \
             path's {} ns) over its makespan of {} ns",
            r.efficiency, r.lower_bound_ns, r.critical_path_ns, r.makespan_ns
        ));
    }
    let parallelism = if r.critical_path_ns == 0 {
        0.0
    } else {
        r.work_ns as f64 / r.critical_path_ns as f64
    };
    if (r.parallelism - parallelism).abs() > 1e-9 * parallelism.max(1.0) {
        return Err(format!(
            "the report's parallelism {} is not its work of {} ns over its critical path of {} \
             ns",
            r.parallelism, r.work_ns, r.critical_path_ns
        ));
    }
    let w = r.wait_ns;
    if !(w.p50 <= w.p90 && w.p90 <= w.p99 && w.p99 <= w.max) {
        return Err(format!(
            "the report's wait percentiles are out of order: {w:?}"
        ));
    }
    let mut last = 0;
    for (i, s) in h.samples.iter().enumerate() {
        if s.t < last || s.t > rules.last_event || s.queued.len() != workers {
            return Err(format!(
                "queue sample {i} is at {} ns with {} queues, after one at {last} ns, in a run of \
                 {workers} workers that ended at {} ns",
                s.t,
                s.queued.len(),
                r.makespan_ns
            ));
        }
        if s.finished as u64 > t.total {
            return Err(format!(
                "queue sample {i} counts {} tasks finished, of {}",
                s.finished, t.total
            ));
        }
        last = s.t;
    }
    Ok(())
}

/// The sum of `values`, or `None` if it overflows (which only a corrupt file's numbers do).
fn sum(values: impl IntoIterator<Item = u64>) -> Option<u64> {
    values
        .into_iter()
        .try_fold(0u64, |all, v| all.checked_add(v))
}

fn read_u8(input: &mut dyn Read) -> io::Result<u8> {
    let mut byte = [0; 1];
    input.read_exact(&mut byte)?;
    Ok(byte[0])
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn read_event(input: &mut dyn Read, t: &mut u64) -> io::Result<Event> {
    *t = t
        .checked_add(get_varint(input)?)
        .ok_or_else(|| corrupt("time overflows"))?;
    let kind = match read_u8(input)? {
        0 => Kind::Run,
        1 => Kind::Slow,
        2 => Kind::Take,
        3 => Kind::Push,
        4 => Kind::Steal,
        5 => Kind::Idle,
        6 => Kind::Park,
        7 => Kind::Exit,
        8 => Kind::Block,
        other => return Err(corrupt(&format!("unknown event kind {other}"))),
    };
    let task = u32::try_from(get_varint(input)?).map_err(|_| corrupt("task out of range"))?;
    let attempt = read_u8(input)?;
    let aux = u16::try_from(get_varint(input)?).map_err(|_| corrupt("aux out of range"))?;
    Ok(Event {
        t: *t,
        task,
        kind,
        attempt,
        aux,
    })
}

/// Appends `v` as LEB128.
fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads one LEB128 value.
fn get_varint(input: &mut dyn Read) -> io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = read_u8(input)?;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt("varint longer than 64 bits"))
}

#[cfg(test)]
mod tests {
    use std::ops::Range;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::exec::{self, RunOptions};
    use crate::workload::Overrides;

    /// A small run with everything a recording holds: attempts that are retried, tasks that
    /// fail and the ones their failure cancels, a fork-join tree, bodies that block, a slowed
    /// core and a dependency.
    const SMALL: &str = r#"(name: "small", seed: 5,
        faults: Faults(panic_rate: 0.3, max_retries: 1),
        machine: Machine(speeds: [1.0, 0.5]),
        groups: [
            (name: "tree", kernel: Fib(n: 4, cutoff: 0), count: 2),
            (name: "nap", kernel: Sleep(us: 3000), count: 3),
            (name: "after", kernel: Spin(us: 1), count: 4, after: ["nap"]),
        ])"#;

    /// A recording of [`SMALL`], run by the executor.
    fn small() -> Recording {
        recorded(SMALL, None)
    }

    /// A recording of the workload `text`, run by the executor; `stop` stops it.
    fn recorded(text: &str, stop: Option<Arc<AtomicBool>>) -> Recording {
        let loaded = workload::parse(text, "small.ron").expect("a valid workload");
        let w = &loaded.workload;
        let machine = w
            .resolve_machine(&Overrides::default())
            .expect("a valid machine");
        let plan = Plan::new(w, w.seed);
        let options = RunOptions {
            record: true,
            pin: false,
            stop,
            ..RunOptions::default()
        };
        let run = exec::run(&plan, &machine, "steal", &options, &mut |_| {}).expect("known");
        let report = Report::new(&w.name, &w.description, &plan, &machine, &run);
        Recording::new(
            &loaded,
            w.seed,
            &machine,
            &report,
            &run.timeline,
            &run.samples,
        )
        .expect("recordable")
    }

    /// `recording` as written now.
    fn encoded(recording: &Recording) -> Vec<u8> {
        let mut out = Vec::new();
        recording.write(&mut out).expect("writes to memory");
        out
    }

    /// `recording` in format version 1, as schedlab 0.1.0 wrote it.
    fn version_1(recording: &Recording) -> Vec<u8> {
        let header = serde_json::to_vec(&recording.header).expect("JSON");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for events in &recording.timeline.workers {
            encode_events(events, &mut out);
        }
        out
    }

    /// `recording` with `edit` made to it, written whole: its checksums are right for what
    /// it now says, so only the checks of what it says can refuse it.
    fn rewritten(recording: &Recording, edit: impl FnOnce(&mut Recording)) -> Vec<u8> {
        let mut edited = recording.clone();
        edit(&mut edited);
        edited.header.events = edited
            .timeline
            .workers
            .iter()
            .map(|w| w.len() as u64)
            .collect();
        encoded(&edited)
    }

    /// Why `bytes` are refused (all of the error's chain); fails if they load.
    fn refusal(bytes: &[u8]) -> String {
        match Recording::read(&mut &bytes[..], "r.rec") {
            Ok(_) => panic!("a damaged recording loaded"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// The sections of a version 2 file: the header with its checksum, then each worker's
    /// events with their length and checksum.
    fn sections(bytes: &[u8]) -> Vec<(String, Range<usize>)> {
        let word = |at: usize, n: usize| {
            bytes[at..at + n]
                .iter()
                .rev()
                .fold(0usize, |v, &b| v << 8 | usize::from(b))
        };
        let header_end = MAGIC.len() + 8 + word(MAGIC.len() + 4, 4) + 4;
        let mut all = vec![("the header".to_string(), 0..header_end)];
        let mut at = header_end;
        let mut w = 0;
        while at < bytes.len() {
            let end = at + 8 + word(at, 8) + 4;
            all.push((format!("core {w}'s events"), at..end));
            at = end;
            w += 1;
        }
        all
    }

    #[test]
    fn a_recording_reads_back_as_it_was_written_in_either_version() {
        let recording = small();
        let t = recording.report().tasks;
        assert!(
            t.retried > 0 && t.failed > 0 && t.cancelled > 0,
            "the run has every outcome: {t:?}"
        );
        let kinds: Vec<Kind> = recording
            .timeline
            .workers
            .iter()
            .flatten()
            .map(|e| e.kind)
            .collect();
        for kind in [Kind::Block, Kind::Slow, Kind::Push, Kind::Exit] {
            assert!(kinds.contains(&kind), "the run records a {kind:?}");
        }
        let v2 = encoded(&recording);
        assert_eq!(v2[MAGIC.len()..MAGIC.len() + 4], VERSION.to_le_bytes());
        assert_eq!(sections(&v2).len(), 1 + recording.machine.workers());
        for bytes in [v2, version_1(&recording)] {
            let back = Recording::read(&mut bytes.as_slice(), "r.rec").expect("loads");
            assert_eq!(back.header, recording.header);
            assert_eq!(back.timeline.workers, recording.timeline.workers);
        }
    }

    #[test]
    fn an_interrupted_run_with_attempts_cut_short_reads_back() {
        // Both workers are always inside a long body, so the stop cuts attempts short: they
        // end with no outcome, and count only as busy time.
        let text = r#"(name: "long", machine: Machine(speeds: [1.0, 0.5]), groups: [
            (name: "spin", kernel: Spin(us: 3000), count: 40),
        ])"#;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let recording = recorded(text, Some(stop));
        stopper.join().expect("the stopper ends");
        assert!(recording.report().interrupted);
        let cut = recording
            .timeline
            .attempts()
            .filter(|a| a.outcome() == Some(Outcome::None))
            .count();
        assert!(cut > 0, "an attempt was cut short");
        for bytes in [encoded(&recording), version_1(&recording)] {
            let back = Recording::read(&mut bytes.as_slice(), "r.rec").expect("loads");
            assert_eq!(back.header, recording.header);
        }
        // The cut attempt is not an outcome: calling it a completion is refused.
        let mut bytes = Vec::new();
        let mut edited = recording.clone();
        let (w, at) = edited
            .timeline
            .workers
            .iter()
            .enumerate()
            .find_map(|(w, events)| {
                let ends_body = |p: &[Event]| p[0].kind.is_inside_task() || p[0].kind == Kind::Run;
                events
                    .windows(2)
                    .position(|p| ends_body(p) && p[1].kind == Kind::Take && p[1].aux == 0)
                    .map(|i| (w, i + 1))
            })
            .expect("a body ends without an outcome");
        edited.timeline.workers[w][at].aux = Outcome::Completed as u16;
        edited.write(&mut bytes).expect("writes");
        let why = refusal(&bytes);
        assert!(why.contains("attempts, but the report counts"), "{why}");
    }

    #[test]
    fn every_flipped_bit_of_a_version_2_file_is_refused_naming_its_section() {
        let bytes = encoded(&small());
        let sections = sections(&bytes);
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                let why = refusal(&damaged);
                if at < MAGIC.len() {
                    assert!(why.contains("not a schedlab recording"), "{why}");
                } else if at < MAGIC.len() + 4 {
                    assert!(why.contains("format version"), "{why}");
                } else {
                    let (section, _) = sections
                        .iter()
                        .find(|(_, range)| range.contains(&at))
                        .expect("every byte is in a section");
                    assert!(
                        why.contains(&format!("damaged in {section}"))
                            || why.contains("truncated")
                            || why.contains("header of"),
                        "byte {at}, bit {bit} is in {section}: {why}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_flipped_bit_in_an_event_time_names_the_worker_and_the_bytes() {
        let bytes = encoded(&small());
        let sections = sections(&bytes);
        let (_, core_1) = &sections[2];
        // The first byte after the length is the time of the worker's first event.
        let mut damaged = bytes.clone();
        damaged[core_1.start + 8] ^= 0x10;
        let why = refusal(&damaged);
        assert!(
            why.contains(&format!(
                "damaged in core 1's events (bytes {} to {} do not match their checksum",
                core_1.start,
                core_1.end - 4
            )),
            "{why}"
        );
        let mut damaged = bytes.clone();
        damaged[100] ^= 1;
        let why = refusal(&damaged);
        assert!(why.contains("damaged in the header (bytes 0 to"), "{why}");
    }

    #[test]
    fn every_cut_of_either_version_is_refused() {
        let recording = small();
        for bytes in [encoded(&recording), version_1(&recording)] {
            for len in 0..bytes.len() {
                let why = refusal(&bytes[..len]);
                assert!(
                    why.contains("truncated") || why.contains("not a schedlab recording"),
                    "cut to {len} of {} bytes: {why}",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn flipped_bits_in_a_version_1_file_are_mostly_refused_and_never_panic() {
        // Version 1 has no checksum: a flip can only be caught by what it makes inconsistent.
        // Some flips change nothing checkable (a time in a worker's idle spell, a digit of a
        // wait); the rest must be refused, and none may panic.
        let bytes = version_1(&small());
        let mut refused = 0;
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << (at % 8);
            match Recording::read(&mut damaged.as_slice(), "r.rec") {
                Err(_) => refused += 1,
                Ok(loaded) => {
                    let t = loaded.report().tasks;
                    assert_eq!(t.completed + t.failed + t.cancelled, t.total);
                }
            }
        }
        assert!(
            refused * 10 >= bytes.len() * 8,
            "{refused} of {} flips refused",
            bytes.len()
        );
    }

    #[test]
    fn bytes_after_the_end_are_refused_with_their_count_and_offset() {
        let recording = small();
        for mut bytes in [encoded(&recording), version_1(&recording)] {
            let end = bytes.len();
            bytes.extend_from_slice(b"tail");
            let why = refusal(&bytes);
            assert!(
                why.contains(&format!(
                    "4 bytes after the end of the recording, from byte {end}"
                )),
                "{why}"
            );
        }
    }

    #[test]
    fn a_report_that_no_longer_adds_up_is_refused_though_its_checksums_match() {
        let recording = small();
        type Edit = fn(&mut Recording);
        let edits: [(&str, Edit); 9] = [
            ("do not add up", |r| r.header.report.tasks.completed += 1),
            ("the workload has", |r| {
                r.header.report.tasks.total += 1;
                r.header.report.tasks.cancelled += 1;
            }),
            ("the report counts", |r| {
                // Still adding up, to the same attempts, but no longer what the events show.
                r.header.report.tasks.completed += 1;
                r.header.report.tasks.failed -= 1;
            }),
            ("do not add up to the makespan", |r| {
                r.header.report.workers[1].idle_ns += 1
            }),
            ("busy", |r| {
                r.header.report.workers[0].busy_ns -= 1;
                r.header.report.workers[0].idle_ns += 1;
            }),
            ("speeds, but events for", |r| r.header.speeds.push(1.0)),
            ("outside (0, 1]", |r| {
                r.header.speeds[0] = f64::MIN_POSITIVE - 1.0
            }),
            ("efficiency", |r| r.header.report.efficiency *= 1.5),
            ("with seed", |r| r.header.seed ^= 1),
        ];
        for (expected, edit) in edits {
            let why = refusal(&rewritten(&recording, edit));
            assert!(why.contains(expected), "expected {expected:?} in: {why}");
            assert!(why.contains("the file is corrupt"), "{why}");
        }
    }

    /// The first `Run` of core 0.
    fn first_run(r: &mut Recording) -> &mut Event {
        r.timeline.workers[0]
            .iter_mut()
            .find(|e| e.kind == Kind::Run)
            .expect("core 0 ran something")
    }

    #[test]
    fn events_out_of_the_executors_order_are_refused_though_their_checksums_match() {
        let recording = small();
        type Edit = fn(&mut Recording);
        let edits: [(&str, Edit); 7] = [
            ("outside the workload's", |r| first_run(r).task = u32::MAX),
            ("where the workload's tasks have attempts 1 to 2", |r| {
                first_run(r).attempt = 3
            }),
            ("later than the run allows", |r| {
                let late = r.header.report.makespan_ns + LATE_NS + 1;
                if let Some(exit) = r.timeline.workers[1].last_mut() {
                    exit.t = late;
                }
            }),
            ("its leaving (an Exit)", |r| {
                r.timeline.workers[1].pop();
            }),
            ("on a core that runs at full speed", |r| {
                let at = r.timeline.workers[0]
                    .iter()
                    .position(|e| e.kind == Kind::Run)
                    .expect("a run");
                let slow = Event {
                    kind: Kind::Slow,
                    ..r.timeline.workers[0][at]
                };
                r.timeline.workers[0].insert(at + 1, slow);
            }),
            ("outside any task body", |r| {
                let steal = r.timeline.workers[0]
                    .iter_mut()
                    .find(|e| e.kind == Kind::Steal)
                    .expect("core 0 looked elsewhere");
                steal.kind = Kind::Push;
                steal.aux = Outcome::Completed as u16;
            }),
            ("busy", |r| {
                // A body made longer: the times still run forwards, but the report's busy
                // time no longer matches them.
                let at = r.timeline.workers[0]
                    .iter()
                    .position(|e| e.kind == Kind::Run)
                    .expect("a run");
                for e in &mut r.timeline.workers[0][at + 1..] {
                    e.t += 1;
                }
            }),
        ];
        for (expected, edit) in edits {
            let why = refusal(&rewritten(&recording, edit));
            assert!(why.contains(expected), "expected {expected:?} in: {why}");
        }
    }

    #[test]
    fn absurd_lengths_and_counts_are_refused_before_anything_is_allocated() {
        let recording = small();
        // A count past what the bytes can hold, in a file whose checksums match.
        let mut edited = recording.clone();
        edited.header.events[1] = u64::MAX / 2;
        let why = refusal(&encoded(&edited));
        assert!(why.contains("more than the"), "{why}");
        // A section claiming more bytes than the file has.
        let mut bytes = encoded(&recording);
        let (_, core_0) = sections(&bytes)[1].clone();
        bytes[core_0.start..core_0.start + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let why = refusal(&bytes);
        assert!(
            why.contains("truncated recording (in core 0's events"),
            "{why}"
        );
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&MAX_HEADER.to_le_bytes());
        let why = refusal(&bytes);
        assert!(why.contains("truncated recording (in the header"), "{why}");
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, 1 << 32, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(get_varint(&mut buf.as_slice()).unwrap(), v);
        }
        let mut buf = Vec::new();
        put_varint(&mut buf, 127);
        assert_eq!(buf.len(), 1, "small values take one byte");
    }

    #[test]
    fn other_files_and_newer_versions_are_refused_with_reasons() {
        let not = Recording::read(&mut &b"{\"schema\": 1}"[..], "r.json").unwrap_err();
        assert!(
            not.to_string().contains("not a schedlab recording"),
            "{not}"
        );
        let mut newer = MAGIC.to_vec();
        newer.extend_from_slice(&7u32.to_le_bytes());
        let err = Recording::read(&mut newer.as_slice(), "new.rec").unwrap_err();
        assert!(err.to_string().contains("format version 7"), "{err}");
        assert!(err.to_string().contains("up to version 2"), "{err}");
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&1u32.to_le_bytes());
        cut.extend_from_slice(&100u32.to_le_bytes());
        cut.extend_from_slice(b"{\"sched");
        let err = Recording::read(&mut cut.as_slice(), "cut.rec").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
