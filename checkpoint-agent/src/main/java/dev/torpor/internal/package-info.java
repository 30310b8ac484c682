/** Torpor's internals. No compatibility guarantee: do not use from applications. */
package dev.torpor.internal;
