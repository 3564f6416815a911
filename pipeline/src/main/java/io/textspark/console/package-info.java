/**
 * The library's one output channel: every progress line and warning goes through the JVM's current
 * {@link io.textspark.console.Reporter}, so an application embedding textspark (a notebook, the
 * server) chooses what is printed, logged or dropped.
 */
package io.textspark.console;
