/**
 * Servers the integration tests run in child JVMs: a one-DataNode HDFS and a wrapper that stops
 * any server (s3proxy) when the test JVM that started it goes away.
 */
package io.textspark.servers;
