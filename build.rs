//! Names the commit the binary is built from, for `schedlab --version`: the short hash of the
//! git checkout's HEAD, with `-dirty` when the code differs from that commit, or `unknown` where
//! there is no git or no checkout (a source tarball).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        // Tracked files changed since that commit: the binary is not quite that commit.
        Some(head) if git(&["status", "--porcelain", "--untracked-files=no"]).is_some() => {
            format!("{head}-dirty")
        }
        Some(head) => head,
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=SCHEDLAB_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    // What goes into the binary, so an edit (or its undoing) is noticed; the index, for a
    // `git add` or a commit that makes the tree clean again.
    for path in ["src", "policies", "workloads", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    if let Some(index) = git(&["rev-parse", "--git-path", "index"]) {
        println!("cargo:rerun-if-changed={index}");
    }
    // HEAD moves when a branch is switched; the branch's ref file (or packed-refs) when a commit
    // lands. The paths come from git, so they are right in a worktree too.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
