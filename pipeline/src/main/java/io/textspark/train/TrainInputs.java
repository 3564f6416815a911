package io.textspark.train;

import io.textspark.batch.Examples;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.Safetensors;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Everything a training run starts from besides its settings: the data, the pretrained model, and
 * where the run's files go.
 *
 * @param train the whole training set, in idx order: every worker holds all of it and trains on its
 *     part of each global batch ({@link StepPlan})
 * @param validation this worker's validation examples (with several workers, its share; the
 *     evaluator sums the counts)
 * @param modelConfig the architecture, with the labels of the head and any dropout override
 * @param weights the pretrained weights (a fresh head is added when they have none)
 * @param tokenizerJson the tokenizer the data was made with, copied into every checkpoint
 * @param modelReference where the pretrained model came from, for provenance
 * @param resolvedConfig the run's whole configuration as JSON, for provenance
 * @param outputDir the run folder ({@code checkpoints/}, {@code logs/}, {@code summary.json})
 * @param hadoopConf the Hadoop configuration for the run folder's file system
 */
public record TrainInputs(
    Examples train,
    Examples validation,
    ClassifierConfig modelConfig,
    Map<String, Safetensors.Tensor> weights,
    byte[] tokenizerJson,
    String modelReference,
    String resolvedConfig,
    Path outputDir,
    Configuration hadoopConf) {}
