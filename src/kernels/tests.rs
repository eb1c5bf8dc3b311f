//! Tests of the kernels: results checked directly where they can be (a sorted vector, a
//! known product, an identity blur), determinism, validation messages and estimates.

use super::*;

/// One small instance of every kernel, in [`KERNELS`] order.
fn one_of_each() -> Vec<Kernel> {
    vec![
        Kernel::Spin { us: 5.0 },
        Kernel::Sleep { us: 10.0 },
        Kernel::Request {
            cpu_us: 20.0,
            io_us: 10.0,
        },
        Kernel::Sort { len: 1000 },
        Kernel::Search { len: 1000 },
        Kernel::Analyze { len: 1000 },
        Kernel::Hash { bytes: 1000 },
        Kernel::MatMul { n: 8 },
        Kernel::Blur {
            width: 16,
            height: 12,
            radius: 2,
        },
        Kernel::Sharpen {
            width: 16,
            height: 12,
        },
        Kernel::Edge {
            width: 16,
            height: 12,
        },
        Kernel::Mandelbrot {
            width: 16,
            height: 12,
            max_iter: 64,
        },
        Kernel::Stencil {
            cells: 100,
            steps: 10,
        },
        Kernel::Train {
            samples: 50,
            features: 4,
            epochs: 2,
        },
        Kernel::Fib { n: 15, cutoff: 20 },
    ]
}

/// The data kernels: their checksums depend on the seed and task.
fn data_kernels() -> Vec<Kernel> {
    one_of_each()
        .into_iter()
        .filter(|k| {
            !matches!(
                k,
                Kernel::Spin { .. } | Kernel::Sleep { .. } | Kernel::Fib { .. }
            )
        })
        .collect()
}

#[test]
fn names_match_the_table() {
    let kernels = one_of_each();
    assert_eq!(kernels.len(), KERNELS.len());
    for (k, (name, description)) in kernels.iter().zip(KERNELS) {
        assert_eq!(k.name(), *name);
        assert!(description.starts_with(name), "{description}");
        assert_eq!(k.validate(), Ok(()), "{k:?}");
    }
}

#[test]
fn runs_are_deterministic() {
    for k in one_of_each() {
        assert_eq!(k.run(7, 3), k.run(7, 3), "{k:?}");
    }
}

#[test]
fn data_depends_on_seed_and_task() {
    for k in data_kernels() {
        let base = k.run(7, 3);
        assert_ne!(base, k.run(8, 3), "{k:?}: seed ignored");
        assert_ne!(base, k.run(7, 4), "{k:?}: task ignored");
    }
}

#[test]
fn sort_sorts() {
    let v = work::sort(&mut task_rng(1, 2), 10_000);
    assert_eq!(v.len(), 10_000);
    assert!(v.is_sorted());
    assert!(v.first() < v.last(), "the data is not constant");
}

#[test]
fn matmul_matches_a_known_product() {
    let c = work::matmul(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2);
    assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
    let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let a = work::matrix(&mut task_rng(3, 0), 3);
    assert_eq!(work::matmul(&a, &identity, 3), a);
    assert_eq!(work::matmul(&identity, &a, 3), a);
}

#[test]
fn image_filters() {
    let (w, h) = (23, 17);
    let img = work::image(&mut task_rng(5, 1), w, h);
    assert_eq!(
        work::box_blur(&img, w, h, 0),
        img,
        "radius 0 is the identity"
    );
    let blurred = work::box_blur(&img, w, h, 3);
    assert_ne!(blurred, img);
    // A blur narrows the range of a noise image.
    let spread =
        |v: &[u8]| v.iter().max().copied().unwrap_or(0) - v.iter().min().copied().unwrap_or(0);
    assert!(spread(&blurred) < spread(&img) / 2);

    // Flat images: blur and sharpen keep them, Sobel finds no edges (borders included).
    let flat = vec![77u8; w * h];
    assert_eq!(work::box_blur(&flat, w, h, 4), flat);
    assert_eq!(work::sharpen(&flat, w, h), flat);
    assert!(work::sobel(&flat, w, h).iter().all(|&p| p == 0));
    // A vertical step edge shows up in exactly the two columns beside it.
    let step: Vec<u8> = (0..w * h)
        .map(|i| if i % w < 10 { 0 } else { 100 })
        .collect();
    let edges = work::sobel(&step, w, h);
    for (i, &e) in edges.iter().enumerate() {
        assert_eq!(e > 0, i % w == 9 || i % w == 10, "pixel {i}");
    }
    // The radius may exceed the image: edges repeat, nothing panics.
    assert_eq!(work::box_blur(&flat, 3, 2, 10), vec![77u8; 6]);
}

#[test]
fn analyze_matches_a_direct_computation() {
    let xs = work::samples(&mut task_rng(9, 9), 5000);
    let s = work::analyze(&xs);
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let variance = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    assert!((s.mean - mean).abs() < 1e-9, "{} vs {mean}", s.mean);
    assert!(
        (s.variance - variance).abs() < 1e-9 * variance,
        "{} vs {variance}",
        s.variance
    );
    assert!(
        (14.0..16.0).contains(&mean),
        "sum of three uniforms ×10 centres on 15"
    );
    assert_eq!(s.histogram.iter().sum::<u64>(), 5000);
    assert!(
        s.histogram[0] >= 1 && s.histogram[31] >= 1,
        "min and max land in the end bins"
    );
    assert!(s.histogram[15] > s.histogram[1], "bell shaped");
    assert_eq!(
        work::analyze(&[2.0, 2.0]).histogram[0],
        2,
        "a zero range is one bin"
    );
}

#[test]
fn hash_is_fnv1a() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(
        work::fnv1a(0xCBF2_9CE4_8422_2325, b""),
        0xCBF2_9CE4_8422_2325
    );
    assert_eq!(
        work::fnv1a(0xCBF2_9CE4_8422_2325, b"a"),
        0xAF63_DC4C_8601_EC8C
    );
    assert_eq!(
        work::fnv1a(0xCBF2_9CE4_8422_2325, b"foobar"),
        0x8594_4171_F739_67E8
    );
}

#[test]
fn search_finds_about_one_in_32() {
    let found = work::search(&mut task_rng(4, 0), 64_000);
    assert!((1500..2500).contains(&found.count), "{}", found.count);
    assert!(found.score_sum > 0.5 * found.count as f64);
}

#[test]
fn stencil_diffuses() {
    let before = work::stencil(&mut task_rng(2, 0), 200, 0);
    let after = work::stencil(&mut task_rng(2, 0), 200, 500);
    let roughness = |u: &[f64]| u.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>();
    assert!(roughness(&after) < roughness(&before) / 10.0);
    // The maximum principle: no new extremes, and the fixed ends stay put.
    assert!(after.iter().all(|x| (0.0..1.0).contains(x)));
    assert_eq!((after[0], after[199]), (before[0], before[199]));
}

#[test]
fn train_learns_the_weights() {
    let fit = work::train(&mut task_rng(6, 0), 500, 4, 20);
    for (w, t) in fit.weights.iter().zip(&fit.truth) {
        assert!((w - t).abs() < 0.02, "{:?} vs {:?}", fit.weights, fit.truth);
    }
}

#[test]
fn request_parses_what_it_generates() {
    let mut buf = Vec::new();
    let mut rng = task_rng(0, 0);
    for _ in 0..100 {
        work::push_field(&mut rng, &mut buf);
    }
    let text = String::from_utf8(buf).expect("ASCII");
    let fields: Vec<&str> = text.trim_end_matches('&').split('&').collect();
    assert_eq!(fields.len(), 100);
    for f in fields {
        let (key, value) = f.split_once('=').expect("key=value");
        assert!(
            (3..=10).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase()),
            "{f}"
        );
        value.parse::<u32>().expect("a u32 value");
    }
    assert_ne!(
        work::request(&mut task_rng(0, 0), 1000),
        work::request(&mut task_rng(0, 1), 1000)
    );
}

#[test]
fn fib_values() {
    assert_eq!(fib(0), 0);
    assert_eq!(fib(1), 1);
    assert_eq!(fib(20), 6765);
    assert_eq!(Kernel::Fib { n: 20, cutoff: 5 }.run(1, 2), 6765);
    assert_eq!(
        fib_calls(3),
        5.0,
        "fib(3) calls fib(2), fib(1), fib(1), fib(0)"
    );
}

#[test]
fn mandelbrot_frames_differ_within_bounds() {
    let k = Kernel::Mandelbrot {
        width: 24,
        height: 18,
        max_iter: 200,
    };
    for t in 0..60 {
        assert_ne!(k.run(0, t), k.run(0, t + 1), "frames {t} and {}", t + 1);
    }
    let costs: Vec<f64> = (0..100)
        .map(|t| work::mandelbrot(24, 18, 200, 0, t).iterations as f64)
        .collect();
    let mean = costs.iter().sum::<f64>() / costs.len() as f64;
    for (t, c) in costs.iter().enumerate() {
        assert!(
            (0.3..3.0).contains(&(c / mean)),
            "frame {t} costs {:.2}× the mean",
            c / mean
        );
    }
    // The cost model's average is close to the frames' true average.
    let model = 24.0 * 18.0 * (mandelbrot_iters_per_pixel(200) - MANDEL_OVERHEAD);
    assert!(
        (0.7..1.4).contains(&(model / mean)),
        "model {model}, measured {mean}"
    );
}

#[test]
fn scaled_scales_the_size_parameter() {
    assert_eq!(
        Kernel::Spin { us: 10.0 }.scaled(1.5),
        Kernel::Spin { us: 15.0 }
    );
    assert_eq!(
        Kernel::Sleep { us: 10.0 }.scaled(0.5),
        Kernel::Sleep { us: 5.0 }
    );
    assert_eq!(
        Kernel::Request {
            cpu_us: 10.0,
            io_us: 20.0
        }
        .scaled(1.5),
        Kernel::Request {
            cpu_us: 15.0,
            io_us: 30.0
        }
    );
    assert_eq!(
        Kernel::Sort { len: 100 }.scaled(1.234),
        Kernel::Sort { len: 123 }
    );
    assert_eq!(
        Kernel::Search { len: 100 }.scaled(0.5),
        Kernel::Search { len: 50 }
    );
    assert_eq!(
        Kernel::Analyze { len: 3 }.scaled(0.5),
        Kernel::Analyze { len: 2 },
        "rounds to nearest"
    );
    assert_eq!(
        Kernel::Hash { bytes: 1000 }.scaled(1.999),
        Kernel::Hash { bytes: 1999 }
    );
    assert_eq!(
        Kernel::MatMul { n: 10 }.scaled(1.5),
        Kernel::MatMul { n: 15 }
    );
    assert_eq!(
        Kernel::Blur {
            width: 10,
            height: 10,
            radius: 2
        }
        .scaled(1.5),
        Kernel::Blur {
            width: 10,
            height: 15,
            radius: 2
        }
    );
    assert_eq!(
        Kernel::Sharpen {
            width: 10,
            height: 10
        }
        .scaled(1.5),
        Kernel::Sharpen {
            width: 10,
            height: 15
        }
    );
    assert_eq!(
        Kernel::Edge {
            width: 10,
            height: 10
        }
        .scaled(0.5),
        Kernel::Edge {
            width: 10,
            height: 5
        }
    );
    assert_eq!(
        Kernel::Mandelbrot {
            width: 10,
            height: 10,
            max_iter: 50
        }
        .scaled(1.5),
        Kernel::Mandelbrot {
            width: 10,
            height: 15,
            max_iter: 50
        }
    );
    assert_eq!(
        Kernel::Stencil {
            cells: 10,
            steps: 4
        }
        .scaled(1.5),
        Kernel::Stencil {
            cells: 15,
            steps: 4
        }
    );
    assert_eq!(
        Kernel::Train {
            samples: 10,
            features: 3,
            epochs: 2
        }
        .scaled(1.5),
        Kernel::Train {
            samples: 15,
            features: 3,
            epochs: 2
        }
    );
    assert_eq!(
        Kernel::Fib { n: 20, cutoff: 8 }.scaled(1.9),
        Kernel::Fib { n: 20, cutoff: 8 }
    );
    // Never below 1, whatever the factor.
    for k in one_of_each() {
        for factor in [0.001, 0.01, 0.3, 1.0, 1.99] {
            let mut small = k.clone();
            match &mut small {
                Kernel::Sort { len } | Kernel::Search { len } | Kernel::Analyze { len } => *len = 1,
                Kernel::Hash { bytes } => *bytes = 1,
                Kernel::MatMul { n } => *n = 1,
                Kernel::Blur { height, .. }
                | Kernel::Sharpen { height, .. }
                | Kernel::Edge { height, .. }
                | Kernel::Mandelbrot { height, .. } => *height = 1,
                Kernel::Stencil { cells, .. } => *cells = 1,
                Kernel::Train { samples, .. } => *samples = 1,
                Kernel::Spin { .. }
                | Kernel::Sleep { .. }
                | Kernel::Request { .. }
                | Kernel::Fib { .. } => {}
            }
            assert_eq!(
                small.scaled(factor).validate(),
                Ok(()),
                "{small:?} × {factor}"
            );
            assert_eq!(k.scaled(factor).validate(), Ok(()), "{k:?} × {factor}");
        }
    }
}

fn rejects(k: Kernel, needles: &[&str]) {
    let e = k
        .validate()
        .expect_err(&format!("{k:?} should be rejected"));
    for needle in needles {
        assert!(e.contains(needle), "{k:?}: {e:?} lacks {needle:?}");
    }
}

#[test]
fn validate_rejects_bad_durations() {
    rejects(
        Kernel::Spin { us: -5.0 },
        &["`us` must be a finite number >= 0, got -5"],
    );
    rejects(Kernel::Sleep { us: f64::NAN }, &["`us`", "NaN"]);
    rejects(Kernel::Spin { us: f64::INFINITY }, &["`us`", "inf"]);
    rejects(
        Kernel::Request {
            cpu_us: 1.0,
            io_us: -1.0,
        },
        &["`io_us`"],
    );
    rejects(
        Kernel::Request {
            cpu_us: f64::NEG_INFINITY,
            io_us: 1.0,
        },
        &["`cpu_us`"],
    );
    rejects(Kernel::Sleep { us: 4e9 }, &["`us`", "one hour"]);
    assert_eq!(Kernel::Spin { us: 0.0 }.validate(), Ok(()));
    assert_eq!(Kernel::Sleep { us: 3.6e9 }.validate(), Ok(()));
}

#[test]
fn validate_rejects_bad_sizes() {
    rejects(Kernel::Sort { len: 0 }, &["`len` must be at least 1"]);
    rejects(Kernel::Hash { bytes: 0 }, &["`bytes`"]);
    rejects(Kernel::MatMul { n: 0 }, &["`n`"]);
    rejects(
        Kernel::Blur {
            width: 0,
            height: 4,
            radius: 1,
        },
        &["`width`"],
    );
    rejects(
        Kernel::Blur {
            width: 4,
            height: 4,
            radius: 1 << 20,
        },
        &["`radius`"],
    );
    rejects(
        Kernel::Edge {
            width: 4,
            height: 0,
        },
        &["`height`"],
    );
    rejects(
        Kernel::Mandelbrot {
            width: 4,
            height: 4,
            max_iter: 0,
        },
        &["`max_iter`"],
    );
    rejects(Kernel::Stencil { cells: 4, steps: 0 }, &["`steps`"]);
    rejects(
        Kernel::Train {
            samples: 4,
            features: 0,
            epochs: 1,
        },
        &["`features`"],
    );
    rejects(
        Kernel::Train {
            samples: 4,
            features: 4,
            epochs: 0,
        },
        &["`epochs`"],
    );
    rejects(
        Kernel::Fib { n: 61, cutoff: 10 },
        &["`n` must be at most 60"],
    );
    assert_eq!(
        Kernel::Blur {
            width: 4,
            height: 4,
            radius: 0
        }
        .validate(),
        Ok(())
    );
    assert_eq!(
        Kernel::Fib { n: 30, cutoff: 100 }.validate(),
        Ok(()),
        "a cutoff above n is a leaf"
    );
}

#[test]
fn validate_rejects_what_does_not_fit_in_memory() {
    rejects(
        Kernel::Sort { len: 1 << 40 },
        &["`len`", "8388608 MiB", "1024 MiB"],
    );
    rejects(Kernel::MatMul { n: 10_000 }, &["`n` = 10000", "MiB"]);
    rejects(
        Kernel::Mandelbrot {
            width: 1 << 20,
            height: 1 << 20,
            max_iter: 10,
        },
        &["`width` × `height`"],
    );
    rejects(Kernel::MatMul { n: usize::MAX }, &["`n`", "overflows"]);
    rejects(
        Kernel::Train {
            samples: usize::MAX,
            features: usize::MAX,
            epochs: 1,
        },
        &["`samples`", "overflows"],
    );
    assert_eq!(Kernel::MatMul { n: usize::MAX }.memory_bytes(), u64::MAX);
    assert_eq!(
        Kernel::Sort { len: 1 << 27 }.validate(),
        Ok(()),
        "exactly 1 GiB is allowed"
    );
    rejects(Kernel::Sort { len: (1 << 27) + 1 }, &["`len`"]);
    assert_eq!(
        Kernel::Request {
            cpu_us: 3.6e9,
            io_us: 0.0
        }
        .validate(),
        Ok(()),
        "requests stream"
    );
}

#[test]
fn ron_round_trip() {
    let k: Kernel = ron::from_str("Blur(width: 8, height: 8, radius: 1)").expect("parses");
    assert_eq!(
        k,
        Kernel::Blur {
            width: 8,
            height: 8,
            radius: 1
        }
    );
    assert!(ron::from_str::<Kernel>("Blur(width: 8, hieght: 8, radius: 1)").is_err());
    assert!(ron::from_str::<Kernel>("Blurr(width: 8, height: 8, radius: 1)").is_err());
    let r: Kernel = ron::from_str("Request(cpu_us: 200.0, io_us: 300.0)").expect("parses");
    assert_eq!(
        r,
        Kernel::Request {
            cpu_us: 200.0,
            io_us: 300.0
        }
    );
    for k in one_of_each() {
        let text = ron::to_string(&k).expect("serialises");
        assert_eq!(
            ron::from_str::<Kernel>(&text).expect("parses back"),
            k,
            "{text}"
        );
    }
}

#[test]
fn empty_spin_is_nearly_free() {
    let k = Kernel::Spin { us: 0.0 };
    let per_run_ns = (0..5)
        .map(|_| {
            let start = Instant::now();
            for t in 0..10_000 {
                black_box(black_box(&k).run(1, t));
            }
            start.elapsed().as_secs_f64() * 1e9 / 10_000.0
        })
        .fold(f64::INFINITY, f64::min);
    assert!(per_run_ns < 100.0, "{per_run_ns:.1} ns per empty Spin");
}

#[test]
fn spin_is_calibrated() {
    let rate = spin_iters_per_us();
    assert!(rate.is_finite() && rate > 1.0, "{rate}");
    assert_eq!(spin(1000), spin(1000));
    assert_ne!(spin(1000), spin(1001));
    assert_eq!(Kernel::Spin { us: 123.5 }.estimate_us(), 123.5);
    assert_eq!(Kernel::Sleep { us: 40.0 }.estimate_us(), 40.0);
    assert_eq!(
        Kernel::Request {
            cpu_us: 200.0,
            io_us: 300.0
        }
        .estimate_us(),
        500.0
    );
    // A 2 ms spin takes at least 1 ms, even on a noisy machine (noise only adds time).
    let start = Instant::now();
    Kernel::Spin { us: 2000.0 }.run(0, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn sleep_blocks() {
    let start = Instant::now();
    Kernel::Sleep { us: 2000.0 }.run(0, 0);
    assert!(start.elapsed() >= Duration::from_micros(2000));
}

#[test]
fn fib_estimates() {
    assert_eq!(
        Kernel::Fib { n: 30, cutoff: 10 }.estimate_us(),
        FIB_SPAWN_US,
        "only spawns"
    );
    let leaf = Kernel::Fib { n: 10, cutoff: 10 }.estimate_us();
    let bigger = Kernel::Fib { n: 20, cutoff: 25 }.estimate_us();
    assert!(leaf > 0.0 && bigger > 50.0 * leaf, "{leaf} {bigger}");
    assert!(
        Kernel::Fib { n: 1, cutoff: 0 }.estimate_us() > 0.0,
        "n < 2 is always a leaf"
    );
}

#[test]
fn sort_estimate_is_close() {
    let k = Kernel::Sort { len: 100_000 };
    let estimate = k.estimate_us();
    let measured = fastest_of(3, || {
        black_box(k.run(1, 2));
    });
    let ratio = estimate / measured;
    assert!(
        (0.25..4.0).contains(&ratio),
        "estimate {estimate:.0} µs, measured {measured:.0} µs"
    );
}

#[test]
fn estimates_are_positive_and_grow_with_size() {
    for k in one_of_each() {
        let e = k.estimate_us();
        assert!(e.is_finite() && e > 0.0, "{k:?}: {e}");
        if !matches!(k, Kernel::Fib { .. }) {
            assert!(k.scaled(1.9).estimate_us() > e, "{k:?}");
        }
    }
}

#[test]
fn calibration_is_quick() {
    // Generous bounds: the tests share two cores with each other.
    let start = Instant::now();
    for k in one_of_each() {
        let c = k.measure_coefficient();
        assert!(c.is_finite() && c > 0.0, "{}: {c}", k.name());
        // Each variant is calibrated on an instance of itself.
        if let Some((probe, _)) = k.calibration_instance() {
            assert_eq!(probe.name(), k.name());
        }
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(150),
        "calibration took {elapsed:?}"
    );
}

#[test]
fn zero_sizes_do_not_panic() {
    // `run` is only called on validated kernels, but a bad call must not bring a worker down.
    for k in [
        Kernel::Sort { len: 0 },
        Kernel::Search { len: 0 },
        Kernel::Analyze { len: 0 },
        Kernel::Hash { bytes: 0 },
        Kernel::MatMul { n: 0 },
        Kernel::Blur {
            width: 0,
            height: 5,
            radius: 1,
        },
        Kernel::Blur {
            width: 5,
            height: 0,
            radius: 1,
        },
        Kernel::Sharpen {
            width: 0,
            height: 0,
        },
        Kernel::Edge {
            width: 3,
            height: 0,
        },
        Kernel::Mandelbrot {
            width: 0,
            height: 3,
            max_iter: 0,
        },
        Kernel::Stencil { cells: 0, steps: 3 },
        Kernel::Stencil { cells: 2, steps: 3 },
        Kernel::Train {
            samples: 3,
            features: 0,
            epochs: 2,
        },
        Kernel::Request {
            cpu_us: 0.0,
            io_us: 0.0,
        },
        Kernel::Sleep { us: -1.0 },
        Kernel::Spin { us: f64::NAN },
    ] {
        k.run(1, 1);
    }
}
