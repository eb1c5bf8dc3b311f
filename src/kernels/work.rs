//! The compute bodies of the kernels, one plain function each.
//!
//! They take their generated input (or the generator) and return their output, so that the
//! tests can check the result itself (a sorted vector, a product matrix, an identity blur)
//! rather than only a checksum. [`super::Kernel::run`] builds the inputs from the seed, calls
//! these and folds the output into a checksum with [`Fold`].

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt};

/// An order-sensitive 64-bit checksum of a stream of words.
///
/// Rotating before the xor makes the fold depend on position, so a permuted output checksums
/// differently; the odd multiplier spreads every input bit over the state.
pub(super) struct Fold(u64);

impl Fold {
    pub(super) fn new() -> Fold {
        Fold(0x243F_6A88_85A3_08D3)
    }

    pub(super) fn push(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    pub(super) fn push_f64s(&mut self, values: &[f64]) {
        for v in values {
            self.push(v.to_bits());
        }
    }

    pub(super) fn push_bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(c);
            self.push(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.push(u64::from(b));
        }
    }

    pub(super) fn finish(&self) -> u64 {
        splitmix64(self.0)
    }
}

/// The `SplitMix64` finaliser: a cheap bijection that scrambles every bit.
pub(super) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

/// FNV-1a 64: one xor and one multiply per byte, a real (if simple) hash function.
pub(super) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// `Request` generates its payload in chunks of this size, so that a long request (a second
/// of CPU) streams through a small buffer the way a server reads a socket, instead of
/// allocating hundreds of megabytes.
pub(super) const REQUEST_CHUNK: usize = 64 * 1024;

/// The CPU part of a request: generate a `key=value&key=value...` body of about `bytes`
/// bytes, split it into fields, parse every value as a number and hash keys and values.
pub(super) fn request(rng: &mut Xoshiro256PlusPlus, bytes: usize) -> u64 {
    let mut buf = Vec::with_capacity(bytes.min(REQUEST_CHUNK) + 32);
    let mut h = FNV_OFFSET;
    let mut remaining = bytes;
    while remaining > 0 {
        buf.clear();
        let target = remaining.min(REQUEST_CHUNK);
        while buf.len() < target {
            push_field(rng, &mut buf);
        }
        remaining -= target;
        if super::stopped() {
            break;
        }
        for field in buf.split(|&b| b == b'&') {
            let Some(eq) = field.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&field[..eq], &field[eq + 1..]);
            let number = value.iter().fold(0u64, |n, &d| {
                n.wrapping_mul(10)
                    .wrapping_add(u64::from(d.wrapping_sub(b'0')))
            });
            h = fnv1a(h, key);
            h = (h ^ number).wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// Appends one `key=value&` field: a 3 to 10 letter key and a decimal u32.
pub(super) fn push_field(rng: &mut Xoshiro256PlusPlus, buf: &mut Vec<u8>) {
    let letters = rng.next_u64();
    let len = 3 + (letters % 8) as usize;
    for i in 0..len {
        buf.push(b'a' + ((letters >> (8 + 6 * i)) % 26) as u8);
    }
    buf.push(b'=');
    let mut value = rng.next_u32();
    let start = buf.len();
    loop {
        buf.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf[start..].reverse();
    buf.push(b'&');
}

/// `len` pseudo-random words, sorted.
///
/// Sorted in runs of [`SORT_RUN`] words that are then merged pairwise, so that the kernel can
/// notice [`super::stopped`] between steps of a fraction of a second each: one `sort_unstable`
/// of 100 million words takes seconds and cannot be interrupted.
pub(super) fn sort(rng: &mut Xoshiro256PlusPlus, len: usize) -> Vec<u64> {
    let mut v: Vec<u64> = (0..len).map(|_| rng.next_u64()).collect();
    if len <= SORT_RUN {
        v.sort_unstable();
        return v;
    }
    for run in v.chunks_mut(SORT_RUN) {
        if super::stopped() {
            return v;
        }
        run.sort_unstable();
    }
    let mut from = v;
    let mut to = vec![0u64; len];
    let mut width = SORT_RUN;
    while width < len {
        for (pair, out) in from.chunks(2 * width).zip(to.chunks_mut(2 * width)) {
            if super::stopped() {
                return from;
            }
            let (a, b) = pair.split_at(width.min(pair.len()));
            merge(a, b, out);
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
}

/// Words sorted at once by [`sort`] before merging: about 30 ms of sorting.
const SORT_RUN: usize = 1 << 20;

/// Merges the sorted `a` and `b` into `out` (of their joint length).
fn merge(a: &[u64], b: &[u64], out: &mut [u64]) {
    let (mut i, mut j) = (0, 0);
    for o in out.iter_mut() {
        // Take from `a` while it has the smaller (or only) head.
        if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            *o = a[i];
            i += 1;
        } else {
            *o = b[j];
            j += 1;
        }
    }
}

/// One row of the table `Search` scans.
#[derive(Clone, Copy)]
struct Record {
    id: u64,
    key: u32,
    score: f32,
}

/// What a `Search` found.
pub(super) struct Matches {
    pub(super) count: u64,
    pub(super) id_sum: u64,
    pub(super) score_sum: f64,
}

/// Generates `len` records, then scans them for `key % 16 == 3 && score > 0.5` (about one in
/// 32 matches), the shape of a filter over an in-memory table.
pub(super) fn search(rng: &mut Xoshiro256PlusPlus, len: usize) -> Matches {
    let table: Vec<Record> = (0..len as u64)
        .map(|id| Record {
            id,
            key: rng.next_u32(),
            score: rng.random::<f32>(),
        })
        .collect();
    let mut found = Matches {
        count: 0,
        id_sum: 0,
        score_sum: 0.0,
    };
    for r in table.iter().filter(|r| r.key % 16 == 3 && r.score > 0.5) {
        found.count += 1;
        found.id_sum = found.id_sum.wrapping_add(r.id);
        found.score_sum += f64::from(r.score);
    }
    found
}

/// `len` bell-shaped samples in [0, 30): the sum of three uniforms, scaled.
pub(super) fn samples(rng: &mut Xoshiro256PlusPlus, len: usize) -> Vec<f64> {
    (0..len)
        .map(|_| 10.0 * (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>()))
        .collect()
}

/// Summary statistics of a sample.
pub(super) struct Stats {
    pub(super) mean: f64,
    /// Population variance.
    pub(super) variance: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    /// 32 equal-width bins over [min, max].
    pub(super) histogram: [u64; 32],
}

/// Mean and variance in one pass (Welford's method, which stays accurate where the naive
/// sum of squares cancels), then a histogram over the observed range in a second pass.
pub(super) fn analyze(samples: &[f64]) -> Stats {
    let (mut mean, mut m2) = (0.0, 0.0);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, &x) in samples.iter().enumerate() {
        let d = x - mean;
        mean += d / (i + 1) as f64;
        m2 += d * (x - mean);
        min = min.min(x);
        max = max.max(x);
    }
    let mut histogram = [0u64; 32];
    let width = max - min;
    for &x in samples {
        // A zero range puts everything in the first bin; the cast saturates, `min` clamps.
        let bin = if width > 0.0 {
            ((x - min) / width * 32.0) as usize
        } else {
            0
        };
        histogram[bin.min(31)] += 1;
    }
    Stats {
        mean,
        variance: m2 / samples.len().max(1) as f64,
        min,
        max,
        histogram,
    }
}

/// Fills a `bytes`-long buffer with random bytes and hashes it with FNV-1a.
pub(super) fn hash(rng: &mut Xoshiro256PlusPlus, bytes: usize) -> u64 {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    fnv1a(FNV_OFFSET, &buf)
}

/// An `n`×`n` row-major matrix of values in [-1, 1).
pub(super) fn matrix(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|_| 2.0 * rng.random::<f64>() - 1.0)
        .collect()
}

/// `a`·`b` for row-major `n`×`n` matrices, in i-k-j order: the inner loop walks rows of `b`
/// and `c` contiguously, so it streams through cache and vectorises.
pub(super) fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    if n == 0 {
        return c;
    }
    for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
        // A row is n² multiply-adds: at most tens of ms for the largest matrix allowed.
        if super::stopped() {
            break;
        }
        for (&aik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (cij, &bkj) in c_row.iter_mut().zip(b_row) {
                *cij += aik * bkj;
            }
        }
    }
    c
}

/// A `width`×`height` grayscale image of random pixels.
pub(super) fn image(rng: &mut Xoshiro256PlusPlus, width: usize, height: usize) -> Vec<u8> {
    let mut img = vec![0u8; width * height];
    rng.fill_bytes(&mut img);
    img
}

/// Box blur with a (2r+1)×(2r+1) window, as two separable passes; edges repeat the border
/// pixel. Each pass sums 2r+1 shifted rows, so the inner loops are straight slice additions
/// that vectorise, and the cost grows with the radius as a real box filter's does.
pub(super) fn box_blur(img: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let taps = 2 * radius + 1;
    // `taps` is at most 2·MAX_RADIUS + 1, so sums of 255s fit in u32 and the divisor in u32.
    let div = taps as u32;
    let round = |sum: u32| ((sum + div / 2) / div) as u8;
    let mut acc = vec![0u32; width];

    // Horizontal pass, through a padded copy of each row so every tap is an in-bounds slice.
    let mut tmp = vec![0u8; width * height];
    let mut padded = vec![0u8; width + 2 * radius];
    for (row, out) in img
        .chunks_exact(width.max(1))
        .zip(tmp.chunks_exact_mut(width.max(1)))
    {
        if super::stopped() {
            break;
        }
        let (first, last) = (row[0], row[width - 1]);
        padded[..radius].fill(first);
        padded[radius..radius + width].copy_from_slice(row);
        padded[radius + width..].fill(last);
        acc.fill(0);
        for k in 0..taps {
            for (a, &p) in acc.iter_mut().zip(&padded[k..k + width]) {
                *a += u32::from(p);
            }
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = round(a);
        }
    }

    // Vertical pass: add whole rows y-r..=y+r (clamped) into the accumulator.
    let mut out = vec![0u8; width * height];
    for (y, out_row) in out.chunks_exact_mut(width.max(1)).enumerate() {
        if super::stopped() {
            break;
        }
        acc.fill(0);
        for k in 0..taps {
            let src = (y + k).saturating_sub(radius).min(height - 1);
            for (a, &p) in acc.iter_mut().zip(&tmp[src * width..(src + 1) * width]) {
                *a += u32::from(p);
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = round(a);
        }
    }
    out
}

/// Applies `f(up, mid, down, left, x, right)` to every pixel, with edges clamped: the shared
/// frame of the 3×3 filters.
fn filter3x3(
    img: &[u8],
    width: usize,
    height: usize,
    f: impl Fn([&[u8]; 3], [usize; 3]) -> u8,
) -> Vec<u8> {
    let mut out = vec![0u8; width * height];
    for (y, out_row) in out.chunks_exact_mut(width.max(1)).enumerate() {
        if super::stopped() {
            break;
        }
        let row = |r: usize| &img[r * width..(r + 1) * width];
        let rows = [
            row(y.saturating_sub(1)),
            row(y),
            row((y + 1).min(height - 1)),
        ];
        for (x, o) in out_row.iter_mut().enumerate() {
            *o = f(rows, [x.saturating_sub(1), x, (x + 1).min(width - 1)]);
        }
    }
    out
}

/// The 3×3 sharpen kernel [0 −1 0; −1 5 −1; 0 −1 0], clamped to 0..=255.
pub(super) fn sharpen(img: &[u8], width: usize, height: usize) -> Vec<u8> {
    filter3x3(img, width, height, |[up, mid, down], [l, x, r]| {
        let p = |row: &[u8], i: usize| i32::from(row[i]);
        (5 * p(mid, x) - p(up, x) - p(down, x) - p(mid, l) - p(mid, r)).clamp(0, 255) as u8
    })
}

/// Sobel edge magnitude √(gx² + gy²), clamped to 255.
pub(super) fn sobel(img: &[u8], width: usize, height: usize) -> Vec<u8> {
    filter3x3(img, width, height, |[up, mid, down], [l, x, r]| {
        let p = |row: &[u8], i: usize| f32::from(row[i]);
        let gx = p(up, r) + 2.0 * p(mid, r) + p(down, r) - p(up, l) - 2.0 * p(mid, l) - p(down, l);
        let gy = p(down, l) + 2.0 * p(down, x) + p(down, r) - p(up, l) - 2.0 * p(up, x) - p(up, r);
        (gx * gx + gy * gy).sqrt().min(255.0) as u8
    })
}

/// A rendered Mandelbrot frame.
pub(super) struct Frame {
    /// Escape iteration of each pixel, row-major; `max_iter` for points inside the set.
    pub(super) pixels: Vec<u32>,
    /// Iterations done in all: the frame's cost.
    pub(super) iterations: u64,
}

/// The point the animation zooms toward: in "seahorse valley", on the set's boundary, so
/// every zoom level shows both escaping and captive points.
const ZOOM_TARGET: (f64, f64) = (-0.743_643_887_037_151, 0.131_825_904_205_330);
/// Centre of the widest frame, which shows the whole set.
const ZOOM_HOME: (f64, f64) = (-0.75, 0.0);
/// Frames in one zoom in-and-out cycle.
const ZOOM_PERIOD: u64 = 48;
/// View half-width of the widest frame, and the zoom factor from one frame to the next.
const ZOOM_START: f64 = 1.4;
const ZOOM_STEP: f64 = 0.85;

/// The region of the plane frame `task` shows: (centre re, centre im, half-width,
/// half-height).
///
/// The view zooms from the whole set toward [`ZOOM_TARGET`] for half a period and back out
/// for the other half (a triangle wave), keeping the target at a fixed place on screen. So
/// successive frames differ, and their cost (mostly the share of points inside the set, which
/// run to `max_iter`) rises from 0.4× to 1.3× of the mean and dips again at the deepest zoom,
/// but never runs away as an endless zoom into the boundary would. The seed nudges the centre
/// by at most 1% of the view, so runs with different seeds render different frames of the
/// same cost profile. The region does not depend on the image size: a taller image samples
/// the same region more finely.
pub(super) fn view(seed: u64, task: u64) -> (f64, f64, f64, f64) {
    let phase = task % ZOOM_PERIOD;
    let depth = phase.min(ZOOM_PERIOD - phase);
    // Repeated multiplication rather than `powi`, whose rounding is not pinned down across
    // platforms: the frames, and so the checksums, must replay everywhere.
    let zoom = (0..depth).fold(1.0, |z, _| z * ZOOM_STEP);
    let half_w = ZOOM_START * zoom;
    let nudge = splitmix64(seed);
    let unit = |bits: u64| (bits & 0xFFFF) as f64 / 65536.0 - 0.5;
    let cx = ZOOM_TARGET.0 + (ZOOM_HOME.0 - ZOOM_TARGET.0) * zoom + 0.02 * half_w * unit(nudge);
    let cy =
        ZOOM_TARGET.1 + (ZOOM_HOME.1 - ZOOM_TARGET.1) * zoom + 0.02 * half_w * unit(nudge >> 16);
    (cx, cy, half_w, 0.75 * half_w)
}

/// Renders frame `task` at `width`×`height` with escape radius 2.
pub(super) fn mandelbrot(
    width: usize,
    height: usize,
    max_iter: u32,
    seed: u64,
    task: u64,
) -> Frame {
    let (cx, cy, half_w, half_h) = view(seed, task);
    let mut pixels = vec![0u32; width * height];
    let mut iterations = 0u64;
    let (dx, dy) = (
        2.0 * half_w / width.max(1) as f64,
        2.0 * half_h / height.max(1) as f64,
    );
    for (y, row) in pixels.chunks_exact_mut(width.max(1)).enumerate() {
        if super::stopped() {
            break;
        }
        let ci = cy - half_h + (y as f64 + 0.5) * dy;
        for (x, px) in row.iter_mut().enumerate() {
            let cr = cx - half_w + (x as f64 + 0.5) * dx;
            let (mut zr, mut zi, mut i) = (0.0f64, 0.0f64, 0u32);
            // In blocks of 2¹⁶ iterations, looking at `stopped` between them: `max_iter` may
            // be four billion, and the inner loop stays as tight as without the check.
            loop {
                let block_end = max_iter.min(i.saturating_add(1 << 16));
                while i < block_end && zr * zr + zi * zi <= 4.0 {
                    let t = zr * zr - zi * zi + cr;
                    zi = 2.0 * zr * zi + ci;
                    zr = t;
                    i += 1;
                }
                if i < block_end || i == max_iter || super::stopped() {
                    break;
                }
            }
            *px = i;
            iterations += u64::from(i);
        }
    }
    Frame { pixels, iterations }
}

/// 1D heat diffusion: `steps` Jacobi sweeps of u ← u + ¼·(left − 2u + right) over `cells`
/// cells of random initial temperature, the two ends held fixed.
pub(super) fn stencil(rng: &mut Xoshiro256PlusPlus, cells: usize, steps: usize) -> Vec<f64> {
    let mut u: Vec<f64> = (0..cells).map(|_| rng.random::<f64>()).collect();
    if cells < 3 {
        return u;
    }
    let mut next = u.clone();
    // Look at `stopped` about every 2¹⁶ cell updates (every step for large regions).
    let poll = (1usize << 16).div_ceil(cells).next_power_of_two() - 1;
    for step in 0..steps {
        if step & poll == 0 && super::stopped() {
            break;
        }
        for (n, w) in next[1..cells - 1].iter_mut().zip(u.windows(3)) {
            *n = w[1] + 0.25 * (w[0] - 2.0 * w[1] + w[2]);
        }
        std::mem::swap(&mut u, &mut next);
    }
    u
}

/// A trained linear model and the weights the data was generated from.
pub(super) struct Fit {
    pub(super) weights: Vec<f64>,
    pub(super) truth: Vec<f64>,
}

/// Stochastic gradient descent for least-squares linear regression on generated data
/// (y = x·truth + small noise), one sample at a time for `epochs` passes.
pub(super) fn train(
    rng: &mut Xoshiro256PlusPlus,
    samples: usize,
    features: usize,
    epochs: usize,
) -> Fit {
    let truth: Vec<f64> = (0..features)
        .map(|_| 2.0 * rng.random::<f64>() - 1.0)
        .collect();
    let xs: Vec<f64> = (0..samples * features)
        .map(|_| 2.0 * rng.random::<f64>() - 1.0)
        .collect();
    let ys: Vec<f64> = xs
        .chunks_exact(features.max(1))
        .map(|x| dot(x, &truth) + 0.01 * (rng.random::<f64>() - 0.5))
        .collect();
    // |x|² averages features/3, so this rate keeps every step well inside the stable range.
    let rate = 0.5 / features.max(1) as f64;
    let mut w = vec![0.0; features];
    for _ in 0..epochs {
        // An epoch is one pass over at most 1 GiB of samples: a fraction of a second.
        if super::stopped() {
            break;
        }
        for (x, &y) in xs.chunks_exact(features.max(1)).zip(&ys) {
            let step = rate * (dot(x, &w) - y);
            for (wi, &xi) in w.iter_mut().zip(x) {
                *wi -= step * xi;
            }
        }
    }
    Fit { weights: w, truth }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
