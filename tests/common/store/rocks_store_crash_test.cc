// Crash safety of RocksStore: "kill -9 at any moment leaves a consistent store
// that holds every acknowledged write".
//
// Child processes open the store, write synced WriteBatches spanning two
// column families and report each acknowledged index through a pipe (rounds
// 2, 3, 6 and 7 write with WriteUnsynced and acknowledge from AfterDurable,
// the path the services use); the
// parent SIGKILLs them at random points (including during open/recovery and
// while memtables flush). Each round reopens the store the previous round
// killed. Finally the parent opens the store and checks every acknowledged
// write is present, nothing beyond the single in-flight write appeared, and
// each batch is all-or-nothing.
//
// This lives in its own binary and forks before the parent touches RocksDB:
// forking a process whose RocksDB background threads exist is unsafe.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/store/key_codec.h"
#include "common/store/rocks_store.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/common/store/scoped_temp_dir.h"

namespace cxp::store {
namespace {

constexpr int32_t kOpenedMessage = -1;
constexpr int32_t kOpenFailedMessage = -2;
constexpr int32_t kWriteFailedMessage = -3;
constexpr int kRounds = 8;
constexpr int kMaxWritesPerRound = 1'000'000;  // never reached: the child is killed first

RocksStoreOptions CrashOptions(const std::string& path) {
  RocksStoreOptions options;
  options.path = path;
  options.column_families = {"primary", "index"};
  options.block_cache_bytes = 1 << 20;
  // Tiny memtables so kills also land during flushes.
  options.tune_options = [](rocksdb::Options& rocks_options) {
    rocks_options.write_buffer_size = 64 << 10;
  };
  return options;
}

std::string WriteKey(int round, int index) {
  return KeyBuilder("tenant").AddUint64(round).AddUint64(index).key();
}

// Deterministic, index-specific value of varying size (60..2060 bytes).
std::string WriteValue(int round, int index) {
  std::mt19937 rng(static_cast<uint32_t>(round * 7919 + index));
  std::string value(60 + rng() % 2000, '\0');
  for (char& c : value) c = static_cast<char>(rng());
  return value;
}

void Send(int fd, int32_t message) {
  // 4-byte writes to a pipe are atomic; a failure means the parent is gone.
  if (write(fd, &message, sizeof(message)) != sizeof(message)) _exit(3);
}

[[noreturn]] void RunWriter(const std::string& path, int round, int fd) {
  absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(CrashOptions(path));
  if (!store.ok()) {
    Send(fd, kOpenFailedMessage);
    _exit(1);
  }
  Send(fd, kOpenedMessage);
  rocksdb::ColumnFamilyHandle* primary = (*store)->ColumnFamily("primary").value();
  rocksdb::ColumnFamilyHandle* index = (*store)->ColumnFamily("index").value();
  const bool deferred = round % 4 >= 2;
  for (int i = 0; i < kMaxWritesPerRound; ++i) {
    std::string key = WriteKey(round, i);
    rocksdb::WriteBatch batch;
    if (!batch.Put(primary, key, WriteValue(round, i)).ok() ||
        !batch.Put(index, key, std::to_string(i)).ok()) {
      Send(fd, kWriteFailedMessage);
      _exit(2);
    }
    if (!deferred) {
      if (!(*store)->Write(&batch).ok()) {
        Send(fd, kWriteFailedMessage);
        _exit(2);
      }
      Send(fd, i);
      continue;
    }
    // Acknowledged from the syncer thread, in order, while this thread
    // already writes the next batches.
    if (!(*store)->WriteUnsynced(&batch).ok()) {
      Send(fd, kWriteFailedMessage);
      _exit(2);
    }
    (*store)->AfterDurable([fd, i](absl::Status durable) {
      Send(fd, durable.ok() ? i : kWriteFailedMessage);
    });
  }
  _exit(0);
}

struct RoundResult {
  bool opened = false;
  int highest_acked = -1;  // acks arrive in order, so 0..highest_acked are acknowledged
  std::vector<int32_t> errors;
};

// Forks a writer for `round`, kills it with SIGKILL at a random point and
// returns what it acknowledged.
RoundResult RunRound(const std::string& path, int round, std::mt19937& rng) {
  RoundResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
    RunWriter(path, round, fds[1]);
  }
  close(fds[1]);

  // Odd rounds kill after a random delay from fork (often during open and
  // WAL recovery); even rounds after a random number of acknowledgements.
  const bool kill_by_time = round % 2 == 1;
  const auto deadline = std::chrono::steady_clock::now() +
                        (kill_by_time ? std::chrono::milliseconds(rng() % 150)
                                      : std::chrono::milliseconds(10000));
  const int ack_target = 1 + static_cast<int>(rng() % 400);
  auto handle = [&result](int32_t message) {
    if (message == kOpenedMessage) {
      result.opened = true;
    } else if (message >= 0) {
      EXPECT_EQ(message, result.highest_acked + 1) << "acks out of order";
      result.highest_acked = message;
    } else {
      result.errors.push_back(message);
    }
  };
  bool killed = false;
  while (!killed) {
    auto now = std::chrono::steady_clock::now();
    int timeout_ms = now >= deadline ? 0
        : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    pollfd poll_fd{fds[0], POLLIN, 0};
    int ready = poll(&poll_fd, 1, timeout_ms);
    if (ready > 0) {
      int32_t message;
      ssize_t n = read(fds[0], &message, sizeof(message));
      if (n == sizeof(message)) {
        handle(message);
        if (!kill_by_time && result.highest_acked + 1 >= ack_target) {
          // Land the kill a little after the target, mid-write.
          usleep(rng() % 2000);
          killed = true;
        }
        continue;
      }
      break;  // EOF: the child exited on its own (reported below)
    }
    if (std::chrono::steady_clock::now() >= deadline) killed = true;
  }
  kill(pid, SIGKILL);
  // Acks already in the pipe were acknowledged before the kill: drain them.
  int32_t message;
  while (read(fds[0], &message, sizeof(message)) == sizeof(message)) handle(message);
  close(fds[0]);
  int wait_status = 0;
  EXPECT_EQ(waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "round " << round << ": child was not killed, wait status " << wait_status;
  return result;
}

TEST(RocksStoreCrashTest, KillNineNeverLosesAcknowledgedWrites) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Sub("db");
  std::mt19937 rng(20240229);
  std::vector<RoundResult> rounds;
  for (int round = 0; round < kRounds; ++round) {
    rounds.push_back(RunRound(path, round, rng));
    EXPECT_TRUE(rounds.back().errors.empty()) << "round " << round << " child reported an error";
  }
  int total_acked = 0, rounds_opened = 0;
  for (const RoundResult& r : rounds) {
    total_acked += r.highest_acked + 1;
    rounds_opened += r.opened;
  }
  // Even rounds always wait for their acks, so the test really wrote data.
  EXPECT_GE(rounds_opened, kRounds / 2);
  EXPECT_GT(total_acked, 0);

  absl::StatusOr<std::unique_ptr<RocksStore>> opened = RocksStore::Open(CrashOptions(path));
  ASSERT_TRUE(opened.ok()) << opened.status();
  RocksStore& store = **opened;
  ASSERT_TRUE(store.db()->VerifyChecksum().ok());
  rocksdb::ColumnFamilyHandle* primary = store.ColumnFamily("primary").value();
  rocksdb::ColumnFamilyHandle* index = store.ColumnFamily("index").value();

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int acked = rounds[round].highest_acked;
    // Every acknowledged write is there with the right value, in both families.
    for (int i = 0; i <= acked; ++i) {
      std::optional<std::string> value = store.Get(primary, WriteKey(round, i)).value();
      ASSERT_TRUE(value.has_value()) << "acknowledged write " << i << " lost";
      ASSERT_EQ(*value, WriteValue(round, i));
      ASSERT_EQ(store.Get(index, WriteKey(round, i)).value(), std::to_string(i));
    }
    // Beyond the acknowledged writes only writes not yet acknowledged may
    // have landed: at most the one in flight for synced writes, any number
    // waiting for their fsync with WriteUnsynced. Either way what is there
    // is a gap-free prefix of the writes (the WAL loses only a suffix), each
    // batch whole.
    std::string round_prefix = KeyBuilder("tenant").AddUint64(round).key();
    size_t primary_count = 0, index_count = 0;
    ASSERT_TRUE(store.ScanPrefix(primary, round_prefix, RocksStore::kNoLimit,
                                 [&](std::string_view, std::string_view) { return ++primary_count; })
                    .ok());
    ASSERT_TRUE(store.ScanPrefix(index, round_prefix, RocksStore::kNoLimit,
                                 [&](std::string_view, std::string_view) { return ++index_count; })
                    .ok());
    EXPECT_EQ(primary_count, index_count) << "a WriteBatch was applied partially";
    EXPECT_GE(primary_count, static_cast<size_t>(acked + 1));
    const bool deferred = round % 4 >= 2;
    if (!deferred) {
      EXPECT_LE(primary_count, static_cast<size_t>(acked + 2));
    }
    for (int i = acked + 1; i < static_cast<int>(primary_count); ++i) {
      ASSERT_EQ(store.Get(primary, WriteKey(round, i)).value(), WriteValue(round, i))
          << "unacknowledged write " << i << " missing below a later one, or wrong";
      ASSERT_EQ(store.Get(index, WriteKey(round, i)).value(), std::to_string(i));
    }
  }
  std::printf("crash test: %d rounds, %d opened, %d acknowledged writes\n", kRounds,
              rounds_opened, total_acked);
}

}  // namespace
}  // namespace cxp::store
