package io.textspark.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.textspark.testing.Shared;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class BertTokenizerTest {
  private static byte[] tokenizerJson() throws IOException {
    return Files.readAllBytes(Shared.miniLm().resolve("tokenizer.json"));
  }

  @Test
  void reproducesTheReferenceTokenIdsExactly() throws IOException {
    BertTokenizer tok = TokenizerCache.get(tokenizerJson(), 128);
    JsonArray refs = JsonParser.parseString(Files.readString(Shared.referenceHidden())).getAsJsonArray();
    assertEquals(5, refs.size());
    for (JsonElement el : refs) {
      String sentence = el.getAsJsonObject().get("sentence").getAsString();
      JsonArray ids = el.getAsJsonObject().getAsJsonArray("input_ids");
      int[] expected = new int[ids.size()];
      for (int i = 0; i < expected.length; i++) {
        expected[i] = ids.get(i).getAsInt();
      }
      BertTokenizer.Encoded got = tok.encode(sentence);
      assertArrayEquals(expected, got.ids(), sentence);
      assertFalse(got.truncated());
    }
  }

  @Test
  void doesNotPadAndTruncatesKeepingSep() throws IOException {
    BertTokenizer tok = TokenizerCache.get(tokenizerJson(), 8);
    int[] shortIds = tok.encode("Dogs bark.").ids();
    assertEquals(101, shortIds[0]);
    assertEquals(102, shortIds[shortIds.length - 1]);
    assertTrue(shortIds.length < 8, "no padding to the maximum length");

    String longText = "one two three four five six seven eight nine ten eleven twelve";
    BertTokenizer full = TokenizerCache.get(tokenizerJson(), 128);
    int[] all = full.encode(longText).ids();
    BertTokenizer.Encoded cut = tok.encode(longText);
    assertTrue(cut.truncated());
    assertEquals(8, cut.ids().length);
    for (int i = 0; i < 7; i++) {
      assertEquals(all[i], cut.ids()[i], "the first tokens are kept");
    }
    assertEquals(102, cut.ids()[7], "[SEP] ends a truncated sequence");
  }

  @Test
  void buildsOneTokenizerPerJvmAndSetting() throws IOException {
    byte[] json = tokenizerJson();
    BertTokenizer a = TokenizerCache.get(json, 64);
    int built = TokenizerCache.built();
    BertTokenizer b = TokenizerCache.get(json, 64);
    assertTrue(a == b, "the same tokenizer is reused");
    assertEquals(built, TokenizerCache.built());
  }
}
