//! The paired ratio the benches print beside criterion's figures.

use std::hint::black_box;

/// The median ratio of `ours` to `raw` (each timed over `iterations` runs) over 41 rounds that alternate the two, so that the
/// machine's drift (frequency, neighbours) hits both alike; criterion measures them minutes
/// apart.
pub(crate) fn paired_ratio<A, B>(iterations: usize, raw: impl FnMut() -> A, mut ours: impl FnMut() -> B) -> f64 {
    paired_ratio_with_input(iterations, raw, || (), |()| ours())
}

/// As [`paired_ratio`], for an `ours` that consumes an input (an owned body, as a driver hands
/// over what it read): the inputs of a round are made before its clock starts.
#[allow(dead_code, reason = "the bills bench uses paired_ratio only")]
pub(crate) fn paired_ratio_with_input<A, B, I>(
    iterations: usize,
    mut raw: impl FnMut() -> A,
    mut input: impl FnMut() -> I,
    mut ours: impl FnMut(I) -> B,
) -> f64 {
    let mut time_raw = || {
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            drop(black_box(raw()));
        }
        start.elapsed().as_secs_f64()
    };
    let mut time_ours = || {
        let inputs: Vec<I> = (0..iterations).map(|_| input()).collect();
        let start = std::time::Instant::now();
        for input in inputs {
            drop(black_box(ours(input)));
        }
        start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..41)
        .map(|round| {
            // Which goes first alternates, so neither always runs on a warmer machine.
            let (raw_time, our_time) = if round % 2 == 0 {
                let raw_time = time_raw();
                (raw_time, time_ours())
            } else {
                let our_time = time_ours();
                (time_raw(), our_time)
            };
            our_time / raw_time
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}
