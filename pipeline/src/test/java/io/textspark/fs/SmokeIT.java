package io.textspark.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.textspark.testing.FileSystemServers;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SmokeIT {
  @RegisterExtension static final FileSystemServers SERVERS = new FileSystemServers();

  @ParameterizedTest
  @ValueSource(strings = {"hdfs", "s3a"})
  void roundTrip(String scheme) throws Exception {
    Configuration conf = SERVERS.conf();
    Path dir = new Path(SERVERS.root(scheme, "smoke"));
    FileSystem fs = dir.getFileSystem(conf);
    fs.mkdirs(new Path(dir, "a"));
    HadoopPaths.writeAtomically(new Path(dir, "a/x.txt"), "hello".getBytes(StandardCharsets.UTF_8), conf);
    System.out.println(fs.rename(new Path(dir, "a"), new Path(dir, "b")));
    assertEquals("hello", HadoopPaths.readString(new Path(dir, "b/x.txt"), conf));
    for (var s : fs.listStatus(dir)) {
      System.out.println(s.getPath() + " " + s.isDirectory());
    }
    System.out.println(fs.hasPathCapability(dir, "fs.capability.outputstream.abortable"));
  }
}
