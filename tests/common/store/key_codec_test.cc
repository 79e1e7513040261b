#include "common/store/key_codec.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::store {
namespace {

using std::string_literals::operator""s;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();

// Strings over an alphabet rich in the bytes the escaping cares about.
std::string RandomString(std::mt19937_64& rng, size_t max_length = 4) {
  static constexpr char kAlphabet[] = {'\x00', '\x01', '\xfe', '\xff', 'a', 'b'};
  std::string s(rng() % (max_length + 1), ' ');
  for (char& c : s) c = kAlphabet[rng() % sizeof(kAlphabet)];
  return s;
}

int64_t RandomInt64(std::mt19937_64& rng) {
  static constexpr int64_t kEdges[] = {kInt64Min, kInt64Min + 1, -256, -1, 0, 1, 255, kInt64Max};
  if (rng() % 2 == 0) return kEdges[rng() % std::size(kEdges)];
  return static_cast<int64_t>(rng());
}

uint64_t RandomUint64(std::mt19937_64& rng) {
  static constexpr uint64_t kEdges[] = {0, 1, 255, 256, uint64_t{1} << 63, kUint64Max};
  if (rng() % 2 == 0) return kEdges[rng() % std::size(kEdges)];
  return rng();
}

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int Sign(int x) { return (x > 0) - (x < 0); }

TEST(KeyCodecTest, StringEncodingMatchesSpec) {
  EXPECT_EQ(KeyBuilder("t").key(), "t\x00\x01"s);
  EXPECT_EQ(KeyBuilder("").key(), "\x00\x01"s);
  EXPECT_EQ(KeyBuilder("a\0b"s).key(), "a\x00\xff" "b\x00\x01"s);
  EXPECT_EQ(KeyBuilder("t").AddString("\0"s).key(), "t\x00\x01\x00\xff\x00\x01"s);
}

TEST(KeyCodecTest, IntegerEncodingMatchesSpec) {
  EXPECT_EQ(KeyBuilder("").AddUint64(0x0102030405060708).key(),
            "\x00\x01\x01\x02\x03\x04\x05\x06\x07\x08"s);
  EXPECT_EQ(KeyBuilder("").AddInt64(0).key(), "\x00\x01\x80\x00\x00\x00\x00\x00\x00\x00"s);
  EXPECT_EQ(KeyBuilder("").AddInt64(-1).key(), "\x00\x01\x7f\xff\xff\xff\xff\xff\xff\xff"s);
  EXPECT_EQ(KeyBuilder("").AddUint64Descending(0).key(),
            "\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff"s);
  EXPECT_EQ(KeyBuilder("").AddInt64Descending(0).key(),
            "\x00\x01\x7f\xff\xff\xff\xff\xff\xff\xff"s);
}

TEST(KeyCodecTest, RoundTripsEveryComponentType) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string tenant = RandomString(rng, 8);
    std::string name = RandomString(rng, 8);
    int64_t signed_value = RandomInt64(rng);
    uint64_t unsigned_value = RandomUint64(rng);
    int64_t signed_desc = RandomInt64(rng);
    uint64_t unsigned_desc = RandomUint64(rng);
    std::string fixed = RandomString(rng, 3);
    std::string key = KeyBuilder(tenant)
                          .AddString(name)
                          .AddInt64(signed_value)
                          .AddUint64(unsigned_value)
                          .AddInt64Descending(signed_desc)
                          .AddUint64Descending(unsigned_desc)
                          .AddFixedBytes(fixed)
                          .key();
    KeyReader reader(key);
    EXPECT_EQ(reader.ReadString().value(), tenant);
    EXPECT_EQ(reader.ReadString().value(), name);
    EXPECT_EQ(reader.ReadInt64().value(), signed_value);
    EXPECT_EQ(reader.ReadUint64().value(), unsigned_value);
    EXPECT_EQ(reader.ReadInt64Descending().value(), signed_desc);
    EXPECT_EQ(reader.ReadUint64Descending().value(), unsigned_desc);
    EXPECT_EQ(reader.ReadFixedBytes(fixed.size()).value(), fixed);
    EXPECT_TRUE(reader.done());
    EXPECT_TRUE(reader.ExpectEnd().ok());
  }
}

// Encoded byte order must equal tuple order for every layout below.
TEST(KeyCodecTest, OrderOfStringPairsWithEmbeddedNulsMatchesTupleOrder) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 20000; ++i) {
    std::string a1 = RandomString(rng), a2 = RandomString(rng);
    std::string b1 = RandomString(rng), b2 = RandomString(rng);
    if (rng() % 4 == 0) b1 = a1;  // exercise the second component often
    int tuple_order = Compare(std::tie(a1, a2), std::tie(b1, b2));
    int key_order = Sign(KeyBuilder(a1).AddString(a2).key().compare(KeyBuilder(b1).AddString(b2).key()));
    ASSERT_EQ(key_order, tuple_order) << "a=(" << a1.size() << "," << a2.size() << ")";
  }
}

TEST(KeyCodecTest, OrderOfIntegersAcrossSignMatchesTupleOrder) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    std::string tenant = RandomString(rng, 1);
    int64_t a1 = RandomInt64(rng), b1 = RandomInt64(rng);
    uint64_t a2 = RandomUint64(rng), b2 = RandomUint64(rng);
    if (rng() % 4 == 0) b1 = a1;
    int tuple_order = Compare(std::tie(a1, a2), std::tie(b1, b2));
    int key_order = Sign(KeyBuilder(tenant).AddInt64(a1).AddUint64(a2).key().compare(
        KeyBuilder(tenant).AddInt64(b1).AddUint64(b2).key()));
    ASSERT_EQ(key_order, tuple_order) << a1 << "," << a2 << " vs " << b1 << "," << b2;
  }
}

TEST(KeyCodecTest, DescendingComponentsReverseOrder) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 20000; ++i) {
    std::string tenant = "t";
    std::string a1 = RandomString(rng), b1 = RandomString(rng);
    int64_t a2 = RandomInt64(rng), b2 = RandomInt64(rng);
    uint64_t a3 = RandomUint64(rng), b3 = RandomUint64(rng);
    if (rng() % 3 == 0) b1 = a1;
    if (rng() % 3 == 0) b2 = a2;
    // Expected: ascending on the string, descending on both integers.
    int expected = Compare(a1, b1);
    if (expected == 0) expected = Compare(b2, a2);
    if (expected == 0) expected = Compare(b3, a3);
    auto encode = [&](const std::string& s, int64_t v, uint64_t u) {
      return KeyBuilder(tenant).AddString(s).AddInt64Descending(v).AddUint64Descending(u).key();
    };
    ASSERT_EQ(Sign(encode(a1, a2, a3).compare(encode(b1, b2, b3))), expected);
  }
}

TEST(KeyCodecTest, SortedKeysGiveNewestFirstTimeline) {
  std::vector<int64_t> timestamps = {5, -3, 1000, 0, kInt64Max, kInt64Min, 42};
  std::vector<std::string> keys;
  for (int64_t ts : timestamps) keys.push_back(KeyBuilder("t").AddString("c1").AddInt64Descending(ts).key());
  std::sort(keys.begin(), keys.end());
  std::vector<int64_t> decoded;
  for (const std::string& key : keys) {
    KeyReader reader(key);
    ASSERT_TRUE(reader.ReadString().ok());
    ASSERT_TRUE(reader.ReadString().ok());
    decoded.push_back(reader.ReadInt64Descending().value());
  }
  std::sort(timestamps.begin(), timestamps.end(), std::greater<>());
  EXPECT_EQ(decoded, timestamps);
}

TEST(KeyCodecTest, TenantsNeverShareKeyPrefixes) {
  // The classic collision: tenant "a" must not see tenant "ab"'s keys.
  std::string a_key = KeyBuilder("a").AddString("b").key();
  std::string ab_key = KeyBuilder("ab").AddString("").key();
  EXPECT_FALSE(ab_key.starts_with(TenantPrefix("a")));
  EXPECT_FALSE(a_key.starts_with(TenantPrefix("ab")));

  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    std::string t1 = RandomString(rng, 3), t2 = RandomString(rng, 3);
    if (rng() % 2 == 0) t2 = t1 + RandomString(rng, 2);  // t1 is a raw prefix of t2
    if (t1 == t2) continue;
    std::string key1 = KeyBuilder(t1).AddString(RandomString(rng)).AddUint64(rng()).key();
    std::string key2 = KeyBuilder(t2).AddString(RandomString(rng)).AddUint64(rng()).key();
    ASSERT_FALSE(key1.starts_with(TenantPrefix(t2)));
    ASSERT_FALSE(key2.starts_with(TenantPrefix(t1)));
    // Each key lies inside its own tenant's scan range and outside the other's.
    for (const auto& [key, own, other] : {std::tuple(key1, t1, t2), std::tuple(key2, t2, t1)}) {
      std::string own_prefix = TenantPrefix(own), other_prefix = TenantPrefix(other);
      ASSERT_GE(key, own_prefix);
      ASSERT_LT(key, PrefixSuccessor(own_prefix));
      ASSERT_TRUE(key < other_prefix || key >= PrefixSuccessor(other_prefix));
    }
  }
}

TEST(KeyCodecTest, StringPrefixMatchesExactlyStringsStartingWithIt) {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 20000; ++i) {
    std::string prefix = RandomString(rng, 3), value = RandomString(rng, 5);
    if (rng() % 2 == 0) value = prefix + RandomString(rng, 2);
    std::string scan_prefix = KeyBuilder("t").AddStringPrefix(prefix).key();
    std::string key = KeyBuilder("t").AddString(value).AddUint64(7).key();
    ASSERT_EQ(key.starts_with(scan_prefix), value.starts_with(prefix));
  }
}

TEST(KeyCodecTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor("a\xff\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\x01"), "a\x02");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string prefix = RandomString(rng, 3);
    std::string successor = PrefixSuccessor(prefix);
    std::string key = prefix + RandomString(rng, 4);
    if (successor.empty()) {
      ASSERT_EQ(prefix.find_first_not_of('\xff'), std::string::npos);
    } else {
      ASSERT_LT(key, successor);
      ASSERT_GT(successor, prefix);
      ASSERT_FALSE(successor.starts_with(prefix));
    }
  }
}

TEST(KeyReaderTest, RejectsMalformedStrings) {
  EXPECT_EQ(KeyReader("abc").ReadString().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyReader("abc\x00"s).ReadString().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyReader("a\x00\x02"s).ReadString().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyReader("").ReadString().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyReaderTest, RejectsShortIntegersAndFixedBytes) {
  std::string key = KeyBuilder("t").key() + "\x01\x02\x03"s;
  KeyReader reader(key);
  ASSERT_TRUE(reader.ReadString().ok());
  EXPECT_EQ(reader.ReadUint64().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.ReadInt64().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.ReadInt64Descending().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.ReadUint64Descending().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.ReadFixedBytes(4).status().code(), absl::StatusCode::kInvalidArgument);
  // Failed reads consume nothing.
  EXPECT_EQ(reader.remaining(), "\x01\x02\x03");
  EXPECT_EQ(reader.ReadFixedBytes(3).value(), "\x01\x02\x03");
  EXPECT_TRUE(reader.done());
}

TEST(KeyReaderTest, ExpectEndReportsTrailingBytes) {
  std::string key = KeyBuilder("t").AddUint64(1).key();
  KeyReader reader(key);
  ASSERT_TRUE(reader.ReadString().ok());
  absl::Status status = reader.ExpectEnd();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("8 trailing bytes"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace cxp::store
