//! The Standard Task Graph Set's format (Kasahara Laboratory, Waseda University): the random
//! graphs that papers on multiprocessor scheduling are measured on, with known optimal
//! schedules.
//!
//! ```text
//!      3
//!      0      0      0
//!      1      9      1      0
//!      2      4      1      0
//!      3      3      2      1      2
//!      4      0      1      3
//! # comments (generator settings, CP Length, ...)
//! ```
//!
//! The first line is the number of real tasks `n`; then `n + 2` lines `id time npred preds...`,
//! ids `0 ..= n + 1`, where 0 (the entry) and `n + 1` (the exit) are dummies of time 0 that only
//! tie the graph together: they are left out, and so are their edges, which changes nothing
//! about when any real task may start. A dummy with a time of its own, or one in the middle of
//! the graph, is kept as a task. Tasks are named by their id (`"1"` ... `"n"`, of kind `task`),
//! and a time is in the graph's units. Lines starting with `#` are comments; blank lines are
//! skipped. Every complaint names the line it is about.

use crate::workload::{GraphTask, Loaded, MAX_TASKS, WorkloadError};

use super::{Format, Graph, counted, error};

/// One task line, as read.
struct Line {
    id: usize,
    time: f64,
    preds: Vec<usize>,
}

/// Reads an STG file's text as a checked workload.
pub(super) fn read(text: &str, source_name: &str) -> Result<Loaded, WorkloadError> {
    let at = |line: usize, message: String| error(source_name, Some((line, 1)), message);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((header_at, header)) = lines.next() else {
        return Err(error(
            source_name,
            None,
            "the file is empty: an STG file starts with its number of tasks",
        ));
    };
    let n: usize = header.parse().map_err(|_| {
        at(
            header_at,
            format!("expected the number of tasks, found `{header}`"),
        )
    })?;
    // The ids are 0 ..= n + 1: no more than the file has lines can be there, and a header
    // that promises more is wrong before a table of its size is made.
    let expected = n.saturating_add(2);
    let available = text.lines().count().saturating_sub(header_at);
    if n as u64 > MAX_TASKS {
        return Err(at(
            header_at,
            format!("the header says {n} tasks; a workload holds at most {MAX_TASKS}"),
        ));
    }
    if expected > available {
        return Err(at(
            header_at,
            format!(
                "the header says {n} tasks, so {expected} task lines should follow (the entry and exit dummies included), but only {} follow it",
                counted(available, "line")
            ),
        ));
    }
    let exit = n + 1;
    let mut line_of: Vec<usize> = vec![0; expected];
    let mut read: Vec<Line> = Vec::with_capacity(expected);
    for (line_at, line) in lines {
        if read.len() == expected {
            return Err(at(
                line_at,
                format!(
                    "a task line after the {expected} that the header announces ({n} tasks and the two dummies); comments after the graph start with `#`"
                ),
            ));
        }
        let task = parse_line(line, n).map_err(|m| at(line_at, m))?;
        if line_of[task.id] != 0 {
            return Err(at(
                line_at,
                format!(
                    "task {} is defined twice: on line {} and here",
                    task.id, line_of[task.id]
                ),
            ));
        }
        line_of[task.id] = line_at;
        read.push(task);
    }
    if read.len() < expected {
        return Err(at(
            header_at,
            format!(
                "the header says {n} tasks, so {expected} task lines should follow (the entry and exit dummies included), but there are {}",
                read.len()
            ),
        ));
    }
    let tasks = real_tasks(&read, exit);
    let graph = Graph {
        format: Format::Stg,
        tasks,
        name: None,
        what: "Standard Task Graph".to_string(),
        recorded_makespan: None,
        recorded_cores: None,
    };
    graph.finish(source_name, |name| {
        let id: usize = name.parse().ok()?;
        line_of.get(id).map(|&line| (line, 1))
    })
}

/// The tasks of the graph, every id from 0 to `exit` read once: each named by its id, the
/// dummies dropped where they are what the format says (an entry of time 0 that waits for
/// nothing, an exit of time 0 that nothing waits for), with their edges.
fn real_tasks(read: &[Line], exit: usize) -> Vec<GraphTask> {
    let dummy = |id: usize| read.iter().find(|t| t.id == id);
    let drop_entry = dummy(0).is_some_and(|t| t.time == 0.0 && t.preds.is_empty());
    let drop_exit =
        dummy(exit).is_some_and(|t| t.time == 0.0) && !read.iter().any(|t| t.preds.contains(&exit));
    let dropped = |id: usize| (id == 0 && drop_entry) || (id == exit && drop_exit);
    read.iter()
        .filter(|t| !dropped(t.id))
        .map(|t| {
            let mut preds: Vec<usize> = t.preds.iter().copied().filter(|&p| !dropped(p)).collect();
            preds.sort_unstable();
            preds.dedup();
            GraphTask {
                name: t.id.to_string(),
                kind: None,
                time: Some(t.time),
                kernel: None,
                after: preds.iter().map(usize::to_string).collect(),
            }
        })
        .collect()
}

/// One task line of a graph of `n` tasks: `id time npred preds...`.
fn parse_line(line: &str, n: usize) -> Result<Line, String> {
    let exit = n + 1;
    let mut fields = line.split_whitespace();
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| format!("expected `id time npred preds...`, but the {what} is missing"))
    };
    let id_field = next("task id")?;
    let id: usize = id_field
        .parse()
        .map_err(|_| format!("expected a task id (0 to {exit}), found `{id_field}`"))?;
    if id > exit {
        return Err(format!(
            "task id {id} is out of range: the header says {n} tasks, so ids go from 0 to {exit}"
        ));
    }
    let time_field = next("processing time")?;
    let time: f64 = time_field.parse().map_err(|_| {
        format!("task {id}: expected its processing time (a number), found `{time_field}`")
    })?;
    let count_field = next("number of predecessors")?;
    let count: usize = count_field.parse().map_err(|_| {
        format!("task {id}: expected its number of predecessors, found `{count_field}`")
    })?;
    let preds = fields
        .map(|p| {
            let pred: usize = p
                .parse()
                .map_err(|_| format!("task {id}: expected a predecessor's id, found `{p}`"))?;
            if pred > exit {
                return Err(format!(
                    "task {id} waits for task {pred}, which does not exist: ids go from 0 to {exit}"
                ));
            }
            Ok(pred)
        })
        .collect::<Result<Vec<usize>, String>>()?;
    if preds.len() != count {
        return Err(format!(
            "task {id} says it has {count} predecessors but lists {}",
            preds.len()
        ));
    }
    Ok(Line { id, time, preds })
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{longest_path, refusal};
    use crate::import::{Format, parse};
    use crate::workload::Workload;

    fn read(text: &str) -> Workload {
        parse(text, Format::Stg, "g.stg")
            .unwrap_or_else(|e| panic!("{e}"))
            .workload
    }

    /// The message refusing `text`, which must point at `line`.
    fn refused(text: &str, line: usize) -> String {
        refusal(text, Format::Stg, "g.stg", line)
    }

    #[test]
    fn real_tasks_are_kept_and_the_dummies_dropped() {
        let w = read("3\n0 0 0\n1 2 1 0\n2 3.5 1 0\n3 1 2 1 2\n4 0 1 3\n# CP Length : 4\n");
        let tasks: Vec<(&str, f64, Vec<&str>)> = w
            .tasks
            .iter()
            .map(|t| {
                let after = t.after.iter().map(String::as_str).collect();
                (t.name.as_str(), t.time.unwrap(), after)
            })
            .collect();
        assert_eq!(
            tasks,
            [
                ("1", 2.0, vec![]),
                ("2", 3.5, vec![]),
                ("3", 1.0, vec!["1", "2"])
            ]
        );
        assert!(w.tasks.iter().all(|t| t.kind() == "task"));
        assert_eq!(w.name, "g");
        assert_eq!(
            w.description,
            "Standard Task Graph: 3 tasks, 2 edges; imported from g.stg"
        );
        assert_eq!(w.source.unwrap().format, "stg");
    }

    #[test]
    fn a_dummy_with_a_time_of_its_own_is_a_task() {
        let w = read("1\n0 5 0\n1 2 1 0\n2 0 1 1\n");
        let names: Vec<&str> = w.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["0", "1"]);
        assert_eq!(w.tasks[1].after, ["0"]);
    }

    #[test]
    fn a_set_graph_matches_its_own_comments() {
        let text = include_str!("../../tests/fixtures/graphs/rand0000.stg");
        let w = read(text);
        assert_eq!(w.tasks.len(), 50);
        // "# Edges : 96 / 1225 (+dummy edges : 23)" and "# CP Length : 55".
        let edges: usize = w.tasks.iter().map(|t| t.after.len()).sum();
        assert_eq!(edges, 96);
        assert_eq!(longest_path(&w), 55.0);
    }

    #[test]
    fn a_header_that_disagrees_with_the_tasks_is_refused() {
        let e = refused("4\n0 0 0\n1 2 1 0\n2 3 1 1\n3 1 1 2\n4 0 1 3\n", 1);
        assert!(
            e.contains("the header says 4 tasks, so 6 task lines"),
            "{e}"
        );
        let e = refused("2\n0 0 0\n1 2 1 0\n2 3 1 1\n3 0 1 2\n4 1 1 3\n", 6);
        assert!(e.contains("after the 4 that the header announces"), "{e}");
        // Comments between the tasks do not count; a count of lines that cannot all be
        // tasks is refused before anything that size is made.
        let e = refused("3\n0 0 0\n# a comment\n1 2 1 0\n2 3 1 1\n3 1 1 2\n", 1);
        assert!(e.contains("but there are 4"), "{e}");
        let e = refused("5\n0 0 0\n", 1);
        assert!(e.contains("7 task lines should follow"), "{e}");
        assert!(e.contains("but only 1 line follow"), "{e}");
        let e = refused("99999999999999999\n0 0 0\n", 1);
        assert!(e.contains("a workload holds at most 10000000"), "{e}");
    }

    #[test]
    fn an_unknown_predecessor_is_refused_at_its_line() {
        let e = refused("2\n0 0 0\n1 2 1 0\n2 3 1 7\n3 0 1 2\n", 4);
        assert!(
            e.contains("task 2 waits for task 7, which does not exist: ids go from 0 to 3"),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_id_is_refused_at_its_second_line() {
        let e = refused("2\n0 0 0\n1 2 1 0\n1 3 1 0\n3 0 1 1\n", 4);
        assert!(
            e.contains("task 1 is defined twice: on line 3 and here"),
            "{e}"
        );
    }

    #[test]
    fn negative_and_non_finite_times_are_refused_at_their_line() {
        let e = refused("2\n0 0 0\n1 2 1 0\n2 -3 1 1\n3 0 1 2\n", 4);
        assert!(
            e.contains("task \"2\": `time` must be a finite number >= 0, got -3"),
            "{e}"
        );
        let e = refused("2\n0 0 0\n1 NaN 1 0\n2 3 1 1\n3 0 1 2\n", 3);
        assert!(e.contains("got NaN"), "{e}");
        let e = refused("2\n0 0 0\n1 2 1 0\n2 inf 1 1\n3 0 1 2\n", 4);
        assert!(e.contains("got inf"), "{e}");
    }

    #[test]
    fn a_cycle_is_refused_naming_its_tasks() {
        let e = refused("3\n0 0 0\n1 2 2 0 3\n2 3 1 1\n3 1 1 2\n4 0 3 1 2 3\n", 3);
        assert!(
            e.contains("dependency cycle among tasks: 1 -> 3 -> 2 -> 1"),
            "{e}"
        );
        let e = refused("1\n0 0 0\n1 2 1 1\n2 0 1 1\n", 3);
        assert!(e.contains("names the task itself"), "{e}");
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        let e = refused("x\n", 1);
        assert!(e.contains("expected the number of tasks, found `x`"), "{e}");
        let e = refused("1\n0 0 0\n1 2\n2 0 1 1\n", 3);
        assert!(e.contains("the number of predecessors is missing"), "{e}");
        let e = refused("1\n0 0 0\n1 2 2 0\n2 0 1 1\n", 3);
        assert!(
            e.contains("task 1 says it has 2 predecessors but lists 1"),
            "{e}"
        );
        let e = refused("1\n0 0 0\n1 two 1 0\n2 0 1 1\n", 3);
        assert!(
            e.contains("expected its processing time (a number), found `two`"),
            "{e}"
        );
        let e = refused("1\n0 0 0\n-1 2 1 0\n2 0 1 1\n", 3);
        assert!(e.contains("expected a task id (0 to 2), found `-1`"), "{e}");
        let e = parse("\n# nothing\n", Format::Stg, "g.stg")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "g.stg: the file is empty: an STG file starts with its number of tasks"
        );
        let e = parse("0\n0 0 0\n1 0 1 0\n", Format::Stg, "g.stg")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "g.stg: the graph has no tasks");
    }
}
