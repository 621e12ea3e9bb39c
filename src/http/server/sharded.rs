//! A counter and a histogram that the server's workers update without
//! writing a shared cache line: each thread adds into one of a few padded
//! slots, and the exposition sums them. prometheus-client's own take a
//! mutex (the histogram) or share one atomic (the counter), which every
//! request wrote from every worker (BENCHMARKS.md, "HTTP from outside").
//! They encode exactly as prometheus-client's `Counter` and classic
//! `Histogram` do.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

// A value on cache lines of its own: the crate's one padding.
use crate::sync::Padded as Line;

/// Slots per metric; threads take them in turn.
const SLOTS: usize = 4;

/// The slot of the current thread.
fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|slot| *slot)
}

/// A monotonic counter, encoded as prometheus-client's `Counter`.
#[derive(Clone, Default, Debug)]
pub(crate) struct ShardedCounter(Arc<[Line<AtomicU64>; SLOTS]>);

impl ShardedCounter {
    pub(crate) fn inc(&self) {
        self.0[slot()].0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for ShardedCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ShardedCounter {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> fmt::Result {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Buckets of the latency histogram: 50 µs to ~1.6 s, doubling, and +Inf.
const BUCKETS: usize = 17;

/// A classic histogram with the buckets of `exponential_buckets(0.000_05,
/// 2.0, 16)` and +Inf, encoded as prometheus-client's `Histogram`. Its
/// count is the sum of its buckets, so the two always agree.
#[derive(Clone, Debug)]
pub(crate) struct ShardedHistogram(Arc<Histogram>);

#[derive(Debug)]
struct Histogram {
    bounds: [f64; BUCKETS],
    slots: [Line<Slot>; SLOTS],
}

#[derive(Default, Debug)]
struct Slot {
    /// The sum of the observations, as `f64` bits.
    sum: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

impl ShardedHistogram {
    /// The latency buckets: 50 µs to ~1.6 s, doubling.
    pub(crate) fn latency() -> Self {
        let mut bounds = [f64::INFINITY; BUCKETS];
        for (bound, upper) in
            bounds
                .iter_mut()
                .zip(prometheus_client::metrics::histogram::exponential_buckets(
                    0.000_05, 2.0, 16,
                ))
        {
            *bound = upper;
        }
        ShardedHistogram(Arc::new(Histogram {
            bounds,
            slots: Default::default(),
        }))
    }

    pub(crate) fn observe(&self, value: f64) {
        let histogram = &*self.0;
        let slot = &histogram.slots[slot()].0;
        // The first bucket that holds it; NaN goes to +Inf, as in
        // prometheus-client.
        let bucket = histogram
            .bounds
            .iter()
            .position(|upper| *upper >= value)
            .unwrap_or(BUCKETS - 1);
        slot.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        // Only this thread's slot (mostly): the exchange succeeds at once.
        let _ = slot
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

impl TypedMetric for ShardedHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for ShardedHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> fmt::Result {
        let histogram = &*self.0;
        let mut sum = 0.0;
        let mut buckets: Vec<(f64, u64)> = histogram.bounds.iter().map(|b| (*b, 0)).collect();
        for slot in &histogram.slots {
            sum += f64::from_bits(slot.0.sum.load(Ordering::Relaxed));
            for (bucket, count) in buckets.iter_mut().zip(&slot.0.buckets) {
                bucket.1 += count.load(Ordering::Relaxed);
            }
        }
        let count = buckets.iter().map(|(_, n)| n).sum();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram as Classic;
    use prometheus_client::registry::Registry;

    fn text(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap_or_default();
        text
    }

    #[test]
    fn they_encode_as_prometheus_clients_own() {
        let values = [0.00001, 0.00005, 0.0003, 0.25, 1.0, 3.0, 100.0, f64::NAN];
        let mut ours = Registry::with_prefix("x");
        let (counter, histogram) = (ShardedCounter::default(), ShardedHistogram::latency());
        ours.register("requests", "help", counter.clone());
        ours.register("latency", "help", histogram.clone());
        let mut theirs = Registry::with_prefix("x");
        let (their_counter, their_histogram) = (
            Counter::<u64>::default(),
            Classic::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_05, 2.0, 16,
            )),
        );
        theirs.register("requests", "help", their_counter.clone());
        theirs.register("latency", "help", their_histogram.clone());
        // Without the NaN, whose sum is NaN on both sides but prints alike.
        for value in &values[..values.len() - 1] {
            counter.inc();
            histogram.observe(*value);
            their_counter.inc();
            their_histogram.observe(*value);
        }
        assert_eq!(text(&ours), text(&theirs));
        std::thread::scope(|s| {
            s.spawn(|| {
                counter.inc();
                histogram.observe(f64::NAN);
            });
        });
        their_counter.inc();
        their_histogram.observe(f64::NAN);
        assert_eq!(text(&ours), text(&theirs));

        let family = Family::<Vec<(String, String)>, ShardedHistogram>::new_with_constructor(
            ShardedHistogram::latency,
        );
        family
            .get_or_create(&vec![("route".into(), "/a".into())])
            .observe(0.001);
        let mut registry = Registry::default();
        registry.register("in_family", "help", family);
        assert!(text(&registry).contains(r#"in_family_count{route="/a"} 1"#));
    }
}
