/**
 * Spring Boot applications run as Torpor workflows: {@link dev.torpor.examples.spring.VisitsWorkflow}
 * keeps its pool working across waits through Spring's {@code org.crac} integration, with no
 * Torpor code but the wait; {@link dev.torpor.examples.spring.PlainJdbcWorkflow} holds a bare
 * connection across one and fails, as it would anywhere a checkpoint closes TCP connections.
 */
package dev.torpor.examples.spring;
