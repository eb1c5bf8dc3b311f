//! What the terminal front ends share: the Ctrl-C flag (a second Ctrl-C leaves at once,
//! restoring the terminal if the TUI or the sweep chart owns it), and how a crash is told.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::output;

/// Exit status of a run stopped by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The policy or the executor panicked (a task's panic is caught and counted instead).
#[derive(Debug, thiserror::Error)]
#[error(
    "the run crashed in the policy or the executor, not in a task: {0}. This is a bug in schedlab (or in a policy being written); the message above says where"
)]
pub struct Crashed(pub String);

/// Set while a full-screen view owns the terminal, so a second Ctrl-C restores it before
/// leaving.
pub(crate) static TUI_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Set by the Ctrl-C handler (installed on first use).
pub(crate) fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = flag.clone();
        // A second Ctrl-C leaves at once. If a handler cannot be installed, Ctrl-C simply keeps
        // its default meaning.
        let _ = ctrlc::set_handler(move || {
            if handler_flag.swap(true, Ordering::SeqCst) {
                if TUI_ACTIVE.load(Ordering::SeqCst) {
                    ratatui::restore();
                }
                // A file being written stays as it was; its temporary twin goes too.
                output::remove_unfinished();
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        });
        flag
    })
    .clone()
}
