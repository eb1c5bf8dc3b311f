//! Graphviz DOT: a `digraph` whose nodes are tasks, where `a -> b` means b waits for a.
//!
//! What users bring is mostly Taskflow's `dump()` (and graphs written by hand or by other
//! runtimes):
//!
//! ```dot
//! digraph Taskflow {
//! subgraph cluster_p0x7ffd1cfd9c40 {
//! label="Taskflow: p0x7ffd1cfd9c40";
//! p0x5628b5e2c9a0[label="A" ];
//! p0x5628b5e2c9a0 -> p0x5628b5e2cab0;
//! p0x5628b5e2cab0[label="B" ];
//! }
//! }
//! ```
//!
//! - Every node named anywhere (in a node statement or an edge, inside subgraphs too) is a task.
//!   Edge chains (`a -> b -> c`) give an edge per step, and a subgraph at an end of an edge
//!   (`a -> subgraph s { b c }`) stands for every node in it.
//! - A node's time is its `cost` attribute (else `weight`, `runtime` or `time`, the first
//!   given), in the graph's units; 1 where it has none. `node [cost=2]` sets it for the nodes
//!   that follow in its (sub)graph, as Graphviz applies defaults.
//! - A node's `kind` attribute is its kind; without one, its kind comes from its name.
//! - Names: Taskflow's ids are memory addresses and its labels the names the program gave its
//!   tasks, so where every node has a `label` and no two labels are the same, the labels are
//!   the tasks' names; otherwise the node ids are, and labels are left out.
//! - An undirected `graph` is refused: a dependency has a direction.
//!
//! The syntax is read by the graphviz-rust crate (a pest grammar), whose errors give the line
//! and column. It reads no anonymous subgraphs (`{a b} -> c`, `a -> {b c}`): those are syntax
//! errors, and the message says to name the subgraph (`subgraph s {b c}`) or write one edge per
//! pair. It also takes `--` in a digraph as an edge like `->`. A complaint about a task points
//! at the first place its node id is written.

use std::collections::HashMap;

use graphviz_rust::dot_structures::{
    Attribute, EdgeTy, Graph as Dot, GraphAttributes, Id, NodeId, Stmt, Vertex,
};

use crate::workload::{Loaded, WorkloadError};

use super::{Format, Graph, error, find_token, graph_tasks};

/// The attributes that may hold a node's time, the first given wins.
const TIME_ATTRIBUTES: [&str; 4] = ["cost", "weight", "runtime", "time"];

/// How deep subgraphs may nest: the parser follows them by recursion.
const MAX_NESTING: usize = 64;

/// Reads a DOT file's text as a checked workload.
pub(super) fn read(text: &str, source_name: &str) -> Result<Loaded, WorkloadError> {
    if let Some(at) = too_deep(text) {
        return Err(error(
            source_name,
            Some(crate::workload::line_col(text.as_bytes(), at)),
            format!("subgraphs nest more than {MAX_NESTING} deep here"),
        ));
    }
    let dot = graphviz_rust::parse(text).map_err(|e| syntax_error(text, source_name, &e))?;
    let (id, stmts) = match dot {
        Dot::DiGraph { id, stmts, .. } => (id, stmts),
        Dot::Graph { .. } => {
            return Err(error(
                source_name,
                find_token(text, "graph"),
                "an undirected graph: a task waits for another in one direction only; write `digraph` and `a -> b` for \"b waits for a\"",
            ));
        }
    };
    let mut nodes = Nodes::default();
    nodes.walk(&stmts, &[]);
    let names = nodes.names();
    let times = nodes
        .list
        .iter()
        .enumerate()
        .map(|(i, node)| {
            node.time().map_err(|message| {
                error(
                    source_name,
                    find_token(text, &node.written),
                    format!("task \"{}\": {message}", names[i]),
                )
            })
        })
        .collect::<Result<Vec<f64>, WorkloadError>>()?;
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); nodes.list.len()];
    for &(from, to) in &nodes.edges {
        preds[to].push(from);
    }
    let kinds = nodes
        .list
        .iter()
        .map(|n| n.attribute("kind").map(str::to_string));
    let tasks = graph_tasks(&names, kinds, times, preds);
    let graph = Graph {
        format: Format::Dot,
        tasks,
        name: None,
        what: match text_of(&id) {
            name if name.is_empty() => "DOT digraph".to_string(),
            name => format!("DOT digraph \"{name}\""),
        },
        recorded_makespan: None,
        recorded_cores: None,
    };
    graph.finish(source_name, |name| {
        let i = names.iter().position(|n| n == name)?;
        find_token(text, &nodes.list[i].written)
    })
}

/// One node of the graph, as its statements describe it.
struct Node {
    /// Its id as written (quotes included), to find it in the text.
    written: String,
    /// Its id.
    id: String,
    /// Its attributes, in the order given: defaults first, then its own; a later one wins.
    attributes: Vec<(String, String)>,
}

impl Node {
    /// The last value given to attribute `key`.
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Its time: the first time attribute given, else 1.
    fn time(&self) -> Result<f64, String> {
        let Some((key, value)) = TIME_ATTRIBUTES
            .iter()
            .find_map(|key| self.attribute(key).map(|v| (key, v)))
        else {
            return Ok(1.0);
        };
        value
            .trim()
            .parse()
            .map_err(|_| format!("its `{key}` is \"{value}\", not a number"))
    }
}

/// The nodes and edges of a graph, gathered from its statements.
#[derive(Default)]
struct Nodes {
    /// In the order they are first named.
    list: Vec<Node>,
    index: HashMap<String, usize>,
    /// (waited for, waiting), by index.
    edges: Vec<(usize, usize)>,
}

impl Nodes {
    /// Gathers `stmts`, whose nodes start with the attributes `defaults`; returns every node
    /// they name (for an edge to or from a subgraph).
    fn walk(&mut self, stmts: &[Stmt], defaults: &[(String, String)]) -> Vec<usize> {
        // `node [..]` applies to the nodes after it in this (sub)graph, and in its subgraphs.
        let mut defaults = defaults.to_vec();
        let mut named = Vec::new();
        for stmt in stmts {
            match stmt {
                Stmt::Node(node) => {
                    let i = self.node(&node.id, &defaults);
                    let node_attributes = node.attributes.iter().map(pair);
                    self.list[i].attributes.extend(node_attributes);
                    named.push(i);
                }
                Stmt::Edge(edge) => {
                    let ends: Vec<&Vertex> = match &edge.ty {
                        EdgeTy::Pair(a, b) => vec![a, b],
                        EdgeTy::Chain(chain) => chain.iter().collect(),
                    };
                    let ends: Vec<Vec<usize>> = ends
                        .into_iter()
                        .map(|end| match end {
                            Vertex::N(id) => vec![self.node(id, &defaults)],
                            Vertex::S(sub) => self.walk(&sub.stmts, &defaults),
                        })
                        .collect();
                    for step in ends.windows(2) {
                        for &from in &step[0] {
                            self.edges.extend(step[1].iter().map(|&to| (from, to)));
                        }
                    }
                    named.extend(ends.into_iter().flatten());
                }
                Stmt::Subgraph(sub) => named.extend(self.walk(&sub.stmts, &defaults)),
                Stmt::GAttribute(GraphAttributes::Node(attributes)) => {
                    defaults.extend(attributes.iter().map(pair));
                }
                // The graph's and the edges' attributes say nothing about tasks.
                Stmt::GAttribute(_) | Stmt::Attribute(_) => {}
            }
        }
        named
    }

    /// The index of the node `id`, added with `defaults` if new.
    fn node(&mut self, id: &NodeId, defaults: &[(String, String)]) -> usize {
        let name = text_of(&id.0);
        if let Some(&i) = self.index.get(&name) {
            return i;
        }
        let i = self.list.len();
        self.list.push(Node {
            written: written(&id.0).to_string(),
            id: name.clone(),
            attributes: defaults.to_vec(),
        });
        self.index.insert(name, i);
        i
    }

    /// The tasks' names: the labels, where every node has one and they are all different
    /// (Taskflow's dump); else the node ids.
    fn names(&self) -> Vec<String> {
        let labels: Option<Vec<&str>> = self
            .list
            .iter()
            .map(|n| {
                n.attribute("label")
                    .filter(|l| !l.trim().is_empty() && *l != "\\N")
            })
            .collect();
        if let Some(labels) = labels {
            let mut seen = std::collections::HashSet::with_capacity(labels.len());
            if labels.iter().all(|l| seen.insert(*l)) {
                return labels.into_iter().map(str::to_string).collect();
            }
        }
        self.list.iter().map(|n| n.id.clone()).collect()
    }
}

/// An attribute as (key, value) text.
fn pair(attribute: &Attribute) -> (String, String) {
    (text_of(&attribute.0), text_of(&attribute.1))
}

/// An id as the parser keeps it, as written in the file.
fn written(id: &Id) -> &str {
    match id {
        Id::Html(s) | Id::Escaped(s) | Id::Plain(s) | Id::Anonymous(s) => s,
    }
}

/// The text an id stands for: a quoted string without its quotes and with `\"` and line
/// continuations undone (DOT's only escapes; `\n` and the like are left to labels); an HTML
/// string without its outer `<>`.
fn text_of(id: &Id) -> String {
    match id {
        Id::Plain(s) | Id::Anonymous(s) => s.clone(),
        Id::Html(s) => s
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(s)
            .to_string(),
        Id::Escaped(s) => s
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s)
            .replace("\\\r\n", "")
            .replace("\\\n", "")
            .replace("\\\"", "\""),
    }
}

/// The parser's complaint, at its line and column, in words: pest's message ends in
/// `= expected RULE`, RULE being a name of its grammar.
fn syntax_error(text: &str, source_name: &str, message: &str) -> WorkloadError {
    let position = message.split_once("--> ").and_then(|(_, rest)| {
        let (line, rest) = rest.split_once(':')?;
        let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((line.trim().parse().ok()?, col.parse().ok()?))
    });
    let expected = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("= expected "))
        .unwrap_or("something else");
    let words = expected
        .split(", ")
        .map(|rule| match rule.trim().trim_start_matches("or ") {
            "stmt" => "a statement (a node, an edge, an attribute, a subgraph)",
            "vertex" => "a node or `subgraph NAME { ... }`",
            "graph" => "`digraph NAME { ... }`",
            "id" | "node_id" => "a name",
            "edge_tail" | "arr" => "`->`",
            "attr_list" | "attr" | "bare_attr" => "an attribute (`key=value`)",
            "body" => "`{`",
            "EOI" => "the end of the file",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let anonymous = position
        .and_then(|(line, col): (usize, usize)| {
            let line = text.lines().nth(line.checked_sub(1)?)?;
            line.chars().nth(col.checked_sub(1)?)
        })
        .is_some_and(|c| c == '{');
    let hint = if anonymous {
        " (anonymous subgraphs `{a b}` are not read: name them, `subgraph s {a b}`, or write an edge per pair)"
    } else {
        ""
    };
    error(
        source_name,
        position,
        format!("not valid DOT here: expected {words}{hint}"),
    )
}

/// Where braces first nest more than [`MAX_NESTING`] deep, as a byte offset (quoted strings
/// and comments aside).
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += text[i + 2..].find("*/").map_or(bytes.len(), |end| end + 3);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(bytes.len());
            }
            b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::import::tests::refusal;
    use crate::import::{Format, parse};
    use crate::workload::Workload;

    fn read(text: &str) -> Workload {
        parse(text, Format::Dot, "g.dot")
            .unwrap_or_else(|e| panic!("{e}"))
            .workload
    }

    fn refused(text: &str, line: usize) -> String {
        refusal(text, Format::Dot, "g.dot", line)
    }

    /// Each task as (name, kind, time, after).
    fn tasks(w: &Workload) -> Vec<(&str, &str, f64, Vec<&str>)> {
        w.tasks
            .iter()
            .map(|t| {
                let after = t.after.iter().map(String::as_str).collect();
                (t.name.as_str(), t.kind(), t.time.unwrap(), after)
            })
            .collect()
    }

    #[test]
    fn nodes_edges_chains_and_times() {
        let w = read(
            "strict digraph build {
                // a comment
                compile [cost=4, kind=\"cc\"];
                fetch -> compile -> link -> test;
                fetch -> link [style=dashed];
                test [weight=\"2.5\"]; link [runtime=3, time=9];
            }",
        );
        assert_eq!(
            tasks(&w),
            [
                ("compile", "cc", 4.0, vec!["fetch"]),
                ("fetch", "fetch", 1.0, vec![]),
                ("link", "link", 3.0, vec!["compile", "fetch"]),
                ("test", "test", 2.5, vec!["link"]),
            ]
        );
        assert_eq!(
            w.description,
            "DOT digraph \"build\": 4 tasks, 4 edges; imported from g.dot"
        );
    }

    #[test]
    fn defaults_subgraphs_and_quoted_ids() {
        let w = read(
            r#"digraph {
                node [cost=2];
                subgraph cluster_a { node [cost=5]; "x \"1\"" ; y }
                z;
                "x \"1\"" -> subgraph s { p; q [cost=0.5] } -> z;
            }"#,
        );
        assert_eq!(
            tasks(&w),
            [
                ("x \"1\"", "x \"1\"", 5.0, vec![]),
                ("y", "y", 5.0, vec![]),
                ("z", "z", 2.0, vec!["p", "q"]),
                ("p", "p", 2.0, vec!["x \"1\""]),
                ("q", "q", 0.5, vec!["x \"1\""]),
            ]
        );
    }

    #[test]
    fn taskflows_labels_name_its_tasks() {
        let w = read(include_str!("../../tests/fixtures/graphs/taskflow.dot"));
        assert_eq!(
            tasks(&w),
            [
                ("A", "A", 1.0, vec![]),
                ("B", "B", 1.0, vec!["A"]),
                ("C", "C", 1.0, vec!["A"]),
                ("E", "E", 1.0, vec!["A", "B"]),
                ("D", "D", 1.0, vec!["B", "C"]),
            ]
        );
        assert_eq!(
            w.description,
            "DOT digraph \"Taskflow\": 5 tasks, 6 edges; imported from g.dot"
        );
        // Two tasks of one name: the ids name them instead.
        let w = read("digraph { p1 [label=\"A\"]; p2 [label=\"A\"]; p1 -> p2 }");
        assert_eq!(tasks(&w)[1], ("p2", "p", 1.0, vec!["p1"]));
        // A node without a label: likewise.
        let w = read("digraph { p1 [label=\"A\"]; p1 -> p2 }");
        assert_eq!(w.tasks[0].name, "p1");
    }

    #[test]
    fn an_undirected_graph_is_refused() {
        let e = refused("// deps\ngraph G {\n  a -- b;\n}\n", 2);
        assert!(e.contains("an undirected graph"), "{e}");
    }

    #[test]
    fn syntax_errors_give_the_parsers_line_and_column() {
        let e = refused("digraph G {\n  a -> b;\n  b -> ;\n}\n", 3);
        assert!(
            e.starts_with(
                "g.dot:3:8: not valid DOT here: expected a node or `subgraph NAME { ... }`"
            ),
            "{e}"
        );
        let e = refused("digraph G {\n  a -> {b c};\n}\n", 2);
        assert!(
            e.contains("anonymous subgraphs `{a b}` are not read"),
            "{e}"
        );
        let e = refused("digrph G {}", 1);
        assert!(e.contains("expected `digraph NAME { ... }`"), "{e}");
    }

    #[test]
    fn times_must_be_numbers_finite_and_not_negative() {
        let e = refused("digraph {\n  a -> b;\n  b [cost=\"slow\"];\n}\n", 2);
        assert!(
            e.contains("task \"b\": its `cost` is \"slow\", not a number"),
            "{e}"
        );
        let e = refused("digraph {\n  a -> b;\n  b [cost=-1];\n}\n", 2);
        assert!(
            e.contains("task \"b\": `time` must be a finite number >= 0, got -1"),
            "{e}"
        );
        let e = refused("digraph {\n  a [time=\"inf\"];\n}\n", 2);
        assert!(e.contains("got inf"), "{e}");
    }

    #[test]
    fn a_cycle_is_refused_naming_its_tasks() {
        let e = refused(
            "digraph {\n  start -> a;\n  a -> b -> c;\n  c -> a;\n}\n",
            2,
        );
        assert!(
            e.contains("dependency cycle among tasks: a -> c -> b -> a"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_the_parser_recurses() {
        let text = format!(
            "digraph {{ {}a{} }}",
            "subgraph {".repeat(200),
            "}".repeat(200)
        );
        let e = parse(&text, Format::Dot, "g.dot").unwrap_err().to_string();
        assert!(e.contains("subgraphs nest more than 64 deep"), "{e}");
        let fine = format!(
            "digraph {{ {}a{} }}",
            "subgraph {".repeat(20),
            "}".repeat(20)
        );
        assert_eq!(read(&fine).tasks.len(), 1);
    }
}
