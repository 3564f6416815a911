package io.textspark.fs;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;

/**
 * A Hadoop configuration that travels with a Spark task (Configuration itself is not
 * serializable): the training workers and the tuner's segments write checkpoints with the
 * driver's file-system settings.
 */
public final class SerializableConfiguration implements Serializable {
  private static final long serialVersionUID = 1L;
  private transient Configuration conf;

  /** Wraps {@code conf}; its entries are copied when the task is serialized. */
  public SerializableConfiguration(Configuration conf) {
    this.conf = conf;
  }

  /** The configuration, rebuilt from its entries on the executor. */
  public Configuration get() {
    return conf;
  }

  private void writeObject(ObjectOutputStream out) throws IOException {
    out.defaultWriteObject();
    conf.write(out);
  }

  private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    conf = new Configuration(false);
    conf.readFields(in);
  }
}
