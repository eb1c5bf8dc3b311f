//! WfFormat, the JSON in which the WfCommons project publishes real executions of scientific
//! workflows (WfInstances: Montage, Epigenomics, BLAST, ...).
//!
//! Schema 1.5 splits a task in two: `workflow.specification.tasks[]` gives its `id`, `name`,
//! `parents` and `children`; `workflow.execution.tasks[]` gives, per `id`, the measured
//! `runtimeInSeconds`. Older instances (1.4 and before) write one list, `workflow.tasks[]`
//! (`workflow.jobs[]` up to 1.2), with `runtimeInSeconds` (or `runtime`) and `parents` inline,
//! where parents are named by `name` rather than `id`. Both are read, and a reference is
//! looked up among the ids first, then among the names.
//!
//! - A task is named by its `id` (by its `name` where it has no id). Its kind is its `category`
//!   where the file gives one (1.2 to 1.4); otherwise it comes from its `name` as from any
//!   task's (`mProject_ID0000012` → `mProject`).
//! - Its time is its measured runtime in seconds: one second is one unit of the graph's time.
//! - `parents` and `children` both give edges: their union, each edge once.
//! - The recorded run: `makespanInSeconds` (`makespan` before 1.4), and the cores of the
//!   machines the tasks ran on (`execution.tasks[].machines`, or 1.4's `machine`), added up,
//!   since the run could use them all at once; every machine listed if no task names one, and
//!   no count at all where one of them does not give its `coreCount`.
//!
//! The file is read with serde into the few fields used (the rest, files and commands, is
//! skipped); syntax and type errors carry serde_json's line and column, and a complaint about
//! a task points at the line where its id is written.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::workload::{Loaded, WorkloadError, graph::kind_of};

use super::{Format, Graph, error, graph_tasks};

/// A WfFormat file: only what the import reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    name: Option<String>,
    schema_version: Option<String>,
    workflow: Option<Workflow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Workflow {
    /// Schema 1.5: the tasks and their edges ...
    specification: Option<Specification>,
    /// ... and what the run measured.
    execution: Option<Execution>,
    /// Schema 1.3 and 1.4: the tasks, measured runtimes inline.
    tasks: Option<Vec<Task>>,
    /// Schema 1.2 and before.
    jobs: Option<Vec<Task>>,
    /// Schema 1.4.
    makespan_in_seconds: Option<f64>,
    /// Schema 1.3 and before.
    makespan: Option<f64>,
    machines: Option<Vec<Machine>>,
}

#[derive(Deserialize)]
struct Specification {
    tasks: Option<Vec<Task>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Execution {
    makespan_in_seconds: Option<f64>,
    tasks: Option<Vec<Measured>>,
    machines: Option<Vec<Machine>>,
}

/// A task as the specification (1.5) or the one list (1.4 and before) gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    id: Option<String>,
    name: Option<String>,
    category: Option<String>,
    parents: Option<Vec<String>>,
    children: Option<Vec<String>>,
    /// Inline, 1.4.
    runtime_in_seconds: Option<f64>,
    /// Inline, 1.3 and before.
    runtime: Option<f64>,
    /// The node it ran on, 1.4.
    machine: Option<String>,
}

/// What a run measured of one task (1.5).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Measured {
    id: String,
    runtime_in_seconds: Option<f64>,
    machines: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Machine {
    node_name: Option<String>,
    cpu: Option<Cpu>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cpu {
    /// 1.4 and later (a number; some writers put 48.0).
    core_count: Option<f64>,
    /// Before 1.4.
    count: Option<f64>,
}

/// Reads a WfFormat file's text as a checked workload.
pub(super) fn read(text: &str, source_name: &str) -> Result<Loaded, WorkloadError> {
    let instance: Instance = serde_json::from_str(text).map_err(|e| json_error(source_name, &e))?;
    let Some(workflow) = instance.workflow else {
        return Err(error(
            source_name,
            None,
            "no `workflow` object: a .json workload is a WfFormat (WfCommons) workflow instance, whose tasks are under `workflow`",
        ));
    };
    let (tasks, measured) = match (workflow.specification, workflow.tasks, workflow.jobs) {
        (Some(spec), _, _) => (
            spec.tasks,
            workflow.execution.as_ref().and_then(|e| e.tasks.as_deref()),
        ),
        (None, Some(tasks), _) | (None, None, Some(tasks)) => (Some(tasks), None),
        (None, None, None) => (None, None),
    };
    let tasks = tasks.filter(|t| !t.is_empty()).ok_or_else(|| {
        error(
            source_name,
            None,
            "the workflow has no tasks: a WfFormat instance lists them in `workflow.specification.tasks` (schema 1.5) or `workflow.tasks` (1.4 and before)",
        )
    })?;
    let locate = |name: &str| find_id(text, name, 0);
    let names = task_names(&tasks, text, source_name)?;
    let preds = edges(&tasks, &names, &locate, source_name)?;
    let times = runtimes(&tasks, &names, measured, text, source_name)?;
    let kinds = tasks.iter().zip(&names).map(|(t, name)| kind(t, name));
    let imported = graph_tasks(&names, kinds, times, preds);
    let machines = workflow
        .execution
        .as_ref()
        .and_then(|e| e.machines.as_deref())
        .or(workflow.machines.as_deref());
    let graph = Graph {
        format: Format::WfFormat,
        tasks: imported,
        // Some instances name themselves after their file.
        name: instance
            .name
            .map(|n| n.trim_end_matches(".json").to_string()),
        what: match &instance.schema_version {
            Some(v) => format!("WfFormat workflow (schema {v})"),
            None => "WfFormat workflow".to_string(),
        },
        recorded_makespan: workflow
            .execution
            .as_ref()
            .and_then(|e| e.makespan_in_seconds)
            .or(workflow.makespan_in_seconds)
            .or(workflow.makespan),
        recorded_cores: machines.and_then(|m| cores_used(m, &tasks, measured)),
    };
    graph.finish(source_name, locate)
}

/// serde_json's complaint, at its line and column: a syntax error, or a field of the wrong
/// type.
fn json_error(source_name: &str, e: &serde_json::Error) -> WorkloadError {
    let full = e.to_string();
    // Its text ends with "at line L column C", which the position says already.
    let what = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(what, _)| what);
    let message = if e.is_syntax() || e.is_eof() {
        format!("not valid JSON: {what}")
    } else {
        format!("not a WfFormat workflow as expected: {what}")
    };
    let position = (e.line() > 0).then(|| (e.line(), e.column()));
    error(source_name, position, message)
}

/// Each task's name (its id, or its `name` where it has none), checked to be there and unique.
fn task_names(tasks: &[Task], text: &str, source_name: &str) -> Result<Vec<String>, WorkloadError> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(tasks.len());
    let mut names = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let Some(name) = t.id.as_deref().or(t.name.as_deref()) else {
            return Err(error(
                source_name,
                None,
                format!(
                    "task {} of the workflow has neither an `id` nor a `name`",
                    i + 1
                ),
            ));
        };
        if !seen.insert(name) {
            return Err(error(
                source_name,
                find_id(text, name, 1),
                format!("two tasks have the id \"{name}\"; ids must be unique"),
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Each task's predecessors, by index: its parents, and the tasks that name it as a child.
fn edges(
    tasks: &[Task],
    names: &[String],
    locate: &impl Fn(&str) -> Option<(usize, usize)>,
    source_name: &str,
) -> Result<Vec<Vec<usize>>, WorkloadError> {
    let lookup = References::new(tasks, names);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        let unknown = |relation: &str, other: &str, why: &str| {
            error(
                source_name,
                locate(&names[i]),
                format!("task \"{}\": its {relation} \"{other}\" {why}", names[i]),
            )
        };
        for parent in t.parents.iter().flatten() {
            let p = lookup
                .find(parent)
                .map_err(|why| unknown("parent", parent, why))?;
            preds[i].push(p);
        }
        for child in t.children.iter().flatten() {
            let c = lookup
                .find(child)
                .map_err(|why| unknown("child", child, why))?;
            preds[c].push(i);
        }
    }
    Ok(preds)
}

/// Task references (`parents`, `children`) to indexes: by id first, then by name.
struct References<'a> {
    by_id: HashMap<&'a str, usize>,
    /// Names that differ from their task's id; `None` where several tasks bear the name.
    by_name: HashMap<&'a str, Option<usize>>,
}

impl<'a> References<'a> {
    fn new(tasks: &'a [Task], names: &'a [String]) -> Self {
        let by_id = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut by_name: HashMap<&str, Option<usize>> = HashMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if let Some(name) = t.name.as_deref().filter(|n| *n != names[i]) {
                by_name
                    .entry(name)
                    .and_modify(|found| *found = None)
                    .or_insert(Some(i));
            }
        }
        References { by_id, by_name }
    }

    /// The task `reference` names, or why none.
    fn find(&self, reference: &str) -> Result<usize, &'static str> {
        match (self.by_id.get(reference), self.by_name.get(reference)) {
            (Some(&i), _) | (None, Some(&Some(i))) => Ok(i),
            (None, Some(None)) => Err("is the name of several tasks"),
            (None, None) => Err("is not a task of the workflow"),
        }
    }
}

/// Each task's measured runtime: from the execution's tasks (1.5) or inline (1.4 and before).
fn runtimes(
    tasks: &[Task],
    names: &[String],
    measured: Option<&[Measured]>,
    text: &str,
    source_name: &str,
) -> Result<Vec<f64>, WorkloadError> {
    let mut by_id: HashMap<&str, f64> = HashMap::with_capacity(tasks.len());
    let known: HashSet<&str> = names.iter().map(String::as_str).collect();
    for m in measured.unwrap_or_default() {
        let Some(runtime) = m.runtime_in_seconds else {
            continue;
        };
        if !known.contains(m.id.as_str()) {
            return Err(error(
                source_name,
                find_id(text, &m.id, 0),
                format!(
                    "`workflow.execution.tasks` measures \"{}\", which is not a task of `workflow.specification.tasks`",
                    m.id
                ),
            ));
        }
        if by_id.insert(m.id.as_str(), runtime).is_some() {
            return Err(error(
                source_name,
                find_id(text, &m.id, 2),
                format!("`workflow.execution.tasks` measures \"{}\" twice", m.id),
            ));
        }
    }
    tasks
        .iter()
        .zip(names)
        .map(|(t, name)| {
            by_id
                .get(name.as_str())
                .copied()
                .or(t.runtime_in_seconds)
                .or(t.runtime)
                .ok_or_else(|| {
                    error(
                        source_name,
                        find_id(text, name, 0),
                        format!(
                            "task \"{name}\" has no measured runtime (`runtimeInSeconds`, in `workflow.execution.tasks` from schema 1.5, in the task before)"
                        ),
                    )
                })
        })
        .collect()
}

/// A task's kind: its category, else the one its `name` gives where that differs from what its
/// id would give (`None` then leaves it to the id, as for any task).
fn kind(task: &Task, name: &str) -> Option<String> {
    if let Some(category) = &task.category {
        return Some(category.clone());
    }
    let from_name = kind_of(task.name.as_deref()?);
    (from_name != kind_of(name)).then(|| from_name.to_string())
}

/// The cores the recorded run had: those of the machines its tasks ran on, added up (all the
/// machines listed where no task names one); `None` where one of them is not listed or does
/// not say.
fn cores_used(machines: &[Machine], tasks: &[Task], measured: Option<&[Measured]>) -> Option<u64> {
    let used: HashSet<&str> = measured
        .unwrap_or_default()
        .iter()
        .flat_map(|m| m.machines.iter().flatten().map(String::as_str))
        .chain(tasks.iter().filter_map(|t| t.machine.as_deref()))
        .collect();
    let cores = |m: &Machine| {
        let cpu = m.cpu.as_ref()?;
        let count = cpu.core_count.or(cpu.count)?;
        (count.is_finite() && count >= 1.0 && count.fract() == 0.0).then_some(count as u64)
    };
    let total: Option<u64> = if used.is_empty() {
        machines.iter().map(cores).sum()
    } else {
        used.iter()
            .map(|name| {
                machines
                    .iter()
                    .find(|m| m.node_name.as_deref() == Some(*name))
                    .and_then(cores)
            })
            .sum()
    };
    total.filter(|&n| n > 0)
}

/// Where the `nth` (from 0) `"id": "NAME"` (or `"name": "NAME"`, for a file without ids) is
/// written, for a message about that task.
fn find_id(text: &str, name: &str, nth: usize) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(name).ok()?;
    let is_key = |at: usize, key: &str| {
        text[..at]
            .trim_end()
            .strip_suffix(':')
            .is_some_and(|before| before.trim_end().ends_with(key))
    };
    let at = |key: &str| {
        text.match_indices(&quoted)
            .map(|(i, _)| i)
            .filter(|&i| is_key(i, key))
            .nth(nth)
    };
    at("\"id\"")
        .or_else(|| at("\"name\""))
        .map(|i| crate::workload::line_col(text.as_bytes(), i))
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{longest_path, refusal};
    use crate::import::{Format, parse};
    use crate::workload::Workload;

    fn read(text: &str) -> Workload {
        parse(text, Format::WfFormat, "w.json")
            .unwrap_or_else(|e| panic!("{e}"))
            .workload
    }

    fn refused(text: &str, line: usize) -> String {
        refusal(text, Format::WfFormat, "w.json", line)
    }

    /// A schema 1.5 instance of tasks (id, parents, children, runtime).
    fn instance(tasks: &[(&str, &[&str], &[&str], f64)]) -> String {
        let spec: Vec<String> = tasks
            .iter()
            .map(|(id, parents, children, _)| {
                format!(
                    "      {{\"id\": \"{id}\", \"name\": \"{id}\", \"parents\": {parents:?}, \"children\": {children:?}}}"
                )
            })
            .collect();
        let measured: Vec<String> = tasks
            .iter()
            .map(|(id, _, _, runtime)| {
                format!("      {{\"id\": \"{id}\", \"runtimeInSeconds\": {runtime:?}}}")
            })
            .collect();
        format!(
            "{{\n  \"name\": \"t\",\n  \"schemaVersion\": \"1.5\",\n  \"workflow\": {{\n    \"specification\": {{\"tasks\": [\n{}\n    ]}},\n    \"execution\": {{\"makespanInSeconds\": 9.5, \"tasks\": [\n{}\n    ]}}\n  }}\n}}\n",
            spec.join(",\n"),
            measured.join(",\n")
        )
    }

    #[test]
    fn a_schema_1_5_run_is_read_with_its_record() {
        let w = read(include_str!(
            "../../tests/fixtures/graphs/wfformat/montage-chameleon-2mass-005d-001.json"
        ));
        assert_eq!(w.name, "montage");
        assert_eq!(w.tasks.len(), 58);
        assert_eq!(w.tasks.iter().map(|t| t.after.len()).sum::<usize>(), 114);
        let first = &w.tasks[0];
        assert_eq!(
            (first.name.as_str(), first.kind(), first.time),
            ("mProject_ID0000001", "mProject", Some(16.712))
        );
        assert!(
            w.tasks.iter().all(|t| t.kind.is_none()),
            "kinds come from the ids"
        );
        let last = w.tasks.last().unwrap();
        assert_eq!(
            last.after,
            ["mAdd_ID0000018", "mAdd_ID0000037", "mAdd_ID0000056"]
        );
        assert!((longest_path(&w) - 21.385).abs() < 1e-9);
        let source = w.source.unwrap();
        assert_eq!(source.format, "wfformat");
        assert_eq!(source.recorded_makespan, Some(1060.0));
        assert_eq!(
            source.recorded_cores,
            Some(48),
            "the one machine the tasks ran on"
        );
        assert_eq!(
            w.description,
            "WfFormat workflow (schema 1.5): 58 tasks, 114 edges; the recorded run took 1060 s on 48 cores; imported from w.json"
        );
    }

    #[test]
    fn parents_and_children_both_give_edges_each_once() {
        let w = read(&instance(&[
            ("a", &[], &["b", "c"], 1.0),
            ("b", &["a"], &[], 2.0),
            ("c", &[], &[], 3.0),
        ]));
        assert_eq!(w.tasks[1].after, ["a"]);
        assert_eq!(w.tasks[2].after, ["a"], "from a's children alone");
    }

    #[test]
    fn an_older_instance_names_parents_by_name_and_gives_categories() {
        let w = read(
            r#"{"name": "old.json", "schemaVersion": "1.4", "workflow": {
                "makespanInSeconds": 30, "executedAt": "2021",
                "machines": [{"nodeName": "n1", "cpu": {"coreCount": 4}},
                             {"nodeName": "n2", "cpu": {"coreCount": 8}},
                             {"nodeName": "idle", "cpu": {"coreCount": 64}}],
                "tasks": [
                  {"name": "split_ID01", "id": "ID01", "category": "split", "parents": [],
                   "runtimeInSeconds": 1.5, "machine": "n1"},
                  {"name": "work_ID02", "id": "ID02", "parents": ["split_ID01"],
                   "runtimeInSeconds": 2.0, "machine": "n2"},
                  {"name": "work_ID03", "id": "ID03", "parents": ["ID01"], "runtime": 4,
                   "machine": "n2"}
                ]}}"#,
        );
        assert_eq!(w.name, "old");
        let tasks: Vec<(&str, &str, f64, Vec<&str>)> = w
            .tasks
            .iter()
            .map(|t| {
                let after = t.after.iter().map(String::as_str).collect();
                (t.name.as_str(), t.kind(), t.time.unwrap(), after)
            })
            .collect();
        assert_eq!(
            tasks,
            [
                ("ID01", "split", 1.5, vec![]),
                ("ID02", "work", 2.0, vec!["ID01"]),
                ("ID03", "work", 4.0, vec!["ID01"])
            ]
        );
        let source = w.source.unwrap();
        assert_eq!(source.recorded_makespan, Some(30.0));
        assert_eq!(
            source.recorded_cores,
            Some(12),
            "n1 and n2, not the idle machine"
        );
    }

    #[test]
    fn the_oldest_instances_list_jobs_by_name() {
        let w = read(
            r#"{"workflow": {"makespan": 5, "jobs": [
                 {"name": "a", "runtime": 1, "parents": []},
                 {"name": "b", "runtime": 2, "parents": ["a"]}]}}"#,
        );
        assert_eq!(w.name, "w", "the file's name where the instance gives none");
        assert_eq!(w.tasks[1].after, ["a"]);
        assert_eq!(w.source.unwrap().recorded_cores, None, "no machines listed");
    }

    #[test]
    fn a_file_without_a_workflow_or_tasks_is_refused() {
        let e = parse(r#"{"workload": "mixed"}"#, Format::WfFormat, "r.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.json: no `workflow` object"), "{e}");
        for text in [
            r#"{"workflow": {}}"#,
            r#"{"workflow": {"specification": {"tasks": []}, "execution": {"tasks": []}}}"#,
            r#"{"workflow": {"tasks": []}}"#,
        ] {
            let e = parse(text, Format::WfFormat, "r.json")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("r.json: the workflow has no tasks"), "{e}");
        }
    }

    #[test]
    fn syntax_and_type_errors_give_serdes_line_and_column() {
        let e = refused("{\n  \"workflow\": {\n    \"tasks\": [}\n}", 3);
        assert!(
            e.starts_with("w.json:3:15: not valid JSON: expected value"),
            "{e}"
        );
        let e = refused("{\n  \"workflow\": {\"tasks\": 5}\n}", 2);
        assert!(
            e.contains("not a WfFormat workflow as expected: invalid type: integer `5`"),
            "{e}"
        );
        let e = parse("{\"workflow\": ", Format::WfFormat, "w.json").unwrap_err();
        assert!(e.to_string().contains("EOF while parsing"), "{e}");
    }

    #[test]
    fn an_unknown_parent_or_child_is_refused_at_its_task() {
        let e = refused(
            &instance(&[("a", &[], &[], 1.0), ("b", &["x"], &[], 1.0)]),
            7,
        );
        assert!(
            e.contains("task \"b\": its parent \"x\" is not a task of the workflow"),
            "{e}"
        );
        let e = refused(&instance(&[("a", &[], &["y"], 1.0)]), 6);
        assert!(
            e.contains("task \"a\": its child \"y\" is not a task"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_ids_are_refused_at_the_second() {
        let e = refused(&instance(&[("a", &[], &[], 1.0), ("a", &[], &[], 1.0)]), 7);
        assert!(e.contains("two tasks have the id \"a\""), "{e}");
    }

    #[test]
    fn runtimes_must_be_measured_finite_and_not_negative() {
        let mut text = instance(&[("a", &[], &[], 1.0), ("b", &["a"], &[], 2.0)]);
        text = text.replace(
            "{\"id\": \"b\", \"runtimeInSeconds\": 2.0}",
            "{\"id\": \"b\"}",
        );
        let e = refused(&text, 7);
        assert!(e.contains("task \"b\" has no measured runtime"), "{e}");
        let e = refused(
            &instance(&[("a", &[], &[], 1.0), ("b", &["a"], &[], -2.0)]),
            7,
        );
        assert!(
            e.contains("task \"b\": `time` must be a finite number >= 0, got -2"),
            "{e}"
        );
        let text = instance(&[("a", &[], &[], 1.0)]).replace("1.0}", "1e999}");
        let e = parse(&text, Format::WfFormat, "w.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("number out of range"), "{e}");
        let text = instance(&[("a", &[], &[], 1.0)])
            .replace("\"id\": \"a\", \"runtime", "\"id\": \"z\", \"runtime");
        let e = refused(&text, 9);
        assert!(e.contains("measures \"z\", which is not a task"), "{e}");
    }

    #[test]
    fn a_cycle_is_refused_naming_its_tasks() {
        let e = refused(
            &instance(&[
                ("a", &["c"], &[], 1.0),
                ("b", &["a"], &[], 1.0),
                ("c", &["b"], &[], 1.0),
            ]),
            6,
        );
        assert!(
            e.contains("dependency cycle among tasks: a -> c -> b -> a"),
            "{e}"
        );
    }
}
