// cxp_null_server: NullService on the shared CXP server runtime.
//
// The physical-limit baseline for performance targets: the handler does no
// work beyond copying a fixed 256-byte payload, so its throughput is what the
// shared runtime (auth, metrics, request logs, health), gRPC and the kernel
// allow on this machine. Real services are measured as a ratio of it
// (scripts/bench_ratio.sh, docs/performance.md). Flags are the shared server
// flags of RunServiceMain (--listen, ...).
//
// Diagnostic flags (all off for the baseline) take the same zero-work call
// through the shapes a real handler has, to show what each shape costs by
// itself (docs/performance.md, "What a synced write costs before any work"):
// --via_pool runs it on a HandlerPool thread, as HandleUnary does;
// --deferred_fsync answers it the way WalSyncer answers a synced write: a
// background thread takes every pending call, appends a record per call to a
// file under --data_dir and fdatasyncs it, then finishes the round;
// --pipelined_finish hands each synced round to a second thread to finish,
// so the next fdatasync starts at once.

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "bench/proto/null_service.grpc.pb.h"
#include "common/server/handler_pool.h"
#include "common/server/service_main.h"

ABSL_FLAG(bool, via_pool, false, "Diagnostic: run the handler on a HandlerPool thread.");
ABSL_FLAG(bool, deferred_fsync, false,
          "Diagnostic: answer calls in rounds after an fdatasync, as WalSyncer does.");
ABSL_FLAG(bool, pipelined_finish, false,
          "Diagnostic: with --deferred_fsync, finish each round on a second thread "
          "(as WalSyncer does).");

namespace cxp::bench {
namespace {

constexpr size_t kPayloadBytes = 256;

// Finishes calls in rounds after an fdatasync of a file it appends to, like
// WalSyncer; threads are named like WalSyncer's so bench_cpu_split.sh-style
// per-thread figures line up. Thread-safe Add(); the destructor answers
// what is pending.
class SyncedFinisher {
 public:
  SyncedFinisher(const std::string& path, bool pipelined)
      : fd_(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)),
        pipelined_(pipelined),
        finish_thread_([this] {
          pthread_setname_np(pthread_self(), "cxp-walack");
          FinishLoop();
        }),
        sync_thread_([this] {
          pthread_setname_np(pthread_self(), "cxp-walsync");
          SyncLoop();
        }) {
    if (fd_ < 0) Die("cannot open " + path);
  }
  ~SyncedFinisher() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    sync_thread_.join();
    finish_thread_.join();
    close(fd_);
  }
  void Add(grpc::ServerUnaryReactor* reactor) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(reactor);
  }

 private:
  using Round = std::vector<grpc::ServerUnaryReactor*>;

  // Waits until `queue` has calls or `done` is set, then takes the calls
  // (none: done and drained).
  Round Take(Round& queue, const bool& done) {
    struct Wait {
      const Round* queue;
      const bool* done;
    } wait{&queue, &done};
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Wait* w) { return *w->done || !w->queue->empty(); }, &wait));
    Round round;
    round.swap(queue);
    return round;
  }

  void SyncLoop() {
    // A WAL record's size for one append (~1 KiB), so the file grows as the
    // WAL would and each fdatasync has the same metadata to commit.
    const std::string record(1024, 'r');
    while (true) {
      Round round = Take(pending_, stopping_);
      if (round.empty()) {
        absl::MutexLock lock(&mu_);
        sync_done_ = true;
        return;
      }
      for (size_t i = 0; i < round.size(); ++i) {
        if (write(fd_, record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
          Die("write failed");
        }
      }
      if (fdatasync(fd_) != 0) Die("fdatasync failed");
      if (!pipelined_) {
        FinishAll(round);
        continue;
      }
      absl::MutexLock lock(&mu_);
      synced_.insert(synced_.end(), round.begin(), round.end());
    }
  }
  void FinishLoop() {
    for (Round round = Take(synced_, sync_done_); !round.empty();
         round = Take(synced_, sync_done_)) {
      FinishAll(round);
    }
  }
  // A diagnostic that cannot sync measures nothing.
  [[noreturn]] static void Die(const std::string& what) {
    std::perror(("cxp_null_server --deferred_fsync: " + what).c_str());
    std::abort();
  }
  static void FinishAll(const Round& round) {
    for (grpc::ServerUnaryReactor* reactor : round) reactor->Finish(grpc::Status::OK);
  }

  const int fd_;
  const bool pipelined_;
  absl::Mutex mu_;
  Round pending_ ABSL_GUARDED_BY(mu_);
  Round synced_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool sync_done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread finish_thread_;
  std::thread sync_thread_;
};

class NullServiceImpl final : public cxp::bench::v1::NullService::CallbackService {
 public:
  explicit NullServiceImpl(const std::string& data_dir) : payload_(kPayloadBytes, '\x5a') {
    if (absl::GetFlag(FLAGS_deferred_fsync)) {
      finisher_ = std::make_unique<SyncedFinisher>(data_dir + "/deferred_fsync.log",
                                                   absl::GetFlag(FLAGS_pipelined_finish));
    }
    if (absl::GetFlag(FLAGS_via_pool)) pool_ = std::make_unique<server::HandlerPool>(0);
  }

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const cxp::bench::v1::CallRequest* /*request*/,
                                 cxp::bench::v1::CallResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (!finisher_ && !pool_) {  // the baseline
      response->set_payload(payload_);
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    auto handle = [this, reactor, response] {
      response->set_payload(payload_);
      if (finisher_) {
        finisher_->Add(reactor);
      } else {
        reactor->Finish(grpc::Status::OK);
      }
    };
    if (!pool_) {
      handle();
    } else if (!pool_->TrySubmit(handle)) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "handler queue full"));
    }
    return reactor;
  }

 private:
  const std::string payload_;
  // Declared after the finisher: destroyed first, so queued handlers still
  // find it.
  std::unique_ptr<SyncedFinisher> finisher_;
  std::unique_ptr<server::HandlerPool> pool_;
};

}  // namespace
}  // namespace cxp::bench

int main(int argc, char** argv) {
  return cxp::server::RunServiceMain(
      {.name = "null_service",
       .default_listen_address = "127.0.0.1:50059",
       .default_metrics_address = "",
       .build = [](const cxp::server::ServerOptions& options)
           -> absl::StatusOr<cxp::server::ServiceSet> {
         cxp::server::ServiceSet set;
         set.Add(cxp::bench::v1::NullService::service_full_name(),
                 std::make_unique<cxp::bench::NullServiceImpl>(options.data_dir));
         return set;
       }},
      argc, argv);
}
