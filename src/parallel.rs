//! Spreading independent work over the machine's cores: scoped threads,
//! results in order, no pool kept between calls. Used where a person
//! waits on a lot of reading (a long log's lines, a folder of sessions).

use std::num::NonZeroUsize;
use std::thread;

/// The most threads one call spreads over.
const MAX_THREADS: usize = 8;

/// How many threads the machine offers for work, at most [`MAX_THREADS`].
pub fn threads() -> usize {
    thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS)
}

/// `f` of every part, in order: the first part on this thread, each other
/// on a thread of its own. A part whose thread cannot be started is done
/// on this thread instead, and a panic in a part is raised here.
pub fn map<P: Sync, R: Send>(parts: &[P], f: impl Fn(&P) -> R + Sync) -> Vec<R> {
    let Some((first, rest)) = parts.split_first() else {
        return Vec::new();
    };
    let f = &f;
    thread::scope(|scope| {
        let helpers: Vec<_> = rest
            .iter()
            .map(|part| {
                thread::Builder::new()
                    .spawn_scoped(scope, move || f(part))
                    .map_err(|_| part)
            })
            .collect();
        let mut all = Vec::with_capacity(parts.len());
        all.push(f(first));
        for helper in helpers {
            all.push(match helper {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(part) => f(part),
            });
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_order_of_the_parts() {
        let parts: Vec<u64> = (0..20).collect();
        let squares = map(&parts, |n| {
            std::thread::sleep(std::time::Duration::from_millis(20 - n));
            n * n
        });
        assert_eq!(squares, parts.iter().map(|n| n * n).collect::<Vec<_>>());
        assert!(map(&[] as &[u8], |_| 0).is_empty());
        assert!(threads() >= 1);
    }
}
