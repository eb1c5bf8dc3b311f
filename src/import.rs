//! Task graphs that other tools write, read as workloads.
//!
//! Three formats (`../shared/spec/task-graphs.md` is the contract; `docs/workload-format.md`
//! tells users):
//!
//! | file | format | read by |
//! |---|---|---|
//! | `*.stg` | the Standard Task Graph Set (Kasahara Laboratory) | [`stg`] |
//! | `*.json` | WfFormat (WfCommons), schema 1.5 and the older inline form | [`wfformat`] |
//! | `*.dot`, `*.gv` | a Graphviz digraph (Taskflow's `dump()`, hand-written graphs) | [`dot`] |
//!
//! Each reader turns its file into the workload format's own task graph (a [`GraphTask`] per
//! task: its name, its time in the graph's unit, the tasks it waits for) and hands it to
//! [`Graph::finish`], which makes the workload the same way for all three: named after the file,
//! described in one line, its source recorded, and checked as any workload is, so a graph is
//! refused for what a RON file would be (a cycle, a negative time, ...), with the message pointed
//! at the line where the offending task is written. `time_unit_ns` is left out: the run applies
//! the unit (`--unit`, 1 ms by default). Nothing here panics, whatever the input: every
//! problem becomes a [`WorkloadError`] naming the file, the line and column where the format
//! has them, and what was wrong.
//!
//! [`to_ron`] writes an imported graph as a RON workload (`schedlab import`), one task per line,
//! which loads back into the same workload.

use std::path::Path;

use crate::workload::{Faults, GraphSource, GraphTask, Loaded, Machine, Workload, WorkloadError};

pub mod dot;
pub mod stg;
pub mod wfformat;

/// A task graph format, known by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.stg`: the Standard Task Graph Set.
    Stg,
    /// `.json`: a WfFormat (WfCommons) workflow instance.
    WfFormat,
    /// `.dot`, `.gv`: a Graphviz digraph.
    Dot,
}

impl Format {
    /// The format of the file at `path`, by its extension (any case); `None` for a RON workload
    /// or anything else.
    pub fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "stg" => Some(Format::Stg),
            "json" => Some(Format::WfFormat),
            "dot" | "gv" => Some(Format::Dot),
            _ => None,
        }
    }

    /// Its name in a workload's `source` and a report's: `stg`, `wfformat`, `dot`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Stg => "stg",
            Format::WfFormat => "wfformat",
            Format::Dot => "dot",
        }
    }

    /// Its name for people: `STG`, `WfFormat`, `DOT`.
    pub fn title(self) -> &'static str {
        match self {
            Format::Stg => "STG",
            Format::WfFormat => "WfFormat",
            Format::Dot => "DOT",
        }
    }
}

/// Reads the task graph in `text`, written in `format`, as a checked workload; `source_name`
/// (the path as given) names it in messages and in the workload's `source`.
///
/// # Errors
///
/// Whatever makes the file unreadable as its format, or its graph unfit to run, with the line
/// and column where the format has them.
pub fn parse(text: &str, format: Format, source_name: &str) -> Result<Loaded, WorkloadError> {
    // As for RON: an editor's byte-order mark is no part of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Stg => stg::read(text, source_name),
        Format::WfFormat => wfformat::read(text, source_name),
        Format::Dot => dot::read(text, source_name),
    }
}

/// A graph as a reader found it, before it becomes a workload.
struct Graph {
    format: Format,
    /// Every task, its `after` naming tasks only.
    tasks: Vec<GraphTask>,
    /// The workload's name where the file gives one (WfFormat's `name`); else the file's.
    name: Option<String>,
    /// What the file holds, for the description: `Standard Task Graph`, ...
    what: String,
    /// WfFormat's record of the real run: how long it took (s), on how many cores.
    recorded_makespan: Option<f64>,
    recorded_cores: Option<u64>,
}

impl Graph {
    /// The checked workload: `locate` says where the task of a name is written, for a message
    /// about it.
    fn finish(
        self,
        source_name: &str,
        locate: impl Fn(&str) -> Option<(usize, usize)>,
    ) -> Result<Loaded, WorkloadError> {
        if self.tasks.is_empty() {
            return Err(error(source_name, None, "the graph has no tasks"));
        }
        let edges: usize = self.tasks.iter().map(|t| t.after.len()).sum();
        let stem = Path::new(source_name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        let name = [self.name, stem]
            .into_iter()
            .flatten()
            .find(|n| crate::workload::name_problem(n).is_none())
            .unwrap_or_else(|| self.format.name().to_string());
        let recorded = match (self.recorded_makespan, self.recorded_cores) {
            (Some(s), Some(cores)) => format!("; the recorded run took {s} s on {cores} cores"),
            (Some(s), None) => format!("; the recorded run took {s} s"),
            (None, _) => String::new(),
        };
        let workload = Workload {
            name,
            description: format!(
                "{}: {}, {}{recorded}; imported from {source_name}",
                self.what,
                counted(self.tasks.len(), "task"),
                counted(edges, "edge")
            ),
            seed: 0,
            machine: Machine::default(),
            faults: Faults::default(),
            groups: Vec::new(),
            tasks: self.tasks,
            time_unit_ns: None,
            source: Some(GraphSource {
                format: self.format.name().to_string(),
                file: source_name.to_string(),
                recorded_makespan: self.recorded_makespan,
                recorded_cores: self.recorded_cores,
            }),
        };
        Loaded::built_at(workload, source_name, locate)
    }
}

/// `n` and `what`, in the plural unless `n` is 1: `1 edge`, `96 edges`.
fn counted(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A refusal of the file `source_name`, at `position` (1-based line and column) if known.
fn error(
    source_name: &str,
    position: Option<(usize, usize)>,
    message: impl Into<String>,
) -> WorkloadError {
    WorkloadError {
        source_name: source_name.to_string(),
        position,
        message: message.into(),
    }
}

/// Graph tasks from each task's name, kind and time, and its predecessors by index: those
/// in the order the tasks are listed, each once.
fn graph_tasks(
    names: &[String],
    kinds: impl Iterator<Item = Option<String>>,
    times: Vec<f64>,
    preds: Vec<Vec<usize>>,
) -> Vec<GraphTask> {
    names
        .iter()
        .zip(kinds)
        .zip(times)
        .zip(preds)
        .map(|(((name, kind), time), mut preds)| {
            preds.sort_unstable();
            preds.dedup();
            GraphTask {
                name: name.clone(),
                kind,
                time: Some(time),
                kernel: None,
                after: preds.into_iter().map(|p| names[p].clone()).collect(),
            }
        })
        .collect()
}

/// Where the first occurrence of `token` in `text` starts, as a line and column, where nothing
/// that could continue a name stands right before or after it (so `a1` is not found in `a12`).
fn find_token(text: &str, token: &str) -> Option<(usize, usize)> {
    let part_of_name = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    text.match_indices(token)
        .find(|&(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + token.len()..].chars().next();
            let joins = |c: Option<char>, edge: Option<char>| {
                c.is_some_and(part_of_name) && edge.is_some_and(part_of_name)
            };
            !joins(before, token.chars().next()) && !joins(after, token.chars().next_back())
        })
        .map(|(at, _)| crate::workload::line_col(text.as_bytes(), at))
}

/// The RON form of `workload` as `schedlab import` writes it: the fields one per line, a graph
/// task per line (`Task(name: "2", time: 4.0, after: ["1"])`) so a graph of 100 000 tasks
/// stays a file one can read and diff, and optional fields written bare, as the loader reads
/// them. It loads back into the same workload.
///
/// # Errors
///
/// None in practice: RON can write every workload.
pub fn to_ron(workload: &Workload) -> Result<String, ron::Error> {
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    // Depth 1 is the workload's fields, depth 2 the items of its lists: a task is one item,
    // written whole on its line.
    let pretty = ron::ser::PrettyConfig::new()
        .struct_names(true)
        .depth_limit(2);
    let mut text = options.to_string_pretty(workload, pretty)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The longest path through `w`'s task graph, in its units: its critical path (the
    /// highest upward rank the plan gives a task).
    pub(crate) fn longest_path(w: &Workload) -> f64 {
        let plan = crate::plan::Plan::new(w, 0);
        let graph = plan.graph.as_ref().expect("a task graph");
        let top_us = graph.rank_us.iter().copied().fold(0.0, f32::max);
        f64::from(top_us) * 1e3 / w.unit_ns() as f64
    }

    /// The message refusing `text` as a `format` file named `source_name`, which must point at
    /// `line` of it.
    pub(crate) fn refusal(text: &str, format: Format, source_name: &str, line: usize) -> String {
        let e = parse(text, format, source_name).expect_err("refused");
        let message = e.to_string();
        assert_eq!(
            e.position.map(|(l, _)| l),
            Some(line),
            "the message points at line {line}: {message}"
        );
        assert!(
            message.starts_with(&format!("{source_name}:{line}:")),
            "{message}"
        );
        message
    }

    /// The predecessors of task `id` (from 1) in the large test graphs: a chain, a binary
    /// tree and a skip, so edges reach far back and near.
    fn large_preds(id: usize) -> Vec<usize> {
        let mut preds = vec![id - 1, id / 2, id.saturating_sub(1000)];
        preds.retain(|&p| p >= 1 && p < id);
        preds.sort_unstable();
        preds.dedup();
        preds
    }

    /// A graph of `n` tasks in `format`, each waiting for those [`large_preds`] gives.
    fn large_graph(format: Format, n: usize) -> String {
        let time = |id: usize| id % 10 + 1;
        let mut text = String::new();
        match format {
            Format::Stg => {
                text.push_str(&format!("{n}\n0 0 0\n"));
                for id in 1..=n {
                    let preds: Vec<String> = large_preds(id).iter().map(usize::to_string).collect();
                    let preds = if preds.is_empty() {
                        vec!["0".to_string()]
                    } else {
                        preds
                    };
                    text.push_str(&format!(
                        "{id} {} {} {}\n",
                        time(id),
                        preds.len(),
                        preds.join(" ")
                    ));
                }
                text.push_str(&format!("{} 0 1 {n}\n", n + 1));
            }
            Format::WfFormat => {
                let (mut spec, mut measured) = (Vec::new(), Vec::new());
                for id in 1..=n {
                    let parents: Vec<String> = large_preds(id)
                        .iter()
                        .map(|p| format!("\"t_ID{p}\""))
                        .collect();
                    spec.push(format!(
                        "{{\"id\": \"t_ID{id}\", \"parents\": [{}], \"children\": []}}",
                        parents.join(", ")
                    ));
                    measured.push(format!(
                        "{{\"id\": \"t_ID{id}\", \"runtimeInSeconds\": {}}}",
                        time(id)
                    ));
                }
                text = format!(
                    "{{\"workflow\": {{\"specification\": {{\"tasks\": [\n{}\n]}}, \"execution\": {{\"tasks\": [\n{}\n]}}}}}}",
                    spec.join(",\n"),
                    measured.join(",\n")
                );
            }
            Format::Dot => {
                text.push_str("digraph big {\n");
                for id in 1..=n {
                    text.push_str(&format!("  n{id} [cost={}];\n", time(id)));
                    for p in large_preds(id) {
                        text.push_str(&format!("  n{p} -> n{id};\n"));
                    }
                }
                text.push_str("}\n");
            }
        }
        text
    }

    #[test]
    fn large_graphs_load_from_files_and_plan() {
        // 100 000 tasks where that is cheap; the DOT parser takes about 17 µs a node.
        let cases = [
            ("big.stg", Format::Stg, 100_000),
            ("big.json", Format::WfFormat, 100_000),
            ("big.dot", Format::Dot, 10_000),
        ];
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, format, n) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, large_graph(format, n)).expect("written");
            let loaded = crate::workload::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            let w = &loaded.workload;
            assert_eq!(w.tasks.len(), n, "{name}");
            let edges: usize = w.tasks.iter().map(|t| t.after.len()).sum();
            let expected: usize = (1..=n).map(|id| large_preds(id).len()).sum();
            assert_eq!(edges, expected, "{name}");
            assert_eq!(crate::plan::Plan::new(w, 0).total, n, "{name}");
        }
    }

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(Format::of(Path::new("a/rand0000.stg")), Some(Format::Stg));
        assert_eq!(Format::of(Path::new("m.JSON")), Some(Format::WfFormat));
        assert_eq!(Format::of(Path::new("g.gv")), Some(Format::Dot));
        assert_eq!(Format::of(Path::new("g.dot")), Some(Format::Dot));
        assert_eq!(Format::of(Path::new("mixed.ron")), None);
        assert_eq!(Format::of(Path::new("stg")), None);
    }

    #[test]
    fn tokens_are_found_whole() {
        let text = "a12 -> b\n  a1 -> a12";
        assert_eq!(find_token(text, "a1"), Some((2, 3)));
        assert_eq!(find_token(text, "a12"), Some((1, 1)));
        assert_eq!(find_token(text, "\"x\""), None);
    }

    #[test]
    fn an_imported_graph_writes_as_ron_that_loads_back_the_same() {
        let loaded = parse(
            "digraph { a -> b -> c; a -> c; b [cost=2.5, kind=\"mid\"] }",
            Format::Dot,
            "dir/g.dot",
        )
        .unwrap();
        let ron = to_ron(&loaded.workload).unwrap();
        assert!(
            ron.contains("        Task(name: \"b\", kind: \"mid\", time: 2.5, after: [\"a\"]),\n"),
            "{ron}"
        );
        let back = crate::workload::parse(&ron, "g.ron").unwrap_or_else(|e| panic!("{e}\n{ron}"));
        assert_eq!(back.workload, loaded.workload);
    }

    #[test]
    fn the_workload_is_named_after_the_file_and_says_what_it_holds() {
        let w = parse("digraph { a -> b }", Format::Dot, "x/tiny.gv")
            .unwrap()
            .workload;
        assert_eq!(w.name, "tiny");
        assert_eq!(w.time_unit_ns, None, "the run applies the unit");
        assert!(w.groups.is_empty());
        assert_eq!(
            w.description,
            "DOT digraph: 2 tasks, 1 edge; imported from x/tiny.gv"
        );
        let source = w.source.unwrap();
        assert_eq!(
            (source.format.as_str(), source.file.as_str()),
            ("dot", "x/tiny.gv")
        );
    }
}
