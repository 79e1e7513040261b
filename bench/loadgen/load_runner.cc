#include "bench/loadgen/load_runner.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace cxp::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long calls still outstanding when the window closes may take to finish
// before they are cancelled (they are not counted either way).
constexpr auto kDrainGrace = std::chrono::milliseconds(250);
// With --rate: how far the schedule may fall behind before it restarts.
constexpr auto kMaxRateLag = std::chrono::milliseconds(50);

struct Slot {
  grpc::GenericStub* stub = nullptr;
  std::optional<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::Status status;
  SteadyClock::time_point start;
};

struct Driver {
  grpc::CompletionQueue cq;
  std::vector<Slot*> slots;
  ScenarioRng rng;
  LoadResult result;
};

class Runner {
 public:
  Runner(const LoadOptions& options, const RequestSource& requests)
      : options_(options), requests_(requests) {}

  absl::StatusOr<LoadResult> Run();

 private:
  void StartCall(Driver& driver, Slot& slot);
  void DriverLoop(Driver& driver);

  const LoadOptions& options_;
  const RequestSource& requests_;
  SteadyClock::time_point measure_start_;
  SteadyClock::time_point end_;
  SteadyClock::time_point cancel_at_;
  int threads_ = 1;
};

void Runner::StartCall(Driver& driver, Slot& slot) {
  slot.reader.reset();  // lives in the call's arena: release before the context
  slot.context.reset();
  slot.context.emplace();
  grpc::ClientContext& context = *slot.context;
  PrepareContext(options_, &context);
  requests_.Next(driver.rng, &slot.request);
  slot.response.Clear();
  slot.start = SteadyClock::now();
  slot.reader = slot.stub->PrepareUnaryCall(&context, options_.method, slot.request, &driver.cq);
  slot.reader->StartCall();
  slot.reader->Finish(&slot.response, &slot.status, &slot);
}

void Runner::DriverLoop(Driver& driver) {
  // With a rate, this driver starts a call every `interval` at most; a slot
  // free before its turn waits in `idle`. After a stall the schedule does
  // not catch up in a burst: it restarts from now.
  const auto interval =
      options_.rate > 0
          ? std::chrono::nanoseconds(static_cast<int64_t>(
                1e9 * static_cast<double>(threads_) / options_.rate))
          : std::chrono::nanoseconds(0);
  auto next_start = SteadyClock::now();
  std::vector<Slot*> idle;
  auto start_or_park = [&](Slot& slot) {
    const auto now = SteadyClock::now();
    if (interval.count() == 0) {
      StartCall(driver, slot);
    } else if (now >= next_start) {
      next_start = std::max(next_start + interval, now - kMaxRateLag);
      StartCall(driver, slot);
    } else {
      idle.push_back(&slot);
    }
  };
  for (Slot* slot : driver.slots) start_or_park(*slot);
  size_t active = driver.slots.size();
  bool cancelled = false;
  // AsyncNext takes wall-clock deadlines; the schedule is on the steady clock.
  const auto wall_now = std::chrono::system_clock::now();
  const auto steady_now = SteadyClock::now();
  auto to_wall = [&](SteadyClock::time_point t) {
    return wall_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          t - steady_now);
  };
  const auto cancel_at_wall = to_wall(cancel_at_);
  LoadResult& result = driver.result;
  while (active > 0) {
    void* tag = nullptr;
    bool ok = false;
    std::chrono::system_clock::time_point wake = cancel_at_wall;
    if (!idle.empty()) wake = std::min(wake, to_wall(next_start));
    const auto next = cancelled ? driver.cq.AsyncNext(&tag, &ok, gpr_inf_future(GPR_CLOCK_REALTIME))
                                : driver.cq.AsyncNext(&tag, &ok, wake);
    if (next == grpc::CompletionQueue::SHUTDOWN) break;
    if (!idle.empty()) {
      // Parked slots whose turn came; at the window's end they just stop.
      const auto now = SteadyClock::now();
      if (now >= end_) {
        active -= idle.size();
        idle.clear();
      }
      while (!idle.empty() && now >= next_start) {
        Slot* slot = idle.back();
        idle.pop_back();
        start_or_park(*slot);
      }
    }
    if (next == grpc::CompletionQueue::GOT_EVENT) {
      Slot& slot = *static_cast<Slot*>(tag);
      const auto now = SteadyClock::now();
      if (now >= measure_start_ && now < end_) {
        result.latency_ns.Record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.start).count());
        const int code = std::clamp(static_cast<int>(slot.status.error_code()), 0,
                                    kNumStatusCodes - 1);
        ++result.status_counts[code];
        ++result.count;
        if (code != 0 && !result.error_samples.contains(code)) {
          result.error_samples[code] = slot.status.error_message();
        }
      }
      if (now < end_) {
        start_or_park(slot);
        continue;
      }
      --active;
    }
    if (!cancelled && SteadyClock::now() >= cancel_at_) {
      // Past the grace period: cancel what is left (completed calls ignore it).
      for (Slot* slot : driver.slots) {
        if (slot->context) slot->context->TryCancel();
      }
      cancelled = true;
    }
  }
  driver.cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (driver.cq.Next(&tag, &ok)) {
  }
}

absl::StatusOr<LoadResult> Runner::Run() {
  if (options_.method.empty() || options_.method[0] != '/') {
    return absl::InvalidArgumentError("method must look like /package.Service/Method");
  }
  if (options_.concurrency < 1 || options_.connections < 1 || options_.threads < 1) {
    return absl::InvalidArgumentError("concurrency, connections and threads must be >= 1");
  }
  if (options_.duration <= absl::ZeroDuration() || options_.warmup < absl::ZeroDuration() ||
      options_.deadline < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("duration must be > 0, warmup and deadline >= 0");
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < options_.connections; ++i) {
    auto channel = MakeChannel(options_, i);
    if (!channel.ok()) return channel.status();
    channels.push_back(*channel);
    stubs.push_back(std::make_unique<grpc::GenericStub>(*channel));
  }
  const auto connect_deadline =
      std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.connect_timeout);
  for (size_t i = 0; i < channels.size(); ++i) {
    if (!channels[i]->WaitForConnected(connect_deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "could not connect to ", options_.target, " within ",
          absl::FormatDuration(options_.connect_timeout), " (connection ", i, ")"));
    }
  }

  const int threads = std::min(options_.threads, options_.concurrency);
  threads_ = threads;
  if (options_.rate < 0) return absl::InvalidArgumentError("rate must be >= 0");
  std::vector<std::unique_ptr<Driver>> drivers;
  for (int t = 0; t < threads; ++t) {
    drivers.push_back(std::make_unique<Driver>());
    drivers.back()->rng.seed(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(t));
  }
  // Declared after the drivers so the calls' contexts go before their CQs.
  std::vector<Slot> slots(static_cast<size_t>(options_.concurrency));
  for (size_t j = 0; j < slots.size(); ++j) {
    slots[j].stub = stubs[j % stubs.size()].get();
    drivers[j % drivers.size()]->slots.push_back(&slots[j]);
  }

  const auto start = SteadyClock::now();
  measure_start_ = start + absl::ToChronoNanoseconds(options_.warmup);
  end_ = measure_start_ + absl::ToChronoNanoseconds(options_.duration);
  cancel_at_ = end_ + kDrainGrace;

  std::vector<std::thread> workers;
  for (auto& driver : drivers) {
    workers.emplace_back([this, d = driver.get()] { DriverLoop(*d); });
  }
  for (auto& worker : workers) worker.join();

  LoadResult total;
  total.measured = options_.duration;
  for (auto& driver : drivers) {
    const LoadResult& r = driver->result;
    total.count += r.count;
    for (int c = 0; c < kNumStatusCodes; ++c) total.status_counts[c] += r.status_counts[c];
    for (const auto& [code, message] : r.error_samples) total.error_samples.emplace(code, message);
    total.latency_ns.Merge(r.latency_ns);
  }
  return total;
}

}  // namespace

double LoadResult::requests_per_second() const {
  const double seconds = absl::ToDoubleSeconds(measured);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[kNumStatusCodes] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code < 0 || code >= kNumStatusCodes) return "UNKNOWN_CODE";
  return kNames[code];
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const LoadOptions& options,
                                                           int channel_index) {
  grpc::ChannelArguments args;
  // A private subchannel pool and a distinct argument per channel: channels
  // never share a subchannel, so each one is its own TCP connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("cxp.loadgen.channel_id", channel_index);
  // A load generator must see every failure: no transparent retries.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    std::ifstream in(options.tls_ca_file, std::ios::binary);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read --tls_ca file ", options.tls_ca_file));
    }
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

void PrepareContext(const LoadOptions& options, grpc::ClientContext* context) {
  if (options.deadline > absl::ZeroDuration()) {
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoNanoseconds(options.deadline));
  }
  if (!options.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options.api_key));
  }
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const RequestSource& requests) {
  Runner runner(options, requests);
  return runner.Run();
}

}  // namespace cxp::bench
