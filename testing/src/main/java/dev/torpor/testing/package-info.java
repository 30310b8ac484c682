/**
 * Testing workflows like any Java code: {@link dev.torpor.testing.TorporTestEnvironment} runs a
 * workflow's {@code main} with virtual time and plays the worker, so a thirty-day wait returns at
 * once; {@link dev.torpor.testing.TorporExtension} hands one to each JUnit 5 test.
 */
package dev.torpor.testing;
