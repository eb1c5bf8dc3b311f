//! Coverage-guided fuzzing of the workload loader: `cargo +nightly fuzz run load` from the
//! repository root (cargo-fuzz needs a nightly toolchain). Any input must load within the
//! limits or be refused with a message: never a panic, a hang or an unbounded allocation.
//! The stable, always-run counterpart is `tests/integration/fuzz_loader.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use schedlab::workload::{self, MAX_TASKS, Overrides};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match workload::parse(text, "fuzz.ron") {
        Ok(loaded) => {
            assert!(workload::total_tasks(&loaded.workload) <= MAX_TASKS);
            let _ = loaded.workload.resolve_machine(&Overrides::default());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
