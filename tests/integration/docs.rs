//! The workload format's reference, `docs/workload-format.md`, held against the program: it
//! documents every field, kernel and arrival the loader knows, every example workload in it
//! loads, and `schedlab man` prints it.

use ron::error::{Error, SpannedError};
use schedlab::kernels::KERNELS;
use schedlab::workload::{Arrival, fields_of};

use crate::cli::{TempPath, schedlab, stderr_of};

/// The reference, as the binary embeds it.
const DOC: &str = include_str!("../../docs/workload-format.md");

/// The ```ron blocks of `markdown`, each with the line its text starts on.
fn ron_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut open {
            None if line.trim() == "```ron" => open = Some((i + 2, String::new())),
            Some(_) if line.trim() == "```" => blocks.extend(open.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "a ```ron block is never closed");
    blocks
}

/// The kernels `schedlab list` lists, as written in RON.
fn listed_kernels() -> Vec<String> {
    let output = schedlab().arg("list").output().expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let kernels: Vec<String> = stdout
        .lines()
        .skip_while(|l| *l != "kernels:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(kernels.len() >= 15, "`list` lists the kernels:\n{stdout}");
    kernels
}

/// The fields of `name`, which must have some.
fn fields(name: &str) -> &'static [&'static str] {
    fields_of(name).unwrap_or_else(|| panic!("the loader knows the fields of {name}"))
}

#[test]
fn every_example_workload_in_the_reference_loads() {
    let blocks = ron_blocks(DOC);
    assert!(blocks.len() >= 5, "the reference shows examples");
    for (line, text) in blocks {
        // As a user would try it: saved to a file and checked.
        let file = TempPath::with_text("example.ron", &text);
        let output = schedlab().arg("check").arg(&file.0).output().expect("runs");
        assert!(
            output.status.success(),
            "the example at docs/workload-format.md:{line} loads:\n{}\n{text}",
            stderr_of(&output)
        );
    }
}

#[test]
fn the_reference_documents_every_field_kernel_and_arrival() {
    // Each struct's table has a row per field.
    for name in ["Workload", "Machine", "Group", "Faults", "Task", "Source"] {
        for field in fields(name) {
            assert!(
                DOC.contains(&format!("| `{field}` |")),
                "the reference has a row for {name}'s field `{field}`"
            );
        }
    }
    let row = |name: &str| {
        DOC.lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("the reference has a row for `{name}`"))
    };
    // Each kernel's row names its parameters with their types, as `len`: usize.
    for kernel in listed_kernels() {
        let row = row(&kernel);
        for field in fields(&kernel) {
            assert!(
                row.contains(&format!("`{field}`:")),
                "the row of `{kernel}` names its parameter `{field}`: {row}"
            );
        }
    }
    assert_eq!(
        listed_kernels().len(),
        KERNELS.len(),
        "`list` lists every kernel"
    );
    // The arrivals, as the loader knows them: an unknown one is refused with the list.
    let arrivals = match ron::from_str::<Arrival>("NoSuchArrival") {
        Err(SpannedError {
            code: Error::NoSuchEnumVariant { expected, .. },
            ..
        }) => expected,
        other => panic!("an unknown arrival is refused with the known ones: {other:?}"),
    };
    for arrival in arrivals {
        let row = row(arrival);
        for field in fields_of(arrival).unwrap_or_default() {
            assert!(
                row.contains(&format!("`{field}`:")),
                "the row of `{arrival}` names its field `{field}`: {row}"
            );
        }
    }
}

#[test]
fn schedlab_man_prints_the_reference() {
    let output = schedlab().arg("man").output().expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        page.contains("\n.SH WORKLOAD FORMAT\n"),
        "a section of the page"
    );
    // Names are in bold, as code (a kernel) or as the tag of a field's paragraph.
    for kernel in listed_kernels() {
        assert!(
            page.contains(&format!("\\fB{kernel}")),
            "`schedlab man` names the kernel {kernel}"
        );
    }
    for field in fields("Group") {
        assert!(
            page.contains(&format!(".TP\n\\fB{field}\\fR\n")),
            "`schedlab man` documents the Group field {field}"
        );
    }
    // The page written into a folder holds the reference too.
    let dir = TempPath::new("man-dir");
    let output = schedlab()
        .args(["man", "--dir"])
        .arg(&dir.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let written = std::fs::read_to_string(dir.0.join("schedlab.1")).expect("schedlab.1");
    assert_eq!(written, page, "the same page, on stdout or in a folder");
}
