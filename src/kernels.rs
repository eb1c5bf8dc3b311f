//! TEMPORARY STUB (replaced by the real kernels module).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Kernel {
    Spin {
        us: f64,
    },
    Sleep {
        us: f64,
    },
    Request {
        cpu_us: f64,
        io_us: f64,
    },
    Sort {
        len: usize,
    },
    Search {
        len: usize,
    },
    Analyze {
        len: usize,
    },
    Hash {
        bytes: usize,
    },
    MatMul {
        n: usize,
    },
    Blur {
        width: usize,
        height: usize,
        radius: usize,
    },
    Sharpen {
        width: usize,
        height: usize,
    },
    Edge {
        width: usize,
        height: usize,
    },
    Mandelbrot {
        width: usize,
        height: usize,
        max_iter: u32,
    },
    Stencil {
        cells: usize,
        steps: usize,
    },
    Train {
        samples: usize,
        features: usize,
        epochs: usize,
    },
    Fib {
        n: u32,
        cutoff: u32,
    },
}
pub const KERNELS: &[(&str, &str)] = &[("Spin", "spin")];
impl Kernel {
    pub fn name(&self) -> &'static str {
        "Spin"
    }
    pub fn scaled(&self, _factor: f64) -> Kernel {
        self.clone()
    }
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    pub fn memory_bytes(&self) -> u64 {
        0
    }
    pub fn run(&self, _seed: u64, task: u64) -> u64 {
        match self {
            Kernel::Spin { us } => spin((*us * 300.0) as u64),
            _ => spin(30000) ^ task,
        }
    }
    pub fn estimate_us(&self) -> f64 {
        match self {
            Kernel::Spin { us } => *us,
            Kernel::Fib { n, cutoff } => {
                if *n < 2 || n <= cutoff {
                    0.01 * 1.6f64.powi(*n as i32)
                } else {
                    0.05
                }
            }
            _ => 100.0,
        }
    }
}
pub fn spin(iters: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..iters {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}
