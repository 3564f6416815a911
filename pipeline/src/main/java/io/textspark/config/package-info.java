/** Layered HOCON configuration: defaults, files, command-line overrides, validated records. */
package io.textspark.config;
