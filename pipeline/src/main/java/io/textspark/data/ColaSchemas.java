package io.textspark.data;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The explicit Parquet schemas of the data stages' outputs. */
public final class ColaSchemas {
  private ColaSchemas() {}

  /** {@code raw/train} and {@code raw/validation}. */
  public static final StructType RAW = new StructType(new StructField[] {
      DataTypes.createStructField("idx", DataTypes.IntegerType, false),
      DataTypes.createStructField("source", DataTypes.StringType, false),
      DataTypes.createStructField("label", DataTypes.IntegerType, false),
      DataTypes.createStructField("original_mark", DataTypes.StringType, true),
      DataTypes.createStructField("sentence", DataTypes.StringType, false),
      DataTypes.createStructField("domain", DataTypes.StringType, false)});

  /** {@code raw/rejects}: lines of the TSVs that could not be read, with the reason. */
  public static final StructType REJECTS = new StructType(new StructField[] {
      DataTypes.createStructField("split", DataTypes.StringType, false),
      DataTypes.createStructField("file", DataTypes.StringType, false),
      DataTypes.createStructField("line", DataTypes.IntegerType, false),
      DataTypes.createStructField("reason", DataTypes.StringType, false),
      DataTypes.createStructField("text", DataTypes.StringType, false)});

  /** {@code tokenized/train} and {@code tokenized/validation}: unpadded token ids. */
  public static final StructType TOKENIZED = new StructType(new StructField[] {
      DataTypes.createStructField("idx", DataTypes.IntegerType, false),
      DataTypes.createStructField("label", DataTypes.IntegerType, false),
      DataTypes.createStructField("domain", DataTypes.StringType, false),
      DataTypes.createStructField(
          "input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
      DataTypes.createStructField("length", DataTypes.IntegerType, false),
      DataTypes.createStructField("truncated", DataTypes.BooleanType, false)});
}
