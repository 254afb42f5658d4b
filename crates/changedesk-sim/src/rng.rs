//! Seed derivation and small sampling helpers.
//!
//! Every item (a post, an issue, a tenant's view of a post) gets its own
//! `ChaCha8Rng` seeded from a hash of (stream, seed, item key). An item's
//! content therefore never depends on how many other items were generated
//! before it, which keeps tenant views and `advance` stable.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) type SimRng = ChaCha8Rng;

/// Streams keep derivations for different purposes independent.
pub(crate) mod stream {
    pub(crate) const LAYOUT: u64 = 0x4c41_594f;
    pub(crate) const MESSAGE: u64 = 0x4d53_4731;
    pub(crate) const VISIBLE: u64 = 0x5649_5331;
    pub(crate) const ROLLOUT: u64 = 0x524f_4c4c;
    pub(crate) const ISSUE: u64 = 0x4953_5331;
    pub(crate) const ISSUE_LAYOUT: u64 = 0x4953_4c59;
    pub(crate) const ISSUE_VISIBLE: u64 = 0x4953_5649;
    pub(crate) const ISSUE_STEP: u64 = 0x4953_5450;
    pub(crate) const ADVANCE_EDIT: u64 = 0x4144_4531;
    pub(crate) const ADVANCE_NEW: u64 = 0x4144_4e31;
    pub(crate) const ADVANCE_ISSUE: u64 = 0x4144_4931;
    pub(crate) const ADVANCE_NEW_ISSUE: u64 = 0x4144_4e49;
    pub(crate) const TENANT: u64 = 0x5445_4e31;
    pub(crate) const ADVANCE_LATE: u64 = 0x4144_4c54;
}

pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Order-sensitive hash of a few integers.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for &p in parts {
        h = splitmix64(h ^ splitmix64(p));
    }
    h
}

/// A hash mapped to [0, 1).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn rng_for(parts: &[u64]) -> SimRng {
    SimRng::seed_from_u64(mix(parts))
}

pub(crate) fn chance(rng: &mut SimRng, p: f64) -> bool {
    rng.random::<f64>() < p
}

pub(crate) fn pick<T: Copy>(rng: &mut SimRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Between `lo` and `hi` (inclusive) distinct items, in random order.
pub(crate) fn pick_some<T: Copy>(rng: &mut SimRng, items: &[T], lo: usize, hi: usize) -> Vec<T> {
    let n = if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    };
    let n = n.min(items.len());
    let mut idx: Vec<usize> = (0..items.len()).collect();
    for i in 0..n {
        let j = rng.random_range(i..idx.len());
        idx.swap(i, j);
    }
    idx[..n].iter().map(|&i| items[i]).collect()
}

pub(crate) fn weighted<T: Copy>(rng: &mut SimRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Inverse-CDF sampling from a piecewise-linear quantile table
/// `[(quantile, value)]`, quantiles ascending from 0 to 1.
pub(crate) fn from_quantiles(rng: &mut SimRng, table: &[(f64, f64)]) -> f64 {
    let u: f64 = rng.random();
    for w in table.windows(2) {
        let (q0, v0) = w[0];
        let (q1, v1) = w[1];
        if u <= q1 {
            let f = if q1 > q0 { (u - q0) / (q1 - q0) } else { 0.0 };
            return v0 + f * (v1 - v0);
        }
    }
    table[table.len() - 1].1
}

/// An integer in `lo..=hi`.
pub(crate) fn between(rng: &mut SimRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// Maps `f` over `items` on a few threads, keeping order. The result does
/// not depend on the number of threads: every item derives its own RNG.
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || items.len() < 2_000 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}
