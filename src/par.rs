//! Two-way parallelism for large projects, with the standard library only.
//!
//! A pre-commit hook converts a handful of services in a few milliseconds; starting a thread
//! would only add to that, so everything here runs in order below [`LARGE`] items. Above it,
//! independent steps use a second core: parsing, interpolating, reading and mapping halves of
//! the services, checking them against the schema and validating objects in chunks taken by
//! whichever thread is free, sorting the object list in halves and rendering it from both
//! ends (ARCHITECTURE.md lists them). Results are combined in
//! input order, so output and diagnostics are byte-identical to a sequential run. When a
//! thread cannot be started, the work runs on the calling thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The number of items (services, objects) from which work is split over two threads.
pub const LARGE: usize = 256;

static SEQUENTIAL: AtomicBool = AtomicBool::new(false);

/// Run everything on the calling thread from now on (`true`), or split large work again
/// (`false`, the default). For tests and benchmarks that compare the two.
pub fn set_sequential(sequential: bool) {
    SEQUENTIAL.store(sequential, Ordering::Relaxed);
}

/// Whether everything runs on the calling thread ([`set_sequential`]).
pub fn sequential() -> bool {
    SEQUENTIAL.load(Ordering::Relaxed)
}

/// Run `a` and `b` and return both results: `a` on a second thread when `parallel` (and a
/// thread can be started), `b` on this one.
pub fn join<A, B, RA, RB>(parallel: bool, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB,
    RA: Send,
{
    if !parallel || sequential() {
        let ra = a();
        return (ra, b());
    }
    let slot = Mutex::new(Some(a));
    let (ra, rb) = std::thread::scope(|scope| {
        let take = || slot.lock().ok().and_then(|mut a| a.take());
        let spawned = std::thread::Builder::new().spawn_scoped(scope, move || take().map(|a| a()));
        let rb = b();
        let ra = match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        };
        (ra, rb)
    });
    match ra {
        Some(ra) => (ra, rb),
        // The thread could not be started: `a` is still in its slot.
        None => {
            let a = slot.into_inner().ok().flatten().expect("`a` runs on the thread or here, exactly once");
            (a(), rb)
        }
    }
}

/// `items` sorted as a stable sort orders them: for a large list, each half sorted on its own
/// thread and the halves merged (the first half's item first when two are equal).
pub fn sort_by<T: Send>(mut items: Vec<T>, compare: impl Fn(&T, &T) -> std::cmp::Ordering + Sync) -> Vec<T> {
    if items.len() < LARGE || sequential() {
        items.sort_by(&compare);
        return items;
    }
    let mut second = items.split_off(items.len() / 2);
    let compare = &compare;
    let ((), ()) = join(true, || second.sort_by(compare), || items.sort_by(compare));
    let mut merged = Vec::with_capacity(items.len() + second.len());
    let (mut first, mut second) = (items.into_iter().peekable(), second.into_iter().peekable());
    while let (Some(a), Some(b)) = (first.peek(), second.peek()) {
        let next = if compare(b, a) == std::cmp::Ordering::Less { second.next() } else { first.next() };
        merged.extend(next);
    }
    merged.extend(first);
    merged.extend(second);
    merged
}

/// How many items [`free`] drops between two requests of a large block (measured at 10,000
/// services: every 16 to 256 gains, 64 the most).
pub const FREE_STEP: usize = 64;

/// Drop a large collection a few items at a time, for a step that is done with it (the
/// parsed tree, the model, the objects).
///
/// Dropped whole, the tree of 10,000 services leaves half a million small blocks on glibc's
/// lists of free small blocks, and its next request of 1 KiB or more makes it merge them all
/// at once, reading blocks long gone from the cache (`malloc_consolidate`: about 5% of such a
/// conversion's time). A request of that size after every [`FREE_STEP`] items has it merge
/// the blocks just freed, while they are still in the cache. A collection of [`LARGE`] items
/// or more is freed in two halves at once: of the tree and the model, the second half was
/// mostly made on the second thread (the parse's second part, the second read lane), so its
/// blocks go back to that thread's allocator arena, which a new thread is usually given
/// again and so tidies the same way (the objects, sorted by kind, come from both threads in
/// turns). Other allocators merely serve and free the requests. docs/performance.md has the
/// measurements.
pub fn free<T: Send>(mut items: Vec<T>) {
    let second = if items.len() >= LARGE { items.split_off(items.len() / 2) } else { Vec::new() };
    join(!second.is_empty(), || free_in_steps(second), || free_in_steps(items));
}

/// Drop `items` in order, requesting and freeing a block of the allocator's large sizes after
/// every [`FREE_STEP`] of them.
fn free_in_steps<T>(items: Vec<T>) {
    for (i, item) in items.into_iter().enumerate() {
        drop(item);
        if (i + 1) % FREE_STEP == 0 {
            drop(std::hint::black_box(Vec::<u8>::with_capacity(2048)));
        }
    }
}

/// `items` taken from both ends at once, until the two ends meet: this thread takes them
/// in order from the front, adding each to `front` with `on_front`; a second thread takes
/// them from the back, making something of each with `on_back`. Whichever thread runs faster
/// (on a shared machine one core is often slower for a while) takes more, so both end
/// together. Returns `front` and what `on_back` made, in item order. Everything runs on this
/// thread, from the front, unless `parallel`.
pub fn from_both_ends<'a, T: Sync, A, B: Send>(
    parallel: bool,
    items: &'a [T],
    mut front: A,
    on_front: impl Fn(&mut A, &'a T),
    on_back: impl Fn(&'a T) -> B + Sync,
) -> (A, Vec<B>) {
    if !parallel || sequential() {
        for item in items {
            on_front(&mut front, item);
        }
        return (front, Vec::new());
    }
    // Every item is taken once: a claim counts, and only the first `items.len()` are kept.
    let claimed = AtomicUsize::new(0);
    let claim = || claimed.fetch_add(1, Ordering::Relaxed) < items.len();
    let (mut back, front) = join(
        true,
        || {
            let mut back = Vec::new();
            let mut end = items.len();
            while claim() {
                end -= 1;
                back.push(on_back(&items[end]));
            }
            back
        },
        || {
            let mut start = 0;
            while claim() {
                on_front(&mut front, &items[start]);
                start += 1;
            }
            front
        },
    );
    back.reverse();
    (front, back)
}

/// Items handed out a chunk at a time to whichever thread asks next, so that two threads
/// that each have other work too end together: each [`Chunks::take`]s until none are left,
/// and [`Chunks::merge`] puts the results back in item order.
pub struct Chunks<'a, T> {
    items: &'a [T],
    size: usize,
    next: AtomicUsize,
}

/// Results of some chunks, each with the chunk's number.
pub type Taken<R> = Vec<(usize, Vec<R>)>;

impl<'a, T> Chunks<'a, T> {
    pub fn new(items: &'a [T], size: usize) -> Chunks<'a, T> {
        Chunks { items, size: size.max(1), next: AtomicUsize::new(0) }
    }

    /// `f` over chunks of the items, until every chunk is taken (by this thread or another).
    pub fn take<R>(&self, f: impl Fn(&'a T) -> R) -> Taken<R> {
        let mut out = Vec::new();
        loop {
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(start) = chunk.checked_mul(self.size).filter(|&s| s < self.items.len()) else { break };
            let end = (start + self.size).min(self.items.len());
            out.push((chunk, self.items[start..end].iter().map(&f).collect()));
        }
        out
    }

    /// The results of every chunk, in item order.
    pub fn merge<R>(self, parts: impl IntoIterator<Item = Taken<R>>) -> Vec<R> {
        let mut all: Taken<R> = parts.into_iter().flatten().collect();
        all.sort_unstable_by_key(|&(chunk, _)| chunk);
        all.into_iter().flat_map(|(_, results)| results).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sort_in_halves_is_a_stable_sort() {
        // Keys with many ties, each item marked with its place so stability shows.
        let mut seed = 7u64;
        let items: Vec<(u64, usize)> = (0..3 * LARGE)
            .map(|i| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 33) % 50, i)
            })
            .collect();
        let mut expected = items.clone();
        expected.sort_by_key(|&(key, _)| key);
        assert_eq!(sort_by(items.clone(), |a, b| a.0.cmp(&b.0)), expected);
        assert_eq!(sort_by(items[..10].to_vec(), |a, b| a.0.cmp(&b.0)), {
            let mut few = items[..10].to_vec();
            few.sort_by_key(|&(key, _)| key);
            few
        });
    }

    #[test]
    fn freeing_drops_every_item_once_each_half_in_order() {
        struct Marked<'a>(usize, &'a Mutex<Vec<usize>>);
        impl Drop for Marked<'_> {
            fn drop(&mut self) {
                self.1.lock().unwrap().push(self.0);
            }
        }
        for n in [0, 1, FREE_STEP, FREE_STEP + 1, LARGE - 1, 3 * LARGE + 1] {
            let dropped = Mutex::new(Vec::new());
            free((0..n).map(|i| Marked(i, &dropped)).collect());
            let dropped = dropped.into_inner().unwrap();
            let half = if n >= LARGE { n / 2 } else { n };
            let first: Vec<usize> = dropped.iter().copied().filter(|&i| i < half).collect();
            let second: Vec<usize> = dropped.iter().copied().filter(|&i| i >= half).collect();
            assert_eq!(first, (0..half).collect::<Vec<_>>(), "{n} items: the first half, in order");
            assert_eq!(second, (half..n).collect::<Vec<_>>(), "{n} items: the second half, in order");
        }
    }

    #[test]
    fn results_come_back_in_order_either_way() {
        for parallel in [false, true] {
            assert_eq!(join(parallel, || 1, || "b"), (1, "b"));
        }
    }

    #[test]
    fn both_ends_take_every_item_once_in_order() {
        let items: Vec<usize> = (0..1000).collect();
        for parallel in [false, true] {
            for n in [0, 1, 2, 3, 999, 1000] {
                let (front, back) =
                    from_both_ends(parallel, &items[..n], Vec::new(), |front, &i| front.push(i), |&i| i);
                assert_eq!([front.clone(), back].concat(), items[..n], "{n} items, parallel: {parallel}");
                if !parallel {
                    assert_eq!(front.len(), n, "in order, everything from the front");
                }
            }
        }
        // However slow the front is, the back takes the rest.
        let (front, back) = from_both_ends(
            true,
            &items,
            0,
            |taken, _| {
                *taken += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            },
            |&i| i,
        );
        assert_eq!(front + back.len(), items.len());
        assert_eq!(back, items[front..]);
    }

    #[test]
    fn chunks_come_back_in_order_whoever_takes_them() {
        let items: Vec<usize> = (0..1000).collect();
        for size in [1, 7, 256, 5000] {
            let chunks = Chunks::new(&items, size);
            let (a, b) = join(true, || chunks.take(|&i| i * 2), || chunks.take(|&i| i * 2));
            assert_eq!(chunks.merge([a, b]), items.iter().map(|i| i * 2).collect::<Vec<_>>(), "chunks of {size}");
        }
        let none: [usize; 0] = [];
        let chunks = Chunks::new(&none, 4);
        let taken = chunks.take(|&i| i);
        assert!(chunks.merge([taken]).is_empty());
    }
}
