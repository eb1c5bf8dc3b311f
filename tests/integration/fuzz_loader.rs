//! The workload loader against hostile input: arbitrary bytes, and the shipped and invalid
//! workloads and the task graph fixtures mutated (bytes flipped, cut short, tokens and absurd
//! numbers spliced in). Nothing may panic, hang or allocate without bound: every input is
//! either loaded within the limits or refused with a message. The recording loader likewise: arbitrary bytes after a recording's
//! magic, and the shipped version 1 recording and the same run in the current version mutated.
//!
//! CI runs a few hundred cases of each; `SCHEDLAB_FUZZ_CASES=N` runs more. A coverage-guided
//! target for cargo-fuzz lives in `fuzz/` (nightly toolchain).

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use schedlab::import::Format;
use schedlab::recording::{MAGIC, Recording};
use schedlab::workload::{self, MAX_TASKS, Overrides};

fn cases() -> u32 {
    std::env::var("SCHEDLAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Every shipped and invalid workload's text.
fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["workloads", "tests/invalid"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("the folder exists"))
        .map(|entry| entry.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| std::fs::read_to_string(p).expect("UTF-8"))
        .collect()
}

/// Tokens worth splicing into a workload: absurd numbers, brackets, kernels and keywords.
const TOKENS: &[&str] = &[
    "18446744073709551615",
    "4294967296",
    "9999999999999999999999",
    "-1",
    "-0.0",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "1e-320",
    "0",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "Some(",
    "None",
    "Fib(n: 90, cutoff: 0)",
    "Sort(len: 18446744073709551615)",
    "MatMul(n: 4294967295)",
    "Blur(width: 65536, height: 65536, radius: 4294967295)",
    "Mandelbrot(width: 100000, height: 100000, max_iter: 4294967295)",
    "Train(samples: 4294967295, features: 4294967295, epochs: 4294967295)",
    "count: 18446744073709551615",
    "after: [\"g0\", \"g0\"]",
    "arrival: Every(us: 0.0)",
    "arrival: Poisson(per_sec: 1e-300)",
    "machine: Machine(workers: 1000000)",
    "speeds: [1e-300]",
    "max_retries: 4294967295",
    "\u{0}",
    "\\u{1b}[2J",
    "\u{1b}]0;title\u{7}",
    "\u{9b}",
    "\u{feff}",
    "name: \"\"",
    "speeds: [1e-9]",
    "faults: (panic_rate: 1.0, max_retries: 1000)",
    "é",
    "/*",
    "//",
    "r#\"",
    "->",
    "{",
    "}",
    "subgraph s {",
    "\n",
];

/// What a mutation does to a text.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Splice(usize, usize),
    Delete(usize, usize),
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    String::from_utf8_lossy(&mutate(text.as_bytes(), mutations)).into_owned()
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Flip(at, bits) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bits;
                }
            }
            Mutation::Cut(at) => bytes.truncate(at % len),
            Mutation::Splice(at, token) => {
                let at = (at % len).min(bytes.len());
                let token = TOKENS[token % TOKENS.len()].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            Mutation::Delete(at, n) => {
                let at = (at % len).min(bytes.len());
                let end = (at + n % 16).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(a, b)| Mutation::Flip(a, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), any::<usize>()).prop_map(|(a, t)| Mutation::Splice(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Delete(a, n)),
    ]
}

/// Every task graph fixture's text, with its format.
fn graph_seeds() -> Vec<(String, Format)> {
    fn walk(dir: &Path, out: &mut Vec<(String, Format)>) {
        for entry in std::fs::read_dir(dir).expect("the folder exists") {
            let path = entry.expect("readable").path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Some(format) = Format::of(&path) {
                out.push((std::fs::read_to_string(&path).expect("UTF-8"), format));
            }
        }
    }
    let mut seeds = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphs"),
        &mut seeds,
    );
    seeds
}

/// Loads `text` as `schedlab check` would (parse, checks, the machine and its estimates) on a
/// thread of its own; fails if that panics or takes more than a few seconds.
fn load_or_refuse(text: String) {
    load_or_refuse_as(text, None);
}

/// [`load_or_refuse`] for a RON workload (`None`) or a task graph in `format`.
fn load_or_refuse_as(text: String, format: Option<Format>) {
    let (tx, rx) = crossbeam::channel::bounded(1);
    let input = text.clone();
    std::thread::spawn(move || {
        let loaded = || match format {
            None => workload::parse(&input, "fuzz.ron"),
            Some(format) => schedlab::import::parse(&input, format, "fuzz"),
        };
        let outcome = std::panic::catch_unwind(|| match loaded() {
            Ok(loaded) => {
                let w = &loaded.workload;
                assert!(
                    workload::total_tasks(w) <= MAX_TASKS,
                    "within the task limit"
                );
                // Names reach terminals as they are: a loaded one holds no control character
                // and is not blank.
                let names = std::iter::once(&w.name)
                    .chain(w.groups.iter().map(|g| &g.name))
                    .chain(w.tasks.iter().map(|t| &t.name));
                for name in names {
                    assert!(
                        !name.chars().any(char::is_control),
                        "a name with a control character"
                    );
                    assert!(!name.trim().is_empty(), "a blank name");
                }
                let _ = w.resolve_machine(&Overrides::default());
            }
            Err(e) => {
                let message = e.to_string();
                assert!(!message.is_empty(), "a refusal says why");
                // What the command line prints of it cannot drive the terminal.
                let shown = schedlab::escape::printable_lines(&message);
                assert!(
                    !shown
                        .chars()
                        .any(|c| c.is_control() && c != '\n' && c != '\t'),
                    "a raw control character would reach the terminal"
                );
            }
        });
        let _ = tx.send(outcome.is_ok());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(true) => {}
        Ok(false) => panic!("the loader panicked on:\n{text:?}"),
        Err(_) => panic!("the loader hung on:\n{text:?}"),
    }
}

/// The shipped version 1 recording, and the same run written in the current version.
fn recordings() -> [Vec<u8>; 2] {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/faults-v1.rec");
    let v1 = std::fs::read(&path).expect("the fixture is there");
    let mut current = Vec::new();
    Recording::load(&path)
        .expect("the fixture loads")
        .write(&mut current)
        .expect("writes to memory");
    [v1, current]
}

/// Reads `bytes` as `schedlab replay` would, on a thread of its own; fails if that panics or
/// takes more than a few seconds, or if what loads does not add up.
fn read_or_refuse(bytes: Vec<u8>) {
    let (tx, rx) = crossbeam::channel::bounded(1);
    let input = bytes.clone();
    std::thread::spawn(move || {
        let outcome =
            std::panic::catch_unwind(
                || match Recording::read(&mut input.as_slice(), "fuzz.rec") {
                    Ok(recording) => {
                        let t = recording.report().tasks;
                        assert_eq!(t.completed + t.failed + t.cancelled, t.total);
                        assert_eq!(
                            recording.timeline.workers.len(),
                            recording.machine.workers()
                        );
                        let _ = recording.group_waits();
                    }
                    Err(e) => assert!(!e.to_string().is_empty(), "a refusal says why"),
                },
            );
        let _ = tx.send(outcome.is_ok());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(true) => {}
        Ok(false) => panic!("the recording loader panicked on:\n{bytes:?}"),
        Err(_) => panic!("the recording loader hung on:\n{bytes:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_after_a_recordings_magic_are_read_or_refused(
        version in 0u32..4,
        len in prop::option::of(any::<u32>()),
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut input = MAGIC.to_vec();
        input.extend_from_slice(&version.to_le_bytes());
        if let Some(len) = len {
            input.extend_from_slice(&(len % 1024).to_le_bytes());
        }
        input.extend_from_slice(&bytes);
        read_or_refuse(input);
    }

    #[test]
    fn mutated_recordings_are_read_or_refused(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let recordings = recordings();
        read_or_refuse(mutate(&recordings[which.index(recordings.len())], &mutations));
    }

    #[test]
    fn arbitrary_bytes_are_loaded_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        load_or_refuse(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn mutated_task_graphs_are_loaded_or_refused(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = graph_seeds();
        let (text, format) = &seeds[seed.index(seeds.len())];
        load_or_refuse_as(apply(text, &mutations), Some(*format));
    }

    #[test]
    fn mutated_workloads_are_loaded_or_refused(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let text = apply(&seeds[seed.index(seeds.len())], &mutations);
        load_or_refuse(text);
    }
}

#[test]
fn deep_nesting_and_huge_inputs_are_refused_without_overflowing_the_stack() {
    for text in [
        format!(
            "(name: \"x\", groups: {}{})",
            "[".repeat(50_000),
            "]".repeat(50_000)
        ),
        format!(
            "(name: \"x\", description: \"{}\", groups: [])",
            "a".repeat(5_000_000)
        ),
        format!(
            "(name: \"x\", groups: [{}])",
            "(name: \"g\", kernel: Spin(us: 1.0), count: 1),".repeat(20_000)
        ),
        format!("({})", "Some(".repeat(50_000)),
    ] {
        load_or_refuse(text);
    }
}
