/** Charts and HTML reports that open offline: inline SVG built from a run's metrics. */
package io.textspark.report;
