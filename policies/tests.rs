//! Tests every policy against the contract of [`Policy`]: no task lost or duplicated, alone and
//! under contention, plus each policy's own promise.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn machine(speeds: &[f64]) -> Machine {
    Machine {
        speeds: speeds.to_vec(),
        seed: 7,
    }
}

fn task(id: u32, cost_us: f32) -> Task {
    Task::new(id, cost_us)
}

/// Pushes `n` tasks from outside, then drains every worker with take and steal.
struct DrainAll {
    workers: usize,
    n: u32,
}

impl WithPolicy for DrainAll {
    type Output = Vec<u32>;
    fn with<P: Policy>(self) -> Vec<u32> {
        let policy = P::new(&machine(&vec![1.0; self.workers]));
        let mut locals: Vec<P::Local> = (0..self.workers).map(|w| policy.local(w)).collect();
        for id in 0..self.n {
            policy.push(None, task(id, 1.0));
        }
        let mut seen = Vec::new();
        for local in &mut locals {
            while let Some(t) = policy.take(local).or_else(|| policy.steal(local).task) {
                policy.done(local, t);
                seen.push(t.id);
            }
        }
        seen
    }
}

#[test]
fn every_policy_returns_each_pushed_task_exactly_once() {
    let n = if cfg!(miri) { 100 } else { 1000 };
    for info in ALL {
        for workers in [1, 3] {
            let mut seen = with_policy(info.name, DrainAll { workers, n }).unwrap();
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..n).collect::<Vec<_>>(),
                "{} with {workers} workers",
                info.name
            );
        }
    }
}

/// Many threads push (as workers, spawning children) and take at once.
struct Stampede {
    workers: usize,
    roots: u32,
}

impl WithPolicy for Stampede {
    type Output = Vec<u32>;
    fn with<P: Policy>(self) -> Vec<u32> {
        let policy = P::new(&machine(&vec![1.0; self.workers]));
        // Every root task spawns one child with id + roots, so half the tasks come from workers.
        let total = self.roots as usize * 2;
        let finished = AtomicUsize::new(0);
        let seen = Mutex::new(Vec::with_capacity(total));
        for id in 0..self.roots {
            policy.push(None, task(id, 1.0));
        }
        std::thread::scope(|s| {
            for w in 0..self.workers {
                let (policy, finished, seen) = (&policy, &finished, &seen);
                let mut local = policy.local(w);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while finished.load(Ordering::Acquire) < total {
                        let Some(t) = policy
                            .take(&mut local)
                            .or_else(|| policy.steal(&mut local).task)
                        else {
                            std::thread::yield_now();
                            continue;
                        };
                        if t.id < self.roots {
                            policy.push(Some(&mut local), task(t.id + self.roots, 1.0));
                        }
                        policy.done(&mut local, t);
                        mine.push(t.id);
                        finished.fetch_add(1, Ordering::AcqRel);
                    }
                    seen.lock().unwrap().extend(mine);
                });
            }
        });
        seen.into_inner().unwrap()
    }
}

#[test]
fn no_task_lost_or_duplicated_under_contention() {
    // Oversubscribed on purpose: more threads than the test machine has cores.
    let roots = if cfg!(miri) { 50 } else { 20_000 };
    for info in ALL {
        let mut seen = with_policy(info.name, Stampede { workers: 16, roots }).unwrap();
        seen.sort_unstable();
        assert_eq!(seen.len(), 2 * roots as usize, "{}", info.name);
        let unique: HashSet<u32> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{} ran a task twice", info.name);
    }
}

#[test]
fn names_and_aliases_resolve() {
    for (name, canonical) in [
        ("fifo", "fifo"),
        ("rr", "rr"),
        ("round-robin", "rr"),
        ("steal", "steal"),
        ("work-stealing", "steal"),
        ("hetero", "hetero"),
        ("heterogeneous", "hetero"),
    ] {
        assert_eq!(find(name).map(|p| p.name), Some(canonical));
    }
    assert!(find("lifo").is_none());
    assert!(with_policy("nope", DrainAll { workers: 1, n: 1 }).is_none());
}

#[test]
fn round_robin_deals_the_kth_task_to_worker_k_mod_p() {
    let rr = RoundRobin::new(&machine(&[1.0; 3]));
    let wakes: Vec<Wake> = (0..7).map(|id| rr.push(None, task(id, 1.0))).collect();
    assert_eq!(
        wakes,
        [0, 1, 2, 0, 1, 2, 0].map(Wake::Worker).to_vec(),
        "pushes are dealt cyclically"
    );
    let mut w1 = rr.local(1);
    let mine: Vec<u32> = std::iter::from_fn(|| rr.take(&mut w1))
        .map(|t| t.id)
        .collect();
    assert_eq!(mine, vec![1, 4]);
    // Never rebalances: an empty worker takes nothing from the others.
    assert_eq!(rr.steal(&mut w1).task, None);
}

#[test]
fn fifo_hands_out_in_ready_order() {
    let fifo = Fifo::new(&machine(&[1.0; 2]));
    for id in 0..5 {
        fifo.push(None, task(id, 1.0));
    }
    let mut locals = [fifo.local(0), fifo.local(1)];
    let order: Vec<u32> = (0..5)
        .map(|i| fifo.take(&mut locals[i % 2]).unwrap().id)
        .collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
}

#[test]
fn work_stealing_owner_is_lifo_and_thieves_take_the_oldest() {
    let ws = WorkStealing::new(&machine(&[1.0; 2]));
    let mut owner = ws.local(0);
    let mut thief = ws.local(1);
    for id in 0..4 {
        ws.push(Some(&mut owner), task(id, 1.0));
    }
    assert_eq!(
        ws.take(&mut owner).map(|t| t.id),
        Some(3),
        "owner pops the newest"
    );
    assert_eq!(
        ws.take(&mut thief),
        None,
        "the thief's own deque and the injector are empty"
    );
    let stolen = ws.steal(&mut thief);
    assert_eq!(
        stolen.task.map(|t| t.id),
        Some(0),
        "thieves take the oldest"
    );
    assert_eq!(stolen.victim, Some(0));
    assert_eq!(stolen.attempts, 1);
}

#[test]
fn work_stealing_keeps_the_newest_task_in_a_slot_thieves_cannot_see() {
    let ws = WorkStealing::new(&machine(&[1.0; 2]));
    let mut owner = ws.local(0);
    let mut thief = ws.local(1);
    assert_eq!(
        ws.push(Some(&mut owner), task(1, 1.0)),
        Wake::Worker(0),
        "a lone task in the slot is the owner's next: waking a thief would be for nothing"
    );
    assert_eq!(ws.steal(&mut thief).task, None, "the slot is not stealable");
    assert_eq!(ws.queued(0), 0);
    assert_eq!(
        ws.push(Some(&mut owner), task(2, 1.0)),
        Wake::Any,
        "the displaced task went to the deque"
    );
    assert_eq!(ws.queued(0), 1);
    assert_eq!(ws.steal(&mut thief).task.map(|t| t.id), Some(1));
    assert_eq!(ws.take(&mut owner).map(|t| t.id), Some(2));
    assert_eq!(ws.take(&mut owner), None);
}

#[test]
fn hetero_places_each_task_where_it_finishes_first() {
    // One fast core and one four times slower.
    let h = Hetero::new(&machine(&[1.0, 0.25]));
    let placed: Vec<Wake> = (0..5).map(|id| h.push(None, task(id, 100.0))).collect();
    // Finish times on the fast core are 100, 200, 300, 400 (a tie with the slow core's 400, won
    // by the faster core), so only the fifth task is better off on the slow core.
    assert_eq!(placed, [0, 0, 0, 0, 1].map(Wake::Worker).to_vec());
}

#[test]
fn hetero_slow_core_never_steals_from_a_fast_one() {
    let h = Hetero::new(&machine(&[1.0, 0.5]));
    let mut fast = h.local(0);
    let mut slow = h.local(1);
    // Finish times: 10 on the fast core against 20 on the slow one, then 20 against 20 (a tie,
    // won by the fast core): both go to the fast core.
    assert_eq!(h.push(None, task(0, 10.0)), Wake::Worker(0));
    assert_eq!(h.push(None, task(1, 10.0)), Wake::Worker(0));
    let slow_try = h.steal(&mut slow);
    assert_eq!(
        slow_try.task, None,
        "a slow core must not take a fast core's task"
    );
    assert_eq!(slow_try.attempts, 0, "it does not even try");
    // The third finishes at 30 on the fast core but 20 on the idle slow one.
    assert_eq!(h.push(None, task(2, 10.0)), Wake::Worker(1));
    // The fast core, done with its own, may take the slow core's task: it finishes it sooner.
    for _ in 0..2 {
        let t = h.take(&mut fast).unwrap();
        h.done(&mut fast, t);
    }
    let stolen = h.steal(&mut fast);
    assert_eq!(stolen.task.map(|t| t.id), Some(2));
    assert_eq!(stolen.victim, Some(1));
}

/// A task with a cost and an upward rank.
fn ranked(id: u32, cost_us: f32, rank_us: f32) -> Task {
    Task {
        rank_us,
        ..Task::new(id, cost_us)
    }
}

#[test]
fn critical_path_first_runs_the_highest_rank_first_and_ties_in_ready_order() {
    let cp = CriticalPathFirst::new(&machine(&[1.0, 1.0]));
    for (id, rank) in [(0, 5.0), (1, 50.0), (2, 5.0), (3, 20.0)] {
        assert_eq!(cp.push(None, ranked(id, 1.0, rank)), Wake::Any);
    }
    assert_eq!(cp.queued_shared(), 4);
    let order: Vec<u32> = std::iter::from_fn(|| cp.take(&mut ()).map(|t| t.id)).collect();
    assert_eq!(order, vec![1, 3, 0, 2]);
    assert_eq!(cp.queued_shared(), 0);
}

#[test]
fn heft_on_identical_cores_is_critical_path_first() {
    let h = Heft::new(&machine(&[1.0, 1.0, 1.0]));
    let mut me = h.local(1);
    let mut other = h.local(0);
    // Another worker is busy: a free one still takes the top task, since it finishes it first.
    h.push(None, ranked(9, 100.0, 100.0));
    let busy = h.take(&mut other).unwrap();
    for (id, rank) in [(0, 5.0), (1, 50.0), (2, 20.0)] {
        h.push(None, ranked(id, 10.0, rank));
    }
    let order: Vec<u32> = std::iter::from_fn(|| {
        h.take(&mut me).map(|t| {
            h.done(&mut me, t);
            t.id
        })
    })
    .collect();
    assert_eq!(order, vec![1, 2, 0]);
    h.done(&mut other, busy);
}

#[test]
fn heft_leaves_a_long_task_to_a_busy_fast_core_and_takes_the_next() {
    // One fast core and one four times slower.
    let h = Heft::new(&machine(&[1.0, 0.25]));
    let mut fast = h.local(0);
    let mut slow = h.local(1);
    // Both free: the first task wakes the fast core, the second the slow one.
    assert_eq!(h.push(None, ranked(0, 10.0, 1000.0)), Wake::Worker(0));
    let running = h.take(&mut fast).unwrap();
    assert_eq!(running.id, 0);
    // The fast core is busy with 10 µs. A 100 µs task takes the slow core 400 µs, the fast one
    // 110 µs after its current task: left to the fast core. A 1 µs task takes the slow core
    // 4 µs, sooner than the fast core's 11: the slow core takes it though its rank is lower.
    h.push(None, ranked(1, 100.0, 500.0));
    h.push(None, ranked(2, 1.0, 1.0));
    assert_eq!(h.take(&mut slow).map(|t| t.id), Some(2));
    h.done(&mut slow, ranked(2, 1.0, 1.0));
    assert_eq!(
        h.take(&mut slow),
        None,
        "the long task waits for the fast core"
    );
    h.done(&mut fast, running);
    assert_eq!(h.take(&mut fast).map(|t| t.id), Some(1));
}
