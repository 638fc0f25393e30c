//! Where the data-parallel loops of the INT8 blocks run.
//!
//! A plan with one thread runs its INT8 blocks on the calling thread ([`enter_inline`], set by
//! `Plan::run`): handing a run to a one-worker rayon pool and waiting for it costs two cross-thread
//! wake-ups per call, measured at 10–35 µs on the 2-core guest (as much as the whole `fc` kernel).
//! Otherwise the loops are rayon parallel iterators in the current pool (the plan's own pool).
//! Both ways run the same tasks with the same per-element arithmetic (parallelism is never over a
//! reduction), so the results are bit-identical.

use rayon::prelude::*;
use std::cell::Cell;

thread_local! {
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Restores the previous mode when dropped.
#[derive(Debug)]
pub struct InlineGuard(bool);

impl Drop for InlineGuard {
    fn drop(&mut self) {
        INLINE.with(|c| c.set(self.0));
    }
}

/// Runs the loops of this thread sequentially until the guard is dropped.
pub fn enter_inline() -> InlineGuard {
    InlineGuard(INLINE.with(|c| c.replace(true)))
}

fn inline() -> bool {
    INLINE.with(Cell::get)
}

/// `f(index, chunk)` for every `size`-element chunk of `data`.
pub fn for_each_chunk<T: Send>(data: &mut [T], size: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let size = size.max(1);
    if inline() {
        data.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        data.par_chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// `f(index, a chunk, b chunk)` over the chunks of two slices in step (as many as the shorter).
pub fn for_each_chunk2<A: Send, B: Send>(
    a: &mut [A],
    asize: usize,
    b: &mut [B],
    bsize: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    let (asize, bsize) = (asize.max(1), bsize.max(1));
    if inline() {
        a.chunks_mut(asize).zip(b.chunks_mut(bsize)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.par_chunks_mut(asize).zip(b.par_chunks_mut(bsize)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// `f(dst chunk, src chunk)` over `size`-element chunks in step; true when any call returned true.
pub fn any_zip_chunks<A: Send, B: Sync>(
    dst: &mut [A],
    src: &[B],
    size: usize,
    f: impl Fn(&mut [A], &[B]) -> bool + Sync + Send,
) -> bool {
    let size = size.max(1);
    if inline() {
        dst.chunks_mut(size).zip(src.chunks(size)).fold(false, |acc, (d, s)| f(d, s) || acc)
    } else {
        dst.par_chunks_mut(size).zip(src.par_chunks(size)).map(|(d, s)| f(d, s)).reduce(|| false, |a, b| a || b)
    }
}

/// `f(state, index, chunk)` for every chunk, with one `init()` state per worker; the first error.
pub fn try_for_each_chunk_init<T: Send, S, E: Send>(
    data: &mut [T],
    size: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize, &mut [T]) -> Result<(), E> + Sync + Send,
) -> Result<(), E> {
    let size = size.max(1);
    if inline() {
        let mut s = init();
        data.chunks_mut(size).enumerate().try_for_each(|(i, c)| f(&mut s, i, c))
    } else {
        data.par_chunks_mut(size).enumerate().map_init(init, |s, (i, c)| f(s, i, c)).collect()
    }
}

/// `f(item)` for every item; the first error.
pub fn try_for_each<T: Send, E: Send>(items: Vec<T>, f: impl Fn(T) -> Result<(), E> + Sync + Send) -> Result<(), E> {
    if inline() {
        items.into_iter().try_for_each(f)
    } else {
        items.into_par_iter().map(f).collect()
    }
}

/// `[f(0), …, f(n − 1)]`.
pub fn map_range<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if inline() {
        (0..n).map(f).collect()
    } else {
        (0..n).into_par_iter().map(f).collect()
    }
}
