//! The files a command writes: checked before the run, written in one step after it.
//!
//! [`check`] runs before any work starts, so that a mistake on the command line costs nothing:
//! no output may be the same file as an input (the workload, a recording), as another output or
//! as the file stdout is redirected to; at most one output may be `-` (stdout); and every output
//! must be a file in a folder where schedlab can create files. "The same file" is decided on
//! resolved paths (symbolic links, `./x` against `x`) and, on Unix, on device and inode numbers,
//! which also catch hard links.
//!
//! [`write`] puts a file in place atomically: the bytes go to a temporary file beside the
//! destination, which is renamed over it once complete. A run that fails or is stopped while
//! writing leaves the previous file (or none), never half of a new one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{Result, bail};

/// A file the command line names, and how to name it back in a message: the flag for an output
/// (`--json`), what it is for an input (`the workload`).
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    pub label: &'a str,
    pub path: &'a Path,
}

impl<'a> Named<'a> {
    pub fn new(label: &'a str, path: &'a Path) -> Self {
        Self { label, path }
    }

    /// Whether this names stdout rather than a file.
    pub fn is_stdout(&self) -> bool {
        is_stdout(self.path)
    }
}

/// `-`, which names stdout wherever a command takes an output path.
pub fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
}

/// Where a name leads: the resolved path, and the file's device and inode where it exists.
#[derive(Debug)]
struct Resolved {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl Resolved {
    /// Whether writing to both would mix or lose data. `/dev/null` keeps nothing, so any
    /// number of outputs may go there.
    fn same_file(&self, other: &Resolved) -> bool {
        let same = self.path == other.path || (self.id.is_some() && self.id == other.id);
        same && self.path != Path::new("/dev/null")
    }
}

#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The folder a path's file lives in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Resolves `named`, refusing what cannot be an output file: an empty path, a folder, a path
/// whose folder does not exist or is not a folder.
fn resolve(named: &Named) -> Result<Resolved> {
    let Named { label, path } = *named;
    let shown = path.display();
    if path.as_os_str().is_empty() {
        bail!("{label} needs a file path, got an empty one");
    }
    if let Ok(meta) = fs::metadata(path) {
        if meta.is_dir() {
            bail!("{label} {shown} is a folder; give the path of a file in it");
        }
        // `canonicalize` fails on a few odd files (a pipe reached through /proc), which the
        // inode still tells apart.
        let resolved = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        return Ok(Resolved {
            path: resolved,
            id: file_id(&meta),
        });
    }
    let folder = folder_of(path);
    let Some(name) = path.file_name() else {
        bail!("{label} {shown} does not name a file");
    };
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => bail!(
            "{label} {shown}: {} is a file, not a folder",
            folder.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "{label} {shown}: there is no folder {} (schedlab does not create folders)",
            folder.display()
        ),
        Err(e) => bail!("{label} {shown}: cannot reach {}: {e}", folder.display()),
    }
    let folder = fs::canonicalize(folder)?;
    Ok(Resolved {
        path: folder.join(name),
        id: None,
    })
}

/// The file stdout is redirected to, if it is a regular file: what the command prints there
/// (the summary, the table) would collide with an output written to the same file.
#[cfg(unix)]
fn stdout_file() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    let fd = io::stdout().as_fd().try_clone_to_owned().ok()?;
    let meta = File::from(fd).metadata().ok()?;
    if meta.is_file() { file_id(&meta) } else { None }
}

#[cfg(not(unix))]
fn stdout_file() -> Option<(u64, u64)> {
    None
}

/// Checks, before the run, that writing `outputs` destroys nothing and will work: see the
/// module's documentation for the rules. Each error names the flag and the path.
pub fn check(inputs: &[Named], outputs: &[Named]) -> Result<()> {
    let on_stdout: Vec<&Named> = outputs.iter().filter(|o| o.is_stdout()).collect();
    if let [first, second, ..] = on_stdout[..] {
        bail!(
            "{} and {} both write to stdout (`-`); at most one output can go there",
            first.label,
            second.label
        );
    }
    let inputs = inputs
        .iter()
        .map(|i| Ok((i, resolve(i)?)))
        .collect::<Result<Vec<_>>>()?;
    let files = outputs
        .iter()
        .filter(|o| !o.is_stdout())
        .map(|o| Ok((o, resolve(o)?)))
        .collect::<Result<Vec<_>>>()?;
    let stdout = stdout_file();
    for (k, (output, resolved)) in files.iter().enumerate() {
        if let Some((input, _)) = inputs.iter().find(|(_, r)| r.same_file(resolved)) {
            bail!(
                "{} {} is {} {}: writing there would destroy it; choose another path",
                output.label,
                output.path.display(),
                input.label,
                input.path.display()
            );
        }
        if let Some((other, _)) = files[..k].iter().find(|(_, r)| r.same_file(resolved)) {
            bail!(
                "{} {} and {} {} are the same file: one would overwrite the other",
                other.label,
                other.path.display(),
                output.label,
                output.path.display()
            );
        }
        if resolved.id.is_some() && resolved.id == stdout {
            bail!(
                "{} {} is the file stdout is redirected to, which the command also prints \
                 to; to put this output on stdout, give `{} -`",
                output.label,
                output.path.display(),
                output.label
            );
        }
    }
    for (output, resolved) in &files {
        probe(output, resolved)?;
    }
    Ok(())
}

/// Makes sure `output` can be written, without changing it: a file can be created beside it
/// (where [`write`] puts its temporary file), and an existing file may be written to.
fn probe(output: &Named, resolved: &Resolved) -> Result<()> {
    let fail = |e: io::Error| {
        anyhow::anyhow!(
            "{} {}: cannot write there: {e}",
            output.label,
            output.path.display()
        )
    };
    match fs::metadata(&resolved.path) {
        // A pipe is not opened before its time: opening and closing it would tell the reader
        // at the other end that the data is over. Devices are opened only to be written too.
        Ok(meta) if !meta.is_file() => return Ok(()),
        // Opening without truncation changes nothing, and fails where the file is read-only to
        // this user, as a later `File::create` would.
        Ok(_) => drop(
            fs::OpenOptions::new()
                .write(true)
                .open(&resolved.path)
                .map_err(fail)?,
        ),
        Err(_) => {}
    }
    temporary_beside(&resolved.path).map_err(fail)?;
    Ok(())
}

/// A new, empty temporary file in the folder of `path`, named after it (`.report.json.XXXXXX.tmp`)
/// so that one left behind by a killed process says where it came from. Unlike tempfile's
/// default 0600, it gets the permissions `File::create` would give, 0666 less the umask.
fn temporary_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder_of(path))
}

/// The temporary files being written now, removed by [`remove_unfinished`] when the process
/// leaves in the middle of a write (a second Ctrl-C).
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes the temporary files of writes still going on; for a process about to exit.
pub fn remove_unfinished() {
    let unfinished = UNFINISHED.lock().unwrap_or_else(PoisonError::into_inner);
    for path in unfinished.iter() {
        let _ = fs::remove_file(path);
    }
}

/// Writes the file at `path` with `fill`, atomically: the bytes go to a temporary file in the
/// same folder, renamed over `path` only once all of them are written. An existing file keeps
/// its permissions; a symbolic link is written through (the file it points to is replaced),
/// as `File::create` would. A device or a pipe (`/dev/null`, a FIFO) is written in place,
/// since renaming over it would replace it with a regular file.
pub fn write(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let existing = fs::metadata(path).ok();
    if let Some(meta) = &existing
        && !meta.is_file()
    {
        let mut out = BufWriter::new(File::create(path)?);
        fill(&mut out)?;
        return out.flush();
    }
    let target = match existing {
        Some(_) => fs::canonicalize(path)?,
        None => path.to_path_buf(),
    };
    let mut temp = temporary_beside(&target)?;
    if let Some(meta) = &existing {
        temp.as_file().set_permissions(meta.permissions())?;
    }
    let temp_path = temp.path().to_path_buf();
    UNFINISHED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(temp_path.clone());
    let result = (|| {
        let mut out = BufWriter::new(temp.as_file_mut());
        fill(&mut out)?;
        out.flush()?;
        drop(out);
        // On error the temporary file is removed as `temp` drops.
        temp.persist(&target).map(drop).map_err(|e| e.error)
    })();
    UNFINISHED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|p| *p != temp_path);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary directory.
    fn folder() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary folder")
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list the folder")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = folder();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").expect("write the old file");
        let result = write(&path, |out: &mut dyn Write| {
            out.write_all(b"half of a new")?;
            Err(io::Error::other("the disk is full"))
        });
        assert!(result.is_err(), "the error comes back");
        assert_eq!(fs::read_to_string(&path).expect("read"), "old");
        assert_eq!(
            entries(dir.path()),
            ["report.json"],
            "no temporary file left"
        );
    }

    #[test]
    fn a_write_replaces_the_file_whole() {
        let dir = folder();
        let path = dir.path().join("report.json");
        fs::write(&path, "a much longer old content").expect("write the old file");
        write(&path, |out: &mut dyn Write| out.write_all(b"new")).expect("written");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        assert_eq!(entries(dir.path()), ["report.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_those_of_file_create_or_of_the_file_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = folder();
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let created = dir.path().join("created");
        drop(File::create(&created).expect("create"));
        let fresh = dir.path().join("fresh");
        write(&fresh, |out: &mut dyn Write| out.write_all(b"x")).expect("written");
        assert_eq!(
            mode(&fresh),
            mode(&created),
            "a new file, as File::create makes it"
        );
        let kept = dir.path().join("kept");
        fs::write(&kept, "old").expect("write");
        fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).expect("chmod");
        write(&kept, |out: &mut dyn Write| out.write_all(b"new")).expect("written");
        assert_eq!(mode(&kept), 0o640, "a replaced file keeps its permissions");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = folder();
        let target = dir.path().join("target.json");
        let link = dir.path().join("link.json");
        fs::write(&target, "old").expect("write");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write(&link, |out: &mut dyn Write| out.write_all(b"new")).expect("written");
        assert!(
            fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink(),
            "the link stays a link"
        );
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
    }

    #[test]
    fn devices_are_written_in_place() {
        let null = Path::new("/dev/null");
        if null.exists() {
            write(null, |out: &mut dyn Write| out.write_all(b"gone")).expect("written");
            assert!(
                !fs::metadata(null).expect("metadata").is_file(),
                "still a device"
            );
        }
    }

    #[test]
    fn check_refuses_collisions_and_unwritable_places() {
        let dir = folder();
        let input = dir.path().join("w.ron");
        fs::write(&input, "workload").expect("write");
        let dotted = dir.path().join(".").join("w.ron");
        let out = dir.path().join("out.json");
        let inputs = [Named::new("the workload", &input)];
        let error = |outputs: &[Named]| check(&inputs, outputs).expect_err("refused").to_string();
        assert!(error(&[Named::new("--json", &dotted)]).contains("would destroy"));
        assert!(
            error(&[Named::new("--json", &out), Named::new("--csv", &out)])
                .contains("the same file")
        );
        let dash = Path::new("-");
        assert!(error(&[Named::new("--json", dash), Named::new("--svg", dash)]).contains("stdout"));
        assert!(error(&[Named::new("--json", dir.path())]).contains("is a folder"));
        let under_file = input.join("x.json");
        assert!(error(&[Named::new("--json", &under_file)]).contains("not a folder"));
        let nowhere = dir.path().join("nowhere").join("x.json");
        assert!(error(&[Named::new("--json", &nowhere)]).contains("no folder"));
        assert!(error(&[Named::new("--json", Path::new(""))]).contains("empty"));
        check(
            &inputs,
            &[Named::new("--json", dash), Named::new("--trace", &out)],
        )
        .expect("distinct outputs pass");
        assert_eq!(
            entries(dir.path()),
            ["w.ron"],
            "the check leaves nothing behind"
        );
    }
}
