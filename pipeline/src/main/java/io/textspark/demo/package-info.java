/** The one-command demo: every stage on CoLA, a summary and an offline HTML report. */
package io.textspark.demo;
