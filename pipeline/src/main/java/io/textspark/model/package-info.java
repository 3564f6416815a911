/**
 * Models: resolving a model reference, safetensors I/O, the family-neutral {@link
 * io.textspark.model.TextClassifier} and {@link io.textspark.model.ClassifierConfig} that training,
 * evaluation and scoring use, and one sub-package per model family chosen by {@code model_type} in
 * {@link io.textspark.model.ModelFamilies}.
 *
 * <p>Adding a family means a new package {@code model/<family>/} plus one line in the registry
 * {@link io.textspark.model.ModelFamilies}; nothing outside {@code model/} changes.
 */
package io.textspark.model;
