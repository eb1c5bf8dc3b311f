//! One pipeline under every command: load → machine → plan → engine → results. The command
//! line, the sweep, the tour, the tests and the benches build a [`Session`] and run it on an
//! [`Engine`]; the real threads are one engine ([`Threads`]), and the simulator plugs in beside
//! them as another.

use anyhow::Result;

use crate::exec::{self, PolicyEngine, Progress, RunError, RunOptions, RunResult};
use crate::plan::Plan;
use crate::report::Report;
use crate::workload::{self, Loaded, Overrides, ResolvedMachine, Workload};

/// What runs a plan: real threads, or the simulator in virtual time. Every
/// [`PolicyEngine`] is one: the policy is found by its name.
pub trait Engine {
    /// Runs `plan` on `machine` under the policy called `policy`.
    ///
    /// # Errors
    ///
    /// No policy has that name, or the engine could not start.
    fn run(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        policy: &str,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError>;

    /// Whether runs are simulated (virtual time) rather than real.
    fn simulated(&self) -> bool;

    /// The most workers a run may have.
    fn max_workers(&self) -> usize;
}

pub use crate::exec::Threads;

impl<E: PolicyEngine> Engine for E {
    fn run(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        policy: &str,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError> {
        exec::run_named(self, plan, machine, policy, options, on_tick)
    }

    fn simulated(&self) -> bool {
        E::SIMULATED
    }

    fn max_workers(&self) -> usize {
        E::MAX_WORKERS
    }
}

/// A workload made ready to run: loaded and checked, its machine resolved against the
/// command line's overrides, its plan compiled with the seed in force.
pub struct Session {
    /// The workload and where it came from.
    pub loaded: Loaded,
    /// The machine the runs have.
    pub machine: ResolvedMachine,
    /// The compiled plan.
    pub plan: Plan,
}

impl Session {
    /// The workload `arg` names (a file, or a shipped workload's name), with `overrides`.
    ///
    /// # Errors
    ///
    /// The workload cannot be found or loaded, or the overrides do not fit it.
    pub fn load(arg: &str, overrides: &Overrides) -> Result<Session> {
        Session::of(workload::find(arg)?, overrides)
    }

    /// [`Session::load`] for runs on `engine`.
    ///
    /// # Errors
    ///
    /// As [`Session::load`], with the engine's limit on workers.
    pub fn load_for(arg: &str, overrides: &Overrides, engine: &dyn Engine) -> Result<Session> {
        Session::of_for(workload::find(arg)?, overrides, engine)
    }

    /// A workload built in code, checked as a file's would be.
    ///
    /// # Errors
    ///
    /// What a file holding it would be refused for, or the overrides do not fit it.
    pub fn built(w: Workload, overrides: &Overrides) -> Result<Session> {
        let name = w.name.clone();
        Session::of(Loaded::built(w, &name)?, overrides)
    }

    /// `loaded`, with `overrides`.
    ///
    /// # Errors
    ///
    /// The overrides do not fit the workload.
    pub fn of(loaded: Loaded, overrides: &Overrides) -> Result<Session> {
        Session::of_for(loaded, overrides, &Threads)
    }

    /// `loaded`, with `overrides`, for runs on `engine` (which sets the most workers).
    ///
    /// # Errors
    ///
    /// The overrides do not fit the workload or the engine.
    pub fn of_for(
        mut loaded: Loaded,
        overrides: &Overrides,
        engine: &dyn Engine,
    ) -> Result<Session> {
        if let Some(unit_ns) = overrides.unit_ns {
            if loaded.workload.tasks.is_empty() {
                anyhow::bail!(
                    "{}: --unit sets what one unit of a task graph's time becomes, and this workload has no task graph (an imported .stg, .json or .dot file, or a workload with `tasks`)",
                    loaded.source_name
                );
            }
            loaded.workload.time_unit_ns = Some(unit_ns);
            // The same checks as a file with this unit (a task over an hour, say).
            loaded = Loaded::built(loaded.workload, &loaded.source_name)?;
        }
        let machine = loaded
            .workload
            .resolve_machine_up_to(overrides, engine.max_workers())
            .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source_name))?;
        let seed = overrides.seed.unwrap_or(loaded.workload.seed);
        let plan = Plan::new(&loaded.workload, seed);
        Ok(Session {
            loaded,
            machine,
            plan,
        })
    }

    /// Runs the session once under `policy` on the real threads.
    ///
    /// # Errors
    ///
    /// See [`Engine::run`].
    pub fn run(
        &self,
        policy: &str,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError> {
        self.run_on(&Threads, policy, options, on_tick)
    }

    /// Runs the session once under `policy` on `engine`.
    ///
    /// # Errors
    ///
    /// See [`Engine::run`].
    pub fn run_on(
        &self,
        engine: &dyn Engine,
        policy: &str,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError> {
        engine.run(&self.plan, &self.machine, policy, options, on_tick)
    }

    /// The report of `run`, one of this session's runs.
    pub fn report(&self, run: &RunResult) -> Report {
        let w = &self.loaded.workload;
        Report::new(&w.name, &w.description, &self.plan, &self.machine, run)
    }
}
