/** The wire protocol between the agent and the worker. Internal: no compatibility guarantee. */
package dev.torpor.internal.protocol;
