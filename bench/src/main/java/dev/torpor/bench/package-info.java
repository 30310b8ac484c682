/** Benchmarks of the snapshot engine, run by hand: see {@link dev.torpor.bench.SnapshotBenchmark}. */
package dev.torpor.bench;
