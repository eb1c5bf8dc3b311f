//! The live view's cost: one frame of the TUI for 16 cores at 200×60, drawn from a finished
//! run of 20 000 tasks (the view bins time, so a frame costs the same however many tasks ran).
//!
//! `cargo bench --bench tui`. Target: ≤ 1 ms a frame.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::*;
use schedlab::exec::{self, RunOptions};
use schedlab::tui::app::App;

/// A TUI session holding one finished, recorded 16-worker run of `mixed`-like work.
pub fn session() -> App {
    let b = bench(
        r#"(name: "frame", groups: [
            (name: "small", kernel: Spin(us: 2.0), count: 16000),
            (name: "sort", kernel: Sort(len: 2000), count: 2000),
            (name: "io", kernel: Sleep(us: 50.0), count: 2000),
        ])"#,
        16,
    );
    let mut app = App::new("frame", "a 16-core run", b.plan, b.machine, "steal");
    let policy = app.next_run().expect("the first run");
    let (tx, rx) = crossbeam::channel::unbounded();
    let options = RunOptions {
        record: true,
        events: Some(tx),
        ..RunOptions::default()
    };
    let result = exec::run(&app.plan, &app.machine, policy, &options, &mut |_| {}).expect("known");
    drop(options);
    for chunk in rx.try_iter() {
        app.add_chunk(&chunk);
    }
    app.finished(&result);
    app.refresh_diagnostics();
    app
}

fn frame(c: &mut Criterion) {
    let mut app = session();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("a test terminal");
    c.bench_function("TUI frame, 16 cores at 200x60", |bench| {
        bench.iter(|| {
            terminal
                .draw(|f| {
                    app.timeline_width = app.timeline_cells(f.area().width);
                    f.render_widget(&app, f.area());
                })
                .expect("draws");
            black_box(terminal.backend().buffer().area);
        });
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
