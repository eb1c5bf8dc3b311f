//! The crate's layers, held: no module reaches into one above it (kernels do not call the
//! executor, the TUI does not call the command line, the report does not call a view). Each
//! module's `crate::` paths outside its tests are read from the source and checked against
//! the order below, so a new import that breaks it fails here with the line that does.

use std::path::{Path, PathBuf};

/// Bottom to top; a module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    &["escape", "fmt", "times", "output", "manual", "clock"],
    &["kernels"],
    &["workload", "import"],
    &["plan"],
    &["costs"],
    &["record"],
    &["exec"],
    &["sim"],
    &["diagnose"],
    &["report"],
    &["session"],
    &[
        "board",
        "calibrate",
        "compare",
        "recording",
        "tour",
        "sweep",
        "export",
        "trace",
        "svg",
        "terminal",
    ],
    &["tui"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/exec/sleep.rs` is `exec`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// Every top-level module named by a `crate::` path in `code` (`crate::a::b`, and each name
/// of `crate::{a, b::c}`), with its line number.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push((n + 1, name));
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((n + 1, name));
            }
        }
    }
    out
}

#[test]
fn no_module_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name == "main.rs" || name == "lib.rs" {
            continue;
        }
        let module = module_of(&src, file);
        let Some(own) = layer(&module) else {
            broken.push(format!(
                "{}: module `{module}` has no layer",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        // Tests may reach anywhere (a module's tests, shared with other tests or not).
        let code = [
            "#[cfg(test)]\nmod tests",
            "#[cfg(test)]\npub(crate) mod tests",
        ]
        .iter()
        .filter_map(|mark| text.find(mark))
        .min()
        .map_or(text.as_str(), |end| &text[..end]);
        for (line, used) in crate_paths(code) {
            match layer(&used) {
                Some(theirs) if theirs <= own => {}
                Some(_) => broken.push(format!(
                    "{}:{line}: `{module}` uses `{used}`, a layer above it",
                    file.display()
                )),
                None => broken.push(format!("{}:{line}: `{used}` has no layer", file.display())),
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_path_reader_sees_every_form() {
    let found = crate_paths(
        "use crate::report::fmt_ns;\nuse crate::{exec, plan::Plan};\nlet x = crate::tui::run();",
    );
    let names: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(names, ["report", "exec", "plan", "tui"]);
    assert_eq!(found[3].0, 3);
}
