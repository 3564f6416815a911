package io.textspark.data;

import io.textspark.TextSparkException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads the CoLA distribution zip ({@code cola_public/raw/*.tsv}): four tab-separated columns
 * (source, label, original mark, sentence). The sentence is everything after the third tab, so its
 * text, quotes and tabs included, is kept exactly. Malformed rows are returned as rejects with the
 * reason instead of failing the whole file.
 */
public final class ColaArchive {
  /** One sentence of the corpus. */
  public record Row(int idx, String source, int label, String originalMark, String sentence, String domain) {}

  /** A line that could not be read as a CoLA row, and why. */
  public record Reject(String split, String file, int line, String reason, String text) {}

  /** The two splits and the rejected lines. */
  public record Parsed(List<Row> train, List<Row> validation, List<Reject> rejects) {
    /** Lines read in all, rejected ones included. */
    public int totalLines() {
      return train.size() + validation.size() + rejects.size();
    }
  }

  private static final String TRAIN = "in_domain_train.tsv";
  private static final String IN_DEV = "in_domain_dev.tsv";
  private static final String OUT_DEV = "out_of_domain_dev.tsv";

  private ColaArchive() {}

  /** Parses the zip at {@code zip}; {@code url} only names it in error messages. */
  public static Parsed read(java.nio.file.Path zip, String url) {
    try (ZipFile file = new ZipFile(zip.toFile(), StandardCharsets.UTF_8)) {
      Map<String, ZipEntry> raw = new TreeMap<>();
      List<String> names = new ArrayList<>();
      file.stream().forEach(e -> {
        names.add(e.getName());
        String n = e.getName();
        int slash = n.lastIndexOf('/');
        String base = n.substring(slash + 1);
        String dir = slash > 0 ? n.substring(0, slash) : "";
        if (!e.isDirectory() && (dir.equals("raw") || dir.endsWith("/raw"))) {
          raw.put(base, e);
        }
      });
      List<String> missing = new ArrayList<>();
      for (String want : List.of(TRAIN, IN_DEV, OUT_DEV)) {
        if (!raw.containsKey(want)) {
          missing.add("raw/" + want);
        }
      }
      if (!missing.isEmpty()) {
        throw new TextSparkException(
            "the zip from " + url + " is not the CoLA distribution: it lacks " + String.join(", ", missing)
                + " (it holds " + summarize(names) + "). Point data.url at cola_public_1.1.zip"
                + " (https://nyu-mll.github.io/CoLA/cola_public_1.1.zip) or a mirror of it.");
      }
      List<Reject> rejects = new ArrayList<>();
      List<Row> train = new ArrayList<>();
      parse(file, raw.get(TRAIN), "train", "in", train, rejects);
      List<Row> validation = new ArrayList<>();
      parse(file, raw.get(IN_DEV), "validation", "in", validation, rejects);
      parse(file, raw.get(OUT_DEV), "validation", "out", validation, rejects);
      return new Parsed(train, validation, rejects);
    } catch (ZipException e) {
      throw new TextSparkException(
          "the file from " + url + " is not a readable zip (" + e.getMessage() + "): the download may be"
              + " truncated or the URL may serve something else (an HTML page?). Check data.url and run"
              + " again with --overwrite.", e);
    } catch (IOException e) {
      throw new TextSparkException("cannot read the zip from " + url + ": " + e.getMessage(), e);
    }
  }

  private static String summarize(List<String> names) {
    if (names.isEmpty()) {
      return "no files";
    }
    List<String> head = names.subList(0, Math.min(5, names.size()));
    return String.join(", ", head) + (names.size() > head.size() ? ", ..." : "");
  }

  private static void parse(ZipFile zip, ZipEntry entry, String split, String domain, List<Row> out, List<Reject> rejects)
      throws IOException {
    String name = entry.getName();
    String text;
    try (InputStream in = zip.getInputStream(entry)) {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(in.readAllBytes()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new TextSparkException(
          name + " in the CoLA zip is not UTF-8 text (" + e.getMessage() + "). Use the original"
              + " cola_public_1.1.zip.", e);
    }
    String[] lines = text.split("\n", -1);
    int count = lines.length;
    if (count > 0 && lines[count - 1].isEmpty()) {
      count--; // the newline that ends the last row
    }
    for (int i = 0; i < count; i++) {
      String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
      String[] cols = line.split("\t", 4);
      int lineNo = i + 1;
      if (cols.length != 4) {
        rejects.add(new Reject(split, name, lineNo,
            "expected 4 tab-separated columns (source, label, mark, sentence), found " + cols.length, line));
        continue;
      }
      int label;
      if (cols[1].equals("0") || cols[1].equals("1")) {
        label = cols[1].charAt(0) - '0';
      } else {
        rejects.add(new Reject(split, name, lineNo, "label must be 0 or 1, found \"" + cols[1] + "\"", line));
        continue;
      }
      if (cols[3].isBlank()) {
        rejects.add(new Reject(split, name, lineNo, "empty sentence", line));
        continue;
      }
      String mark = cols[2].isEmpty() ? null : cols[2];
      out.add(new Row(out.size(), cols[0], label, mark, cols[3], domain));
    }
  }
}
