// Tests for Hearth's one JSON reader (core/json.h): values and their positions, the strictness
// untrusted checkpoint headers need, repeated keys for job specs, and the writers.
#include "core/json.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include <cstdint>
#include <string>

namespace hearth::json {
namespace {

std::string ErrorOf(std::string_view text, const ParseOptions& options = {}) {
  StatusOr<Value> v = Parse(text, options);
  EXPECT_FALSE(v.ok()) << text;
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(JsonTest, ValuesKeepTheirTextTypeAndPosition) {
  StatusOr<Value> v = Parse("{\n  \"a\": [1, -2.5e3, true, null],\n  \"é\": \"x\\n\\u00e9\"\n}");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->is_object());
  ASSERT_EQ(v->object.size(), 2u);
  EXPECT_EQ(v->object[0].key, "a");
  EXPECT_EQ(v->object[0].key_pos.line, 2);
  EXPECT_EQ(v->object[0].key_pos.column, 3);
  const Value& list = v->object[0].value;
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.array.size(), 4u);
  EXPECT_EQ(list.pos.column, 8);
  EXPECT_EQ(list.array[1].text, "-2.5e3");
  EXPECT_EQ(list.array[1].pos.column, 12);
  EXPECT_EQ(list.array[2].type, Value::Type::kBool);
  EXPECT_TRUE(list.array[2].boolean);
  EXPECT_EQ(list.array[3].type, Value::Type::kNull);
  // Columns count characters: "é" is one.
  EXPECT_EQ(v->object[1].key_pos.line, 3);
  EXPECT_EQ(v->object[1].value.pos.column, 8);
  EXPECT_EQ(v->Find("é")->text, "x\n\xc3\xa9");
  EXPECT_EQ(v->Find("b"), nullptr);
}

TEST(JsonTest, NumbersConvertOnlyWhenTheyFit) {
  StatusOr<Value> v = Parse("[18446744073709551615, -9223372036854775808, 1.5, 1e400, -1]");
  ASSERT_TRUE(v.ok()) << v.status();
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
  EXPECT_TRUE(v->array[0].AsUint64(&u));
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_FALSE(v->array[0].AsInt64(&i));
  EXPECT_TRUE(v->array[1].AsInt64(&i));
  EXPECT_EQ(i, INT64_MIN);
  EXPECT_FALSE(v->array[2].AsUint64(&u));
  EXPECT_TRUE(v->array[2].AsDouble(&d));
  EXPECT_EQ(d, 1.5);
  EXPECT_FALSE(v->array[3].AsDouble(&d));
  EXPECT_FALSE(v->array[4].AsUint64(&u));
}

TEST(JsonTest, RepeatedKeysAreRejectedUnlessAllowed) {
  EXPECT_EQ(ErrorOf("{\"a\": 1,\n \"a\": 2}"), "2:2: the key \"a\" appears twice in one object");
  StatusOr<Value> kept = Parse("{\"a\": 1, \"a\": 2}", {.allow_repeated_keys = true});
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->object.size(), 2u);
  EXPECT_EQ(kept->Find("a")->text, "1");
}

TEST(JsonTest, SurrogatesMustComeInPairs) {
  StatusOr<Value> pair = Parse(R"("\ud83d\ude00")");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->text, "\xf0\x9f\x98\x80");
  EXPECT_NE(ErrorOf(R"("\ud83d")").find("high surrogate without a low surrogate"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83dx")").find("high surrogate without a low surrogate"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83d\u0041")").find("high surrogate without a low surrogate"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ude00")").find("low surrogate without a high surrogate"),
            std::string::npos);
}

TEST(JsonTest, InvalidUtf8IsRejectedWhereItIs) {
  EXPECT_EQ(ErrorOf("{\"a\":\n \"\xc3\x28\"}"),
            "2:3: the text is not valid UTF-8 (byte 0xc3); save it as UTF-8");
  EXPECT_NE(ErrorOf("\"\xed\xa0\x80\"").find("not valid UTF-8"), std::string::npos);  // surrogate
  EXPECT_NE(ErrorOf("\"\xc0\xaf\"").find("not valid UTF-8"), std::string::npos);      // overlong
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9 \xf0\x9f\x98\x80"));
}

TEST(JsonTest, DeepNestingIsRefusedNotRecursedInto) {
  EXPECT_TRUE(Parse(std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']')).ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(ErrorOf(deep).find("nested deeper than 64 levels"), std::string::npos);
}

TEST(JsonTest, ErrorsSayWhereAndWhat) {
  EXPECT_EQ(ErrorOf(""), "1:1: empty document: expected a JSON value");
  EXPECT_EQ(ErrorOf("{\"a\": 1} x"), "1:10: unexpected text after the end of the document");
  EXPECT_EQ(ErrorOf("{\"a\": "), "1:7: expected a value, found the end of the file");
  EXPECT_EQ(ErrorOf("[01]"), "1:3: a number cannot have leading zeros");
  EXPECT_EQ(ErrorOf("{\"a\" 1}"), "1:6: expected ':' after the key \"a\", found '1'");
  EXPECT_EQ(ErrorOf("[1,]"), "1:4: expected a value, found ']' (no comma before ']')");
  EXPECT_NE(ErrorOf("[yes]").find("unexpected word 'yes'"), std::string::npos);
  EXPECT_NE(ErrorOf("\"a\tb\"").find("control character"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\x")").find("invalid escape \\x"), std::string::npos);
}

TEST(JsonTest, WrittenStringsAndDoublesReadBackExactly) {
  std::string out = "[";
  AppendString(out, "q\"b\\s\n\x01 é");
  out += ",";
  AppendDouble(out, 0.1);
  out += ",";
  AppendDouble(out, -3.4028234663852886e38);
  out += "]";
  StatusOr<Value> v = Parse(out);
  ASSERT_TRUE(v.ok()) << v.status() << " in " << out;
  EXPECT_EQ(v->array[0].text, "q\"b\\s\n\x01 é");
  double d = 0;
  ASSERT_TRUE(v->array[1].AsDouble(&d));
  EXPECT_EQ(d, 0.1);
  ASSERT_TRUE(v->array[2].AsDouble(&d));
  EXPECT_EQ(d, -3.4028234663852886e38);
}

}  // namespace
}  // namespace hearth::json

namespace hearth::json {
namespace {

TEST(JsonPackedTest, ArraysOfNumbersArePackedAndMixedOnesAreNot) {
  ParseOptions packed;
  packed.pack_numbers = true;
  StatusOr<Value> v =
      Parse(R"({"data": [1, -2.5, 3e2], "mixed": [1, "a", 2], "nested": [[1, 2], [3]],
                                "empty": [], "huge": [1e400]})",
            packed);
  ASSERT_TRUE(v.ok()) << v.status();
  const Value& data = *v->Find("data");
  EXPECT_TRUE(data.packed);
  EXPECT_TRUE(data.array.empty());
  EXPECT_EQ(data.numbers, (std::vector<double>{1, -2.5, 300}));
  const Value& mixed = *v->Find("mixed");
  EXPECT_FALSE(mixed.packed);
  ASSERT_EQ(mixed.array.size(), 3u);
  uint64_t one = 0;
  EXPECT_TRUE(mixed.array[0].AsUint64(&one));
  EXPECT_EQ(one, 1u);
  EXPECT_EQ(mixed.array[1].text, "a");
  EXPECT_EQ(mixed.array[2].text, "2");
  const Value& nested = *v->Find("nested");
  EXPECT_FALSE(nested.packed);
  EXPECT_TRUE(nested.array[0].packed);
  EXPECT_EQ(nested.array[1].numbers, (std::vector<double>{3}));
  EXPECT_FALSE(v->Find("empty")->packed);
  EXPECT_TRUE(std::isinf(v->Find("huge")->numbers[0])) << "out of range reads as infinite";
  // Syntax is checked as strictly as element by element.
  for (const char* bad : {"[1, 2,]", "[1 2]", "[01]", "[1.]", "[1, -]", "[1e]", "[1x]"})
    EXPECT_FALSE(Parse(bad, packed).ok()) << bad;
  // Unpacked by default.
  EXPECT_FALSE(Parse("[1, 2]")->packed);
}

}  // namespace
}  // namespace hearth::json

namespace hearth::json {
namespace {

// Packed numbers convert exactly as std::from_chars does, on the fast path and off it.
TEST(JsonPackedTest, PackedNumbersMatchFromChars) {
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "1",
                                    "0.1",
                                    "0.000123",
                                    "123.456e-7",
                                    "1e22",
                                    "1e23",
                                    "9007199254740993",
                                    "123456789012345678901234",
                                    "2.2250738585072014e-308",
                                    "1.7976931348623157e308",
                                    "0.30000000000000004",
                                    "5e-324",
                                    "1E+2",
                                    "-12.5E-3"};
  uint64_t state = 42;
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*g", 1 + static_cast<int>(state % 17),
                  static_cast<double>(state >> 11) / 9007199254740992.0 *
                      std::pow(10.0, static_cast<int>(state % 40) - 20));
    texts.push_back(buf);
  }
  std::string doc = "[";
  for (size_t i = 0; i < texts.size(); ++i) doc += (i ? "," : "") + texts[i];
  doc += "]";
  ParseOptions packed;
  packed.pack_numbers = true;
  StatusOr<Value> v = Parse(doc, packed);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->packed);
  ASSERT_EQ(v->numbers.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    double expected = 0;
    std::from_chars(texts[i].data(), texts[i].data() + texts[i].size(), expected);
    EXPECT_EQ(v->numbers[i], expected) << texts[i];
  }
  EXPECT_EQ(Parse("[1e-400]", packed)->numbers[0], 0.0);
  for (const char* bad : {"[1.5.3]", "[--1]", "[1e+]", "[.5]", "[-]", "[1,2x]"})
    EXPECT_FALSE(Parse(bad, packed).ok()) << bad;
}

}  // namespace
}  // namespace hearth::json
