//! The paired ratio the benches print beside criterion's figures.

use std::hint::black_box;

/// The median ratio of `ours` to `raw` (each timed over `iterations` runs) over 41 rounds that alternate the two, so that the
/// machine's drift (frequency, neighbours) hits both alike; criterion measures them minutes
/// apart.
pub(crate) fn paired_ratio<A, B>(iterations: usize, mut raw: impl FnMut() -> A, mut ours: impl FnMut() -> B) -> f64 {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..41)
        .map(|round| {
            // Which goes first alternates, so neither always runs on a warmer machine.
            let (raw_time, our_time) = if round % 2 == 0 {
                let raw_time = time(&mut || drop(black_box(raw())));
                (raw_time, time(&mut || drop(black_box(ours()))))
            } else {
                let our_time = time(&mut || drop(black_box(ours())));
                (time(&mut || drop(black_box(raw()))), our_time)
            };
            our_time / raw_time
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}
