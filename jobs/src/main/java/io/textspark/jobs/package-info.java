/** The spark-submit application: one entry point that dispatches to every textspark command. */
package io.textspark.jobs;
