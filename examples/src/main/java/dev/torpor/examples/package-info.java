/** Runnable workflows used by the README, the tests and the benchmarks. */
package dev.torpor.examples;
