//! Kernels: the real work one task does.
//!
//! A workload names a [`Kernel`] per group (`Sort(len: 200000)`, `Blur(width: 256, height: 256,
//! radius: 2)`, ...). [`Kernel::run`] does that work for real on the calling thread: it
//! generates its input from the run's seed and the task's index, computes, and returns a
//! checksum of the result, so a replayed run does exactly the same work and the optimiser
//! cannot delete it. Kernels are what a scheduling policy is up against: short and long,
//! compute-bound and blocking, uniform and uneven (`Mandelbrot` frames differ in cost), flat and
//! nested (`Fib` forks; the executor spawns its children, `run` computes only the leaves).
//!
//! # Calibration
//!
//! Policies such as `hetero` want to know how long a task will take before running it, so every
//! kernel has a cost estimate, [`Kernel::estimate_us`], in µs on a speed-1.0 core. `Spin`,
//! `Sleep` and `Request` are specified in µs, so their estimate is their parameter; `Spin` and
//! `Request` turn µs into an amount of work with a rate measured once per process
//! ([`spin_iters_per_us`], and the payload bytes per µs of `Request`). Every other kernel has a
//! cost model in abstract units (`len·log₂len` for `Sort`, `n³` for `MatMul`, ...) and a
//! coefficient, µs per unit, measured lazily the first time an estimate of that kind is asked
//! for: a small instance is run three times and the fastest run counts, because on a shared
//! machine noise only ever makes a run slower. Each kind calibrates in about a millisecond, so
//! asking for every estimate costs a few tens of milliseconds once. Estimates are good to
//! about 2× for sizes in the normal range; caches make very large inputs somewhat slower per
//! unit than the small calibration instances.
//!
//! [`Kernel::validate`] checks parameters before anything runs, including a per-task memory
//! limit ([`Kernel::memory_bytes`]), so a typo'd `Sort(len: 10000000000)` is an error message,
//! not an out-of-memory abort.

pub mod fib;
mod work;

thread_local! {
    /// The flag that asks the kernels running on this thread to give up (see [`stop_with`]).
    static STOP: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// From now on, kernels run on this thread give up early once `flag` is set (`None`: never).
///
/// A kernel can run for minutes (a large `MatMul`, a `Spin` of an hour, a `Sleep`); the run
/// sets the flag when it is interrupted, and every long loop of every kernel looks at it often
/// (every few milliseconds of work at most), so Ctrl-C ends a run within a second whatever its
/// tasks are doing. A kernel that gives up returns a meaningless result: the executor counts
/// such an attempt as unfinished, never as done.
pub fn stop_with(flag: Option<Arc<AtomicBool>>) {
    STOP.with(|s| *s.borrow_mut() = flag);
}

/// Whether the kernels on this thread were asked to give up.
#[inline]
pub fn stopped() -> bool {
    STOP.with(|s| {
        s.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    })
}

/// Sleeps for `d`, in slices short enough to notice [`stopped`] within a fraction of a second.
pub fn interruptible_sleep(d: Duration) {
    const SLICE: Duration = Duration::from_millis(20);
    let until = Instant::now() + d;
    loop {
        let now = Instant::now();
        if now >= until || stopped() {
            return;
        }
        std::thread::sleep((until - now).min(SLICE));
    }
}

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use work::Fold;

/// The real work one task does. Deserialised from RON, e.g. `Request(cpu_us: 200.0, io_us: 300.0)`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Kernel {
    /// A calibrated pure compute loop of about `us` µs.
    Spin { us: f64 },
    /// Blocks the thread for `us` µs, like waiting for I/O.
    Sleep { us: f64 },
    /// Parses and hashes a generated payload (about `cpu_us` of CPU), then blocks `io_us`.
    Request { cpu_us: f64, io_us: f64 },
    /// Sorts `len` pseudo-random u64.
    Sort { len: usize },
    /// Scans `len` generated records for matches.
    Search { len: usize },
    /// Mean, variance and a histogram of `len` samples.
    Analyze { len: usize },
    /// Hashes a generated buffer of `bytes` bytes.
    Hash { bytes: usize },
    /// An `n`×`n` f64 matrix product.
    MatMul { n: usize },
    /// Box blur of a generated grayscale image.
    Blur {
        width: usize,
        height: usize,
        radius: usize,
    },
    /// 3×3 sharpen of a generated grayscale image.
    Sharpen { width: usize, height: usize },
    /// Sobel edge detection on a generated grayscale image.
    Edge { width: usize, height: usize },
    /// Renders one frame of a Mandelbrot zoom; the view depends on the task index.
    Mandelbrot {
        width: usize,
        height: usize,
        max_iter: u32,
    },
    /// `steps` Jacobi steps of 1D heat diffusion over `cells` cells.
    Stencil { cells: usize, steps: usize },
    /// SGD linear regression on generated `samples`×`features` data for `epochs` epochs.
    Train {
        samples: usize,
        features: usize,
        epochs: usize,
    },
    /// Fork-join Fibonacci: the executor spawns two children while `n > cutoff`; leaves
    /// compute fib(n) by naive recursion.
    Fib { n: u32, cutoff: u32 },
}

/// One line per kernel for `schedlab list`: (name as written in RON, one-line description).
pub const KERNELS: &[(&str, &str)] = &[
    (
        "Spin",
        "Spin(us): calibrated pure compute loop of about `us` µs",
    ),
    (
        "Sleep",
        "Sleep(us): blocks the thread `us` µs, like waiting for I/O",
    ),
    (
        "Request",
        "Request(cpu_us, io_us): parse and hash a generated payload, then block `io_us`",
    ),
    ("Sort", "Sort(len): sort `len` pseudo-random u64"),
    (
        "Search",
        "Search(len): scan `len` generated records for matches",
    ),
    (
        "Analyze",
        "Analyze(len): mean, variance and a 32-bin histogram of `len` samples",
    ),
    ("Hash", "Hash(bytes): FNV-1a hash of a generated buffer"),
    ("MatMul", "MatMul(n): n×n f64 matrix product"),
    (
        "Blur",
        "Blur(width, height, radius): box blur of a generated image",
    ),
    (
        "Sharpen",
        "Sharpen(width, height): 3×3 sharpen of a generated image",
    ),
    (
        "Edge",
        "Edge(width, height): Sobel edge detection on a generated image",
    ),
    (
        "Mandelbrot",
        "Mandelbrot(width, height, max_iter): one frame of a zoom; costs differ per frame",
    ),
    (
        "Stencil",
        "Stencil(cells, steps): 1D heat diffusion, `steps` Jacobi sweeps",
    ),
    (
        "Train",
        "Train(samples, features, epochs): SGD linear regression on generated data",
    ),
    (
        "Fib",
        "Fib(n, cutoff): fork-join Fibonacci, sequential below `cutoff`",
    ),
];

/// The most memory one task may allocate.
const MAX_TASK_BYTES: u64 = 1 << 30;
/// The longest duration parameter accepted: one hour, in µs.
const MAX_DURATION_US: f64 = 3.6e9;
/// The largest blur radius: far beyond any useful blur, and it keeps the window sums in u32.
const MAX_RADIUS: usize = 65_536;
/// The largest `Fib` n: fib(60) fits easily in u64, and its call tree already has 5·10¹² nodes.
const MAX_FIB_N: u32 = 60;
/// Estimated cost of a `Fib` task above the cutoff, whose only work is to spawn its children.
const FIB_SPAWN_US: f64 = 0.05;

impl Kernel {
    /// The RON variant name, e.g. "Blur".
    #[must_use]
    pub fn name(&self) -> &'static str {
        KERNELS[self.kind()].0
    }

    /// Position of this variant in [`KERNELS`] (and in the calibration table).
    fn kind(&self) -> usize {
        match self {
            Kernel::Spin { .. } => 0,
            Kernel::Sleep { .. } => 1,
            Kernel::Request { .. } => 2,
            Kernel::Sort { .. } => 3,
            Kernel::Search { .. } => 4,
            Kernel::Analyze { .. } => 5,
            Kernel::Hash { .. } => 6,
            Kernel::MatMul { .. } => 7,
            Kernel::Blur { .. } => 8,
            Kernel::Sharpen { .. } => 9,
            Kernel::Edge { .. } => 10,
            Kernel::Mandelbrot { .. } => 11,
            Kernel::Stencil { .. } => 12,
            Kernel::Train { .. } => 13,
            Kernel::Fib { .. } => 14,
        }
    }

    /// This kernel with its size parameter scaled by `factor` (jitter; factor in (0, 2)).
    ///
    /// Spin/Sleep: `us`; Request: `cpu_us` and `io_us`; Sort/Search/Analyze: `len`; Hash:
    /// `bytes`; `MatMul`: `n`; Blur/Sharpen/Edge/Mandelbrot: `height`; Stencil: `cells`; Train:
    /// `samples`; Fib: unchanged (its size is the shape of the task tree). Integer sizes round
    /// to nearest and never drop below 1.
    #[must_use]
    pub fn scaled(&self, factor: f64) -> Kernel {
        // `as` saturates (and maps NaN to 0), so this cannot overflow; max(1) keeps sizes legal.
        let size = |x: usize| ((x as f64 * factor).round() as usize).max(1);
        let mut k = self.clone();
        match &mut k {
            Kernel::Spin { us } | Kernel::Sleep { us } => *us *= factor,
            Kernel::Request { cpu_us, io_us } => {
                *cpu_us *= factor;
                *io_us *= factor;
            }
            Kernel::Sort { len } | Kernel::Search { len } | Kernel::Analyze { len } => {
                *len = size(*len);
            }
            Kernel::Hash { bytes } => *bytes = size(*bytes),
            Kernel::MatMul { n } => *n = size(*n),
            Kernel::Blur { height, .. }
            | Kernel::Sharpen { height, .. }
            | Kernel::Edge { height, .. }
            | Kernel::Mandelbrot { height, .. } => *height = size(*height),
            Kernel::Stencil { cells, .. } => *cells = size(*cells),
            Kernel::Train { samples, .. } => *samples = size(*samples),
            Kernel::Fib { .. } => {}
        }
        k
    }

    /// Checks the parameters; the message names the field and says what was expected.
    ///
    /// Durations must be finite, ≥ 0 and at most an hour; sizes ≥ 1 (a blur `radius` may be 0,
    /// up to 65536); `max_iter`, `steps` and `epochs` ≥ 1; `Fib`'s `n` at most 60 (any
    /// `cutoff`: one ≥ n makes the root a leaf). Finally [`Kernel::memory_bytes`] must be at
    /// most 1 GiB, and must not overflow.
    ///
    /// # Errors
    ///
    /// The first problem found, as a sentence naming the field, e.g. "`us` must be a finite
    /// number >= 0, got -5", or for memory "`len` = 200000000 needs about 1526 MiB per task,
    /// over the limit of 1024 MiB".
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Kernel::Spin { us } | Kernel::Sleep { us } => duration("us", us)?,
            Kernel::Request { cpu_us, io_us } => {
                duration("cpu_us", cpu_us)?;
                duration("io_us", io_us)?;
            }
            Kernel::Sort { len } | Kernel::Search { len } | Kernel::Analyze { len } => {
                positive("len", len)?;
            }
            Kernel::Hash { bytes } => positive("bytes", bytes)?,
            Kernel::MatMul { n } => positive("n", n)?,
            Kernel::Blur {
                width,
                height,
                radius,
            } => {
                positive("width", width)?;
                positive("height", height)?;
                if radius > MAX_RADIUS {
                    return Err(format!(
                        "`radius` must be at most {MAX_RADIUS}, got {radius}"
                    ));
                }
            }
            Kernel::Sharpen { width, height } | Kernel::Edge { width, height } => {
                positive("width", width)?;
                positive("height", height)?;
            }
            Kernel::Mandelbrot {
                width,
                height,
                max_iter,
            } => {
                positive("width", width)?;
                positive("height", height)?;
                positive("max_iter", max_iter as usize)?;
            }
            Kernel::Stencil { cells, steps } => {
                positive("cells", cells)?;
                positive("steps", steps)?;
            }
            Kernel::Train {
                samples,
                features,
                epochs,
            } => {
                positive("samples", samples)?;
                positive("features", features)?;
                positive("epochs", epochs)?;
            }
            Kernel::Fib { n, .. } => {
                if n > MAX_FIB_N {
                    return Err(format!("`n` must be at most {MAX_FIB_N}, got {n}"));
                }
            }
        }
        let bytes = self.memory_bytes();
        if bytes == u64::MAX {
            return Err(format!(
                "{} is too large: the size computation overflows",
                self.size_fields()
            ));
        }
        if bytes > MAX_TASK_BYTES {
            return Err(format!(
                "{} needs about {} MiB per task, over the limit of {} MiB",
                self.size_fields(),
                bytes.div_ceil(1 << 20),
                MAX_TASK_BYTES >> 20
            ));
        }
        Ok(())
    }

    /// The size fields that drive memory use, for error messages, e.g. "`len` = 5".
    fn size_fields(&self) -> String {
        match *self {
            Kernel::Sort { len } | Kernel::Search { len } | Kernel::Analyze { len } => {
                format!("`len` = {len}")
            }
            Kernel::Hash { bytes } => format!("`bytes` = {bytes}"),
            Kernel::MatMul { n } => format!("`n` = {n}"),
            Kernel::Blur { width, height, .. }
            | Kernel::Sharpen { width, height }
            | Kernel::Edge { width, height }
            | Kernel::Mandelbrot { width, height, .. } => {
                format!("`width` × `height` = {width} × {height}")
            }
            Kernel::Stencil { cells, .. } => format!("`cells` = {cells}"),
            Kernel::Train {
                samples, features, ..
            } => {
                format!("`samples` × `features` = {samples} × {features}")
            }
            Kernel::Spin { .. }
            | Kernel::Sleep { .. }
            | Kernel::Request { .. }
            | Kernel::Fib { .. } => {
                format!("`{}`", self.name())
            }
        }
    }

    /// Bytes one task of this kernel allocates (an estimate good to ~2×), saturating on
    /// overflow (so `u64::MAX` means "does not even fit the arithmetic").
    #[must_use]
    pub fn memory_bytes(&self) -> u64 {
        let product = |xs: &[usize]| xs.iter().fold(1u64, |p, &x| p.saturating_mul(x as u64));
        match *self {
            Kernel::Spin { .. } | Kernel::Sleep { .. } | Kernel::Fib { .. } => 0,
            Kernel::Request { cpu_us, .. } => {
                if cpu_us > 0.0 {
                    work::REQUEST_CHUNK as u64 + 64
                } else {
                    0
                }
            }
            Kernel::Sort { len } | Kernel::Analyze { len } => product(&[len, 8]),
            Kernel::Search { len } => product(&[len, 16]),
            Kernel::Hash { bytes } => bytes as u64,
            Kernel::MatMul { n } => product(&[n, n, 24]),
            // Input, intermediate and output images, plus a padded row and a u32 row.
            Kernel::Blur {
                width,
                height,
                radius,
            } => product(&[width, height, 3])
                .saturating_add(product(&[width, 5]))
                .saturating_add(product(&[radius, 2])),
            Kernel::Sharpen { width, height } | Kernel::Edge { width, height } => {
                product(&[width, height, 2])
            }
            Kernel::Mandelbrot { width, height, .. } => product(&[width, height, 4]),
            Kernel::Stencil { cells, .. } => product(&[cells, 16]),
            // Inputs, targets and two weight vectors.
            Kernel::Train {
                samples, features, ..
            } => product(&[samples, features, 8])
                .saturating_add(product(&[samples, 8]))
                .saturating_add(product(&[features, 16])),
        }
    }

    /// Runs the real work and returns a checksum of its result.
    ///
    /// `seed` is the run's seed and `task` the task's index within its group: all generated
    /// data comes from a [`Xoshiro256PlusPlus`] seeded from both, so the same (seed, task)
    /// always gives the same checksum on every platform, and different data a different one
    /// with high probability. `Fib` returns fib(n) itself (the executor spawns children above
    /// the cutoff and calls this only for leaves). `Spin { us: 0.0 }` costs a few ns: nothing
    /// is allocated or seeded when there is nothing to do.
    pub fn run(&self, seed: u64, task: u64) -> u64 {
        let rng = || task_rng(seed, task);
        let sum = match *self {
            // Spin and Request do an amount of work calibrated to this machine's speed, so
            // what they compute differs between processes; their result is the task's seeded
            // identity instead, so that a run's checksum depends only on the seed and the
            // parameters (the work itself is kept from the optimiser by `black_box`).
            Kernel::Spin { us } => {
                black_box(spin(spin_iters(us)));
                return mix(seed, task);
            }
            Kernel::Fib { n, .. } => return fib(n),
            Kernel::Sleep { us } => {
                sleep_us(us);
                return mix(seed, task);
            }
            Kernel::Request { cpu_us, io_us } => {
                let bytes = request_bytes(cpu_us);
                if bytes > 0 {
                    black_box(work::request(&mut rng(), bytes));
                }
                sleep_us(io_us);
                return mix(seed, task);
            }
            Kernel::Sort { len } => {
                let mut f = Fold::new();
                for &x in &work::sort(&mut rng(), len) {
                    f.push(x);
                }
                f
            }
            Kernel::Search { len } => {
                let found = work::search(&mut rng(), len);
                let mut f = Fold::new();
                f.push(found.count);
                f.push(found.id_sum);
                f.push(found.score_sum.to_bits());
                f
            }
            Kernel::Analyze { len } => {
                let s = work::analyze(&work::samples(&mut rng(), len));
                let mut f = Fold::new();
                f.push_f64s(&[s.mean, s.variance, s.min, s.max]);
                for &count in &s.histogram {
                    f.push(count);
                }
                f
            }
            Kernel::Hash { bytes } => return black_box(work::hash(&mut rng(), bytes)),
            Kernel::MatMul { n } => {
                let mut rng = rng();
                let (a, b) = (work::matrix(&mut rng, n), work::matrix(&mut rng, n));
                let mut f = Fold::new();
                f.push_f64s(&work::matmul(&a, &b, n));
                f
            }
            Kernel::Blur {
                width,
                height,
                radius,
            } => {
                let img = work::image(&mut rng(), width, height);
                let mut f = Fold::new();
                f.push_bytes(&work::box_blur(&img, width, height, radius));
                f
            }
            Kernel::Sharpen { width, height } => {
                let img = work::image(&mut rng(), width, height);
                let mut f = Fold::new();
                f.push_bytes(&work::sharpen(&img, width, height));
                f
            }
            Kernel::Edge { width, height } => {
                let img = work::image(&mut rng(), width, height);
                let mut f = Fold::new();
                f.push_bytes(&work::sobel(&img, width, height));
                f
            }
            Kernel::Mandelbrot {
                width,
                height,
                max_iter,
            } => {
                let frame = work::mandelbrot(width, height, max_iter, seed, task);
                let mut f = Fold::new();
                for &p in &frame.pixels {
                    f.push(u64::from(p));
                }
                f
            }
            Kernel::Stencil { cells, steps } => {
                let mut f = Fold::new();
                f.push_f64s(&work::stencil(&mut rng(), cells, steps));
                f
            }
            Kernel::Train {
                samples,
                features,
                epochs,
            } => {
                let fit = work::train(&mut rng(), samples, features, epochs);
                let mut f = Fold::new();
                f.push_f64s(&fit.weights);
                // How far from the generating weights training got: the result a user of
                // the model would look at.
                let error: f64 = fit
                    .weights
                    .iter()
                    .zip(&fit.truth)
                    .map(|(w, t)| (w - t) * (w - t))
                    .sum();
                f.push(error.to_bits());
                f
            }
        };
        black_box(sum.finish())
    }

    /// Estimated time of one task in µs at speed 1.0, from the parameters and a per-process
    /// calibration (see the module docs).
    ///
    /// `Spin` and `Sleep`: exactly `us`; `Request`: `cpu_us + io_us`. `Fib`: the cost of one
    /// task with this `n`: a small constant for spawning while `n > cutoff`, else the
    /// sequential fib(n). `Mandelbrot`: the average over frames (frames differ by up to ~3×).
    ///
    /// Asking for the estimate also performs the calibration that `run` needs (the spin rate,
    /// the request payload rate), so a caller that estimates before it starts the clock does
    /// not see the first task slowed by it.
    #[must_use]
    pub fn estimate_us(&self) -> f64 {
        match *self {
            Kernel::Spin { us } => {
                let _ = spin_iters_per_us();
                us
            }
            Kernel::Sleep { us } => us,
            Kernel::Request { cpu_us, io_us } => {
                let _ = request_bytes_per_us();
                cpu_us + io_us
            }
            Kernel::Fib { n, cutoff } if n >= 2 && n > cutoff => FIB_SPAWN_US,
            _ => self.coefficient() * self.units() * self.spill_factor(),
        }
    }

    /// The same estimate with `us_per_unit` in place of this process's measured coefficient
    /// (µs per model unit of this variant): the simulator's task costs, the same on every
    /// machine for one cost model. Variants estimated from their µs parameters ignore it.
    #[must_use]
    pub fn estimate_at(&self, us_per_unit: f64) -> f64 {
        match *self {
            Kernel::Spin { us } | Kernel::Sleep { us } => us,
            Kernel::Request { cpu_us, io_us } => cpu_us + io_us,
            Kernel::Fib { n, cutoff } if n >= 2 && n > cutoff => FIB_SPAWN_US,
            _ => us_per_unit * self.units() * self.spill_factor(),
        }
    }

    /// The share of a task's time spent blocked rather than computing: all of a `Sleep`, the
    /// `io_us` of a `Request`, nothing for the others.
    #[must_use]
    pub fn blocked_share(&self) -> f64 {
        match *self {
            Kernel::Sleep { .. } => 1.0,
            Kernel::Request { cpu_us, io_us } if cpu_us + io_us > 0.0 => io_us / (cpu_us + io_us),
            _ => 0.0,
        }
    }

    /// Whether the estimate comes from a measured coefficient (µs per model unit), rather than
    /// from the kernel's µs parameters.
    #[must_use]
    pub fn is_calibrated(&self) -> bool {
        self.calibration_instance().is_some()
    }

    /// Measures this variant's coefficient afresh (µs per model unit, fastest of three runs of
    /// its small calibration instance); 1.0 for the variants estimated from µs parameters.
    #[must_use]
    pub fn measure_us_per_unit(&self) -> f64 {
        self.measure_coefficient()
    }

    /// One instance of every variant whose estimate is calibrated (its parameters are those of
    /// its calibration instance), in [`KERNELS`] order.
    #[must_use]
    pub fn calibrated_variants() -> Vec<Kernel> {
        let any = [
            Kernel::Sort { len: 1 },
            Kernel::Search { len: 1 },
            Kernel::Analyze { len: 1 },
            Kernel::Hash { bytes: 1 },
            Kernel::MatMul { n: 1 },
            Kernel::Blur {
                width: 1,
                height: 1,
                radius: 1,
            },
            Kernel::Sharpen {
                width: 1,
                height: 1,
            },
            Kernel::Edge {
                width: 1,
                height: 1,
            },
            Kernel::Mandelbrot {
                width: 1,
                height: 1,
                max_iter: 1,
            },
            Kernel::Stencil { cells: 1, steps: 1 },
            Kernel::Train {
                samples: 1,
                features: 1,
                epochs: 1,
            },
            Kernel::Fib { n: 1, cutoff: 1 },
        ];
        any.iter()
            .filter_map(|k| k.calibration_instance().map(|(probe, _)| probe))
            .collect()
    }

    /// How much slower per unit than its small calibration instance this kernel runs because
    /// its data no longer fits in the caches: 1 up to 512 KiB, rising to 1.5 at 8 MiB and
    /// beyond for the kernels that stream through their data with little arithmetic per byte.
    /// (`MatMul`, `Blur` and `Train` reuse what they load, and stay near 1.) Measured on a
    /// small shared server; machines with more bandwidth per core see less.
    fn spill_factor(&self) -> f64 {
        let streaming = matches!(
            self,
            Kernel::Sort { .. }
                | Kernel::Search { .. }
                | Kernel::Analyze { .. }
                | Kernel::Hash { .. }
                | Kernel::Sharpen { .. }
                | Kernel::Edge { .. }
                | Kernel::Stencil { .. }
        );
        if !streaming {
            return 1.0;
        }
        let spill = (self.memory_bytes() as f64 / (512.0 * 1024.0)).log2() / 4.0;
        1.0 + 0.5 * spill.clamp(0.0, 1.0)
    }

    /// The cost model: abstract work units, proportional to the run time. Constant terms stand
    /// for work besides the main loop (generating the input, allocating) relative to one unit
    /// of it, measured on this code; the calibration coefficient turns units into µs.
    fn units(&self) -> f64 {
        let f = |x: usize| x as f64;
        match *self {
            // Not calibrated per unit (see `estimate_us`); µs are their unit.
            Kernel::Spin { us } | Kernel::Sleep { us } => us,
            Kernel::Request { cpu_us, io_us } => cpu_us + io_us,
            Kernel::Sort { len } => f(len) * f(len).log2().max(1.0),
            Kernel::Search { len } | Kernel::Analyze { len } => f(len),
            Kernel::Hash { bytes } => f(bytes),
            Kernel::MatMul { n } => f(n).powi(3) + 8.0 * f(n).powi(2),
            Kernel::Blur {
                width,
                height,
                radius,
            } => f(width) * f(height) * (2.0 * f(radius) + 2.0),
            Kernel::Sharpen { width, height } | Kernel::Edge { width, height } => {
                f(width) * f(height)
            }
            Kernel::Mandelbrot {
                width,
                height,
                max_iter,
            } => f(width) * f(height) * mandelbrot_iters_per_pixel(max_iter),
            Kernel::Stencil { cells, steps } => f(cells) * (f(steps) + 4.0),
            Kernel::Train {
                samples,
                features,
                epochs,
            } => f(samples) * f(features) * (f(epochs) + 2.0),
            Kernel::Fib { n, .. } => fib_calls(n),
        }
    }
}

/// Average iterations per pixel of a Mandelbrot frame with `max_iter`, over the frames of the
/// zoom cycle, plus a few iterations' worth of per-pixel overhead. The constants were fitted to
/// frames 0..100 of `work::view` for `max_iter` from 50 to 5000: about two thirds of a frame is
/// inside the set and costs the full `max_iter`, and escaping points take a few iterations,
/// slowly more as `max_iter` resolves the boundary more finely.
fn mandelbrot_iters_per_pixel(max_iter: u32) -> f64 {
    let m = f64::from(max_iter);
    MANDEL_OVERHEAD + MANDEL_INSIDE * m + 2.5 * m.ln_1p()
}
const MANDEL_OVERHEAD: f64 = 4.0;
const MANDEL_INSIDE: f64 = 0.66;

/// Calls naive fib(n) makes: 2·fib(n+1) − 1.
fn fib_calls(n: u32) -> f64 {
    let (mut a, mut b) = (0.0f64, 1.0f64);
    for _ in 0..=n {
        (a, b) = (b, a + b);
    }
    2.0 * a - 1.0
}

/// Err unless `us` is a finite duration in [0, one hour].
fn duration(field: &str, us: f64) -> Result<(), String> {
    if !us.is_finite() || us < 0.0 {
        return Err(format!("`{field}` must be a finite number >= 0, got {us}"));
    }
    if us > MAX_DURATION_US {
        return Err(format!(
            "`{field}` must be at most {MAX_DURATION_US} µs (one hour), got {us}"
        ));
    }
    Ok(())
}

/// Err unless a size is at least 1.
fn positive(field: &str, value: usize) -> Result<(), String> {
    if value == 0 {
        return Err(format!("`{field}` must be at least 1, got 0"));
    }
    Ok(())
}

/// One 64-bit seed from the run's seed and the task index. Hashing the task index first
/// keeps (seed, task) and (seed + 1, task − 1) apart, which a plain sum would not.
fn mix(seed: u64, task: u64) -> u64 {
    work::splitmix64(seed ^ work::splitmix64(task ^ 0x5EED_7A5C_0000_0000))
}

fn task_rng(seed: u64, task: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix(seed, task))
}

/// Blocks for `us` µs; a non-positive or unrepresentable duration does not block.
fn sleep_us(us: f64) {
    if us > 0.0
        && let Ok(d) = Duration::try_from_secs_f64(us * 1e-6)
    {
        // Tell the executor, so the timeline shows the rest of the task as blocked, not busy.
        crate::clock::blocking();
        interruptible_sleep(d);
    }
}

/// Spin-loop iterations for `us` µs; zero without touching the calibration when `us` is 0.
fn spin_iters(us: f64) -> u64 {
    if us > 0.0 {
        // `as` saturates, so a huge or infinite `us` cannot wrap around.
        (us * spin_iters_per_us()).round() as u64
    } else {
        0
    }
}

/// Runs `iters` iterations of the spin loop's compute and returns a value derived from them.
///
/// Each iteration is a multiply-xorshift step depending on the previous one, so the chain can
/// be neither vectorised nor folded into a closed form: the work is exactly `iters` steps.
///
/// The loop looks at [`stopped`] every 2¹⁶ steps (tens of µs) and gives up when it is set.
pub fn spin(iters: u64) -> u64 {
    const BLOCK: u64 = 1 << 16;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut i = 0;
    while i < iters {
        let end = iters.min(i + BLOCK);
        for j in i..end {
            x = (x ^ (x >> 29))
                .wrapping_mul(0xBF58_476D_1CE4_E5B9)
                .wrapping_add(j);
        }
        i = end;
        if i < iters && stopped() {
            break;
        }
    }
    black_box(x)
}

/// Spin-loop iterations per µs on this machine, measured once per process (a few ms).
#[must_use]
pub fn spin_iters_per_us() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        // Many short runs rather than one long one: the more runs, the likelier one of them
        // ran undisturbed by other threads on a shared machine.
        const ITERS: u64 = 100_000;
        let best = fastest_of(8, || {
            spin(black_box(ITERS));
        });
        ITERS as f64 / best
    })
}

/// fib(n) by naive double recursion: real, exponential work, like the fork-join tree.
#[must_use]
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// The fastest of `runs` timed calls of `f`, in µs (at least 1 ns, so rates stay finite).
///
/// The minimum is the right statistic on a shared machine: interference only adds time.
fn fastest_of(runs: u32, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::INFINITY, f64::min)
        .max(1e-3)
}

/// Payload bytes `Request` generates for `cpu_us` µs of CPU.
fn request_bytes(cpu_us: f64) -> usize {
    if cpu_us > 0.0 {
        (cpu_us * request_bytes_per_us()).round() as usize
    } else {
        0
    }
}

/// Payload bytes per µs the `Request` pipeline (generate, split, parse, hash) processes here.
fn request_bytes_per_us() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        const BYTES: usize = 32 * 1024;
        let mut rng = task_rng(0, 0);
        BYTES as f64
            / fastest_of(5, || {
                black_box(work::request(&mut rng, BYTES));
            })
    })
}

impl Kernel {
    /// µs per model unit for this kernel's variant, measured on first use (one measurement
    /// per variant, kept in a slot of its own).
    fn coefficient(&self) -> f64 {
        static COEFFICIENTS: [OnceLock<f64>; KERNELS.len()] =
            [const { OnceLock::new() }; KERNELS.len()];
        *COEFFICIENTS[self.kind()].get_or_init(|| self.measure_coefficient())
    }

    /// Times this variant's calibration instance (fastest of three) and divides by its units.
    fn measure_coefficient(&self) -> f64 {
        let Some((probe, task)) = self.calibration_instance() else {
            // Estimated from their µs parameters: one unit is one µs.
            return 1.0;
        };
        let best = fastest_of(3, || {
            black_box(probe.run(0, task));
        });
        let units = match probe {
            // Frames differ in cost, so count the probe frame's actual iterations rather
            // than trusting the model's average over frames.
            Kernel::Mandelbrot {
                width,
                height,
                max_iter,
            } => {
                let iters = work::mandelbrot(width, height, max_iter, 0, task).iterations as f64;
                iters + MANDEL_OVERHEAD * (width * height) as f64
            }
            _ => probe.units(),
        };
        best / units.max(1.0)
    }

    /// A small instance of this variant, and the task index to run it as: about 0.1–0.5 ms
    /// and at most 512 KiB (so [`Kernel::spill_factor`] is 1), big enough that timer
    /// resolution and per-call overhead do not dominate. `None` for the variants estimated
    /// from their µs parameters (`Spin`, `Sleep`, `Request`).
    fn calibration_instance(&self) -> Option<(Kernel, u64)> {
        let probe = match self {
            Kernel::Spin { .. } | Kernel::Sleep { .. } | Kernel::Request { .. } => return None,
            Kernel::Sort { .. } => Kernel::Sort { len: 8192 },
            Kernel::Search { .. } => Kernel::Search { len: 16_384 },
            Kernel::Analyze { .. } => Kernel::Analyze { len: 16_384 },
            Kernel::Hash { .. } => Kernel::Hash { bytes: 64 * 1024 },
            Kernel::MatMul { .. } => Kernel::MatMul { n: 48 },
            Kernel::Blur { .. } => Kernel::Blur {
                width: 128,
                height: 96,
                radius: 2,
            },
            Kernel::Sharpen { .. } => Kernel::Sharpen {
                width: 128,
                height: 128,
            },
            Kernel::Edge { .. } => Kernel::Edge {
                width: 128,
                height: 128,
            },
            // A quarter period into the zoom: a frame mostly inside the set, whose long
            // iteration loops time like the typical frame's (short escapes overlap and run
            // faster per iteration, so the widest frame would underestimate).
            Kernel::Mandelbrot { .. } => {
                return Some((
                    Kernel::Mandelbrot {
                        width: 40,
                        height: 30,
                        max_iter: 128,
                    },
                    12,
                ));
            }
            Kernel::Stencil { .. } => Kernel::Stencil {
                cells: 4096,
                steps: 16,
            },
            Kernel::Train { .. } => Kernel::Train {
                samples: 256,
                features: 16,
                epochs: 4,
            },
            Kernel::Fib { .. } => Kernel::Fib { n: 20, cutoff: 20 },
        };
        Some((probe, 0))
    }
}

#[cfg(test)]
mod tests;
