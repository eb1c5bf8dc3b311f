//! Recordings (`--record PATH`, `schedlab replay PATH`): a finished run saved whole — its
//! workload, seed, machine, policy, report, queue samples and every recorded event — so it can
//! be replayed in the TUI and exported (`--json`, `--trace`, `--csv`, `--svg`) later, on any
//! machine, as if it had just run.
//!
//! # File format, version 1
//! ```text
//! "schedlab-recording\n"          magic, 19 bytes
//! u32 LE                          format version (1)
//! u32 LE, then that many bytes    header: JSON ([`Header`])
//! per worker, header.events[w] events, each:
//!   varint  time since the worker's previous event, ns
//!   u8      kind
//!   varint  task (or the packed wait, see `record::encode_wait`)
//!   u8      attempt
//!   varint  aux
//! ```
//! Varints are LEB128 (7 bits a byte, low first). A typical event takes 5–7 bytes instead of
//! its 16 in memory. Later versions of schedlab keep reading version 1; a file of a newer
//! version is refused with both version numbers named.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::exec::Progress;
use crate::plan::Plan;
use crate::record::{Event, Kind, Outcome, Timeline};
use crate::report::Report;
use crate::workload::{self, Loaded, ResolvedMachine};

/// The first bytes of every recording.
pub const MAGIC: &[u8] = b"schedlab-recording\n";
/// The format version this build writes.
pub const VERSION: u32 = 1;
/// Headers larger than this are refused as corrupt.
const MAX_HEADER: u32 = 1 << 30;

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

    /// Writes the recording.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        let header = serde_json::to_vec(&self.header)?;
        out.write_all(&(header.len() as u32).to_le_bytes())?;
        out.write_all(&header)?;
        let mut buf = Vec::with_capacity(64 * 1024);
        for events in &self.timeline.workers {
            let mut last = 0;
            for e in events {
                put_varint(&mut buf, e.t.saturating_sub(last));
                last = e.t;
                buf.push(e.kind as u8);
                put_varint(&mut buf, u64::from(e.task));
                buf.push(e.attempt);
                put_varint(&mut buf, u64::from(e.aux));
                if buf.len() >= 60 * 1024 {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
        }
        out.write_all(&buf)
    }

    /// Writes the recording to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        // Whole or not at all: a failed save leaves any earlier recording at `path` as it was.
        crate::output::write(path, |out| self.write(out))
            .with_context(|| format!("cannot write the recording to {}", path.display()))
    }

    /// Reads a recording of any version this build knows.
    pub fn read(input: &mut dyn BufRead, name: &str) -> Result<Recording> {
        let mut magic = vec![0; MAGIC.len()];
        if input.read_exact(&mut magic).is_err() || magic != MAGIC {
            bail!("{name} is not a schedlab recording (make one with `schedlab --record PATH`)");
        }
        let version = read_u32(input).with_context(|| format!("{name}: truncated recording"))?;
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
        let len = read_u32(input).with_context(|| format!("{name}: truncated recording"))?;
        if len > MAX_HEADER {
            bail!("{name}: header of {len} bytes; the file is corrupt");
        }
        let mut text = vec![0; len as usize];
        input
            .read_exact(&mut text)
            .with_context(|| format!("{name}: truncated recording (in its header)"))?;
        let header: Header = serde_json::from_slice(&text)
            .with_context(|| format!("{name}: the recording's header is corrupt"))?;
        let loaded = workload::parse(&header.workload, &header.source)
            .map_err(|e| anyhow!("{name}: the recorded workload no longer loads: {e}"))?;
        let machine = ResolvedMachine {
            speeds: header.speeds.clone(),
        };
        if machine.workers() != header.events.len() || machine.workers() == 0 {
            bail!(
                "{name}: {} speeds but events for {} workers; the file is corrupt",
                machine.workers(),
                header.events.len()
            );
        }
        let plan = Plan::new(&loaded.workload, header.seed);
        let mut timeline = Timeline::new(machine.workers());
        for (w, &count) in header.events.iter().enumerate() {
            let events = &mut timeline.workers[w];
            let mut t = 0u64;
            for _ in 0..count {
                let event = read_event(input, &mut t).with_context(|| {
                    format!("{name}: truncated or corrupt recording (in core {w}'s events)")
                })?;
                if event.kind == Kind::Run && event.task as usize >= plan.total {
                    bail!(
                        "{name}: task {} is outside the workload's {} tasks; the file is corrupt",
                        event.task,
                        plan.total
                    );
                }
                events.push(event);
            }
        }
        Ok(Recording {
            header,
            loaded,
            machine,
            plan,
            timeline,
        })
    }

    /// Reads the recording at `path`.
    pub fn load(path: &Path) -> Result<Recording> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut input = io::BufReader::new(file);
        Recording::read(&mut input, &path.display().to_string())
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
}

fn read_u32(input: &mut dyn Read) -> io::Result<u32> {
    let mut bytes = [0; 4];
    input.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
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
    use super::*;

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
        assert!(err.to_string().contains("up to version 1"), "{err}");
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&1u32.to_le_bytes());
        cut.extend_from_slice(&100u32.to_le_bytes());
        cut.extend_from_slice(b"{\"sched");
        let err = Recording::read(&mut cut.as_slice(), "cut.rec").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
