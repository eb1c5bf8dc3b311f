//! The live TUI: the run unfolding per core, with its statistics, diagnostics and a table of
//! every run of the session.
//!
//! Data flows one way. An input thread forwards terminal events; the run's workers send their
//! recorded chunks; the run thread sends progress samples and the finished result. The main
//! loop receives, updates the one [`App`] state, and draws about 30 times a second. Nothing
//! here can slow a worker: they only ever send whole chunks over an unbounded channel.

pub mod app;
pub mod chart;
pub mod input;
pub mod lanes;
pub mod view;

use std::io::{IsTerminal, stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use crossbeam::channel::{self, Receiver, Sender};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;

use crate::exec::{self, Progress, RunOptions, RunResult};
use crate::plan::Plan;
use crate::record::Chunk;
use crate::workload::ResolvedMachine;
use app::App;

/// Time between frames.
const FRAME: Duration = Duration::from_millis(33);

/// What the main loop receives.
enum Msg {
    Input(crossterm::event::Event),
    Progress(Progress),
    Done(Box<RunResult>),
    /// The executor or a policy panicked (not a task: those are caught and counted).
    Crashed(String),
}

/// Restores the terminal however the TUI ends.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        crate::terminal::TUI_ACTIVE.store(false, Ordering::SeqCst);
        let _ = execute!(stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// The thread that forwards terminal events. It stops when dropped, so that a session that
/// follows (the tour's next lesson) gets every key: a reader left blocked in `read` would
/// take the next key and lose it.
pub(crate) struct Input {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Input {
    /// Forwards each terminal event, wrapped by `wrap`, to `tx`.
    pub(crate) fn spawn<T: Send + 'static>(
        tx: Sender<T>,
        wrap: fn(crossterm::event::Event) -> T,
    ) -> Result<Input> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("schedlab-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match crossterm::event::poll(Duration::from_millis(50)) {
                        Ok(false) => {}
                        Ok(true) => {
                            let sent = crossterm::event::read()
                                .is_ok_and(|event| tx.send(wrap(event)).is_ok());
                            if !sent {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            })?;
        Ok(Input {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The CPU time this thread has used, from the kernel's scheduler statistics (Linux).
pub fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// What a TUI session starts with.
pub struct Session<'a> {
    /// Workload name.
    pub workload: &'a str,
    /// What to watch for.
    pub description: &'a str,
    /// The compiled workload.
    pub plan: Plan,
    /// The machine.
    pub machine: ResolvedMachine,
    /// The policy of the first run.
    pub policy: &'static str,
    /// Pin workers to cores.
    pub pin: bool,
    /// Keep the first run's raw events (for exports).
    pub keep_events: bool,
    /// A recorded run shown first (replaying) instead of starting a run under `policy`.
    pub recorded: Option<&'a crate::recording::Recording>,
    /// The tour lesson this session teaches (its policies run instead of `policy`).
    pub lesson: Option<usize>,
    /// What runs the session's runs: the real threads or the simulator.
    pub engine: Arc<dyn crate::session::Engine + Send + Sync>,
}

/// A session for tour lesson `index`, on its shipped workload.
pub fn lesson_session(index: usize) -> Result<(crate::workload::Loaded, Plan, ResolvedMachine)> {
    lesson_session_on(index, &crate::session::Threads)
}

/// [`lesson_session`] for runs on `engine`.
pub fn lesson_session_on(
    index: usize,
    engine: &dyn crate::session::Engine,
) -> Result<(crate::workload::Loaded, Plan, ResolvedMachine)> {
    let lesson = &crate::tour::LESSONS[index];
    let loaded = crate::workload::find(lesson.workload)?;
    let machine = loaded
        .workload
        .resolve_machine_up_to(
            &crate::tour::lesson_overrides(index, engine),
            engine.max_workers(),
        )
        .map_err(anyhow::Error::msg)?;
    let plan = Plan::new(&loaded.workload, loaded.workload.seed);
    Ok((loaded, plan, machine))
}

/// Runs the TUI like [`run`]; when the user asks for the tour (`t`), its lessons follow, one
/// session each, for as long as they press `t`. Returns the first session's state (interrupted
/// if any session was).
pub fn run_with_tour(session: Session<'_>) -> Result<App> {
    let pin = session.pin;
    let engine = session.engine.clone();
    let mut first = run(session)?;
    if let Some(index) = first.next_lesson.take() {
        first.interrupted |= run_tour(index, pin, engine)?;
    }
    Ok(first)
}

/// The guided tour in the TUI from lesson `from`, one session per lesson, for as long as the
/// user presses `t`. Returns whether it was left with Ctrl-C.
pub fn run_tour(
    from: usize,
    pin: bool,
    engine: Arc<dyn crate::session::Engine + Send + Sync>,
) -> Result<bool> {
    let mut next = Some(from);
    while let Some(index) = next {
        let engine = crate::tour::engine_for(index, &engine);
        let (loaded, plan, machine) = lesson_session_on(index, engine.as_ref())?;
        let w = &loaded.workload;
        let app = run(Session {
            workload: &w.name,
            description: &w.description,
            plan,
            machine,
            policy: "steal",
            pin,
            keep_events: false,
            recorded: None,
            lesson: Some(index),
            engine,
        })?;
        if app.interrupted {
            return Ok(true);
        }
        next = app.next_lesson;
    }
    Ok(false)
}

/// Runs the TUI until the user quits, and returns its final state (the runs of the session).
pub fn run(session: Session<'_>) -> Result<App> {
    let Session {
        workload,
        description,
        plan,
        machine,
        policy,
        pin,
        keep_events,
        recorded,
        lesson,
        engine,
    } = session;
    if !stdout().is_terminal() {
        bail!("the TUI needs a terminal on stdout; use --headless");
    }
    let mut terminal = ratatui::init();
    // ratatui's hook restores the terminal on any panic; task panics are caught and expected,
    // so keep them from reaching it.
    exec::quiet_task_panics();
    let _guard = Guard;
    crate::terminal::TUI_ACTIVE.store(true, Ordering::SeqCst);
    execute!(stdout(), EnableMouseCapture)?;
    // A Ctrl-C from outside the terminal (kill -INT) arrives as a signal, not as a key.
    let interrupt = crate::terminal::interrupt_flag();

    let mut app = App::new(workload, description, plan, machine, policy);
    app.keep_events = keep_events;
    app.simulated = engine.simulated();
    if let Some(recording) = recorded {
        app.add_recorded(recording);
    }
    if let Some(index) = lesson {
        app.start_lesson(index);
    }
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (tx, rx) = channel::unbounded::<Msg>();
    let _input = Input::spawn(tx.clone(), Msg::Input)?;

    let plan = Arc::new(app.plan.clone());
    let mut stop: Option<Arc<AtomicBool>> = None;
    let mut chunks: Receiver<Chunk> = channel::never();
    let started = Instant::now();
    let cpu_at_start = thread_cpu_time();
    let mut next_frame = Instant::now();
    let mut next_diagnosis = Instant::now();
    loop {
        if let Some(policy) = app.next_run() {
            let flag = Arc::new(AtomicBool::new(false));
            let (chunk_tx, chunk_rx) = channel::unbounded();
            start_run(
                engine.clone(),
                plan.clone(),
                app.machine.clone(),
                policy,
                pin,
                flag.clone(),
                chunk_tx,
                tx.clone(),
            );
            stop = Some(flag);
            chunks = chunk_rx;
        }
        if let Some(flag) = stop.as_ref().filter(|_| app.stop_current) {
            flag.store(true, Ordering::SeqCst);
        }
        if interrupt.load(Ordering::SeqCst) && !app.quit {
            app.apply(input::Action::Interrupt);
        }
        if let Some(message) = app.crashed.take() {
            drop(_guard);
            return Err(crate::terminal::Crashed(message).into());
        }
        let timeout = next_frame.saturating_duration_since(Instant::now());
        channel::select! {
            recv(rx) -> msg => if let Ok(msg) = msg { handle(&mut app, msg, &chunks) },
            recv(chunks) -> chunk => match chunk {
                Ok(chunk) => app.add_chunk(&chunk),
                // Every worker of the run has left: stop listening, or this would spin.
                Err(_) => chunks = channel::never(),
            },
            default(timeout) => {}
        }
        if app.quit {
            if let Some(flag) = &stop {
                flag.store(true, Ordering::SeqCst);
            }
            // Let a stopped run hand back what it measured, so a report can still be written.
            let deadline = Instant::now() + Duration::from_secs(5);
            while app.running() {
                let Ok(msg) = rx.recv_deadline(deadline) else {
                    break;
                };
                if let Msg::Done(_) = msg {
                    handle(&mut app, msg, &chunks);
                }
            }
            break;
        }
        if Instant::now() >= next_frame {
            if Instant::now() >= next_diagnosis {
                app.refresh_diagnostics();
                next_diagnosis = Instant::now() + Duration::from_millis(500);
            }
            if let (Some(now), Some(start)) = (thread_cpu_time(), cpu_at_start) {
                app.ui_cpu = Some((now.saturating_sub(start), started.elapsed()));
            }
            terminal.draw(|frame| {
                // The timeline's width without its labels and statistics, for scrolling.
                app.timeline_width = app.timeline_cells(frame.area().width);
                frame.render_widget(&app, frame.area());
            })?;
            next_frame = Instant::now() + FRAME;
        }
    }
    Ok(app)
}

fn handle(app: &mut App, msg: Msg, chunks: &Receiver<Chunk>) {
    match msg {
        Msg::Input(event) => {
            if let Some(action) = input::event_action(&event) {
                app.apply(action);
            }
        }
        Msg::Progress(p) => app.progress(p),
        Msg::Crashed(message) => app.crashed = Some(message),
        Msg::Done(result) => {
            // Every worker has sent its last chunk before the run returned.
            while let Ok(chunk) = chunks.try_recv() {
                app.add_chunk(&chunk);
            }
            app.finished(&result);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn start_run(
    engine: Arc<dyn crate::session::Engine + Send + Sync>,
    plan: Arc<Plan>,
    machine: ResolvedMachine,
    policy: &'static str,
    pin: bool,
    stop: Arc<AtomicBool>,
    chunks: Sender<Chunk>,
    tx: Sender<Msg>,
) {
    let spawned = std::thread::Builder::new()
        .name("schedlab-run".into())
        .spawn(move || {
            let options = RunOptions {
                record: true,
                pin,
                stop: Some(stop),
                events: Some(chunks),
            };
            let progress_tx = tx.clone();
            let mut tick = |p: Progress| {
                let _ = progress_tx.send(Msg::Progress(p));
            };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // The engine seam every command runs through.
                engine.run(&plan, &machine, policy, &options, &mut tick)
            }));
            let msg = match run {
                Ok(Ok(result)) => Msg::Done(Box::new(result)),
                Ok(Err(e)) => Msg::Crashed(e.to_string()),
                Err(panic) => Msg::Crashed(exec::panic_message(&*panic)),
            };
            let _ = tx.send(msg);
        });
    // Without a thread for the run there is nothing to show; the OS refusing one is fatal.
    if let Err(e) = spawned {
        panic!("cannot start the run thread: {e}");
    }
}

#[cfg(test)]
mod tests;
