package io.textspark.score;

import io.textspark.TextSparkException;
import io.textspark.fs.HadoopPaths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalog.Column;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import scala.jdk.javaapi.CollectionConverters;

/** The table a job reads: a Parquet folder on any Hadoop file system, or a catalog table name. */
public final class InputTable {
  private final Dataset<Row> rows;
  private final Path path;
  private final String table;
  private final String description;

  private InputTable(Dataset<Row> rows, Path path, String table, String description) {
    this.rows = rows;
    this.path = path;
    this.table = table;
    this.description = description;
  }

  /**
   * Opens {@code input}: an existing path is read as Parquet; otherwise a name the catalog knows is
   * read as that table. Fails, naming both possibilities, when it is neither.
   */
  public static InputTable open(SparkSession spark, String input, Configuration conf) {
    Path path = null;
    try {
      path = HadoopPaths.qualify(new Path(input), conf);
    } catch (IllegalArgumentException | TextSparkException e) {
      // Not a usable path (a table name may still be): fall through to the catalog.
    }
    if (path != null && HadoopPaths.exists(path, conf)) {
      try {
        return new InputTable(spark.read().parquet(path.toString()), path, null, path.toString());
      } catch (Exception e) {
        throw new TextSparkException("cannot read the input " + path + " as a Parquet table (" + firstLine(e)
            + "). Point --input (score.input) at a folder of Parquet files or at a catalog table.", e);
      }
    }
    if (isTable(spark, input)) {
      return new InputTable(spark.table(input), null, input, "table " + input);
    }
    throw new TextSparkException("the input " + input + " does not exist: there is no such path"
        + (path == null ? "" : " (" + path + ")") + " and no catalog table of that name. Check --input (score.input).");
  }

  /** The rows. */
  public Dataset<Row> rows() {
    return rows;
  }

  /** The folder read, or empty for a catalog table. */
  public Optional<Path> path() {
    return Optional.ofNullable(path);
  }

  /**
   * The columns the input is partitioned into folders by ({@code col=value/}), so the output can
   * keep the same layout; empty when the input is not partitioned that way.
   */
  public List<String> partitionColumns() {
    for (LogicalPlan leaf : CollectionConverters.asJava(rows.queryExecution().analyzed().collectLeaves())) {
      if (leaf instanceof LogicalRelation relation && relation.relation() instanceof HadoopFsRelation files) {
        return List.of(files.partitionSchema().fieldNames());
      }
    }
    if (path == null) {
      // A Hive table is not a file relation after analysis; the catalog knows its partition columns.
      List<String> columns = new ArrayList<>();
      try {
        for (Column c : rows.sparkSession().catalog().listColumns(table).collectAsList()) {
          if (c.isPartition()) {
            columns.add(c.name());
          }
        }
      } catch (Exception e) {
        // A temporary view or a table the catalog cannot describe has no folder layout to keep.
        return List.of();
      }
      return columns;
    }
    return List.of();
  }

  /** The path or table, for messages. */
  @Override
  public String toString() {
    return description;
  }

  private static boolean isTable(SparkSession spark, String name) {
    try {
      return spark.catalog().tableExists(name);
    } catch (Exception e) {
      // A string the SQL parser rejects (slashes, spaces) names no table; its ParseException is checked.
      return false;
    }
  }

  static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
