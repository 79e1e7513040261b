// StreamRegistry<Reactor> — the live server-streaming reactors of one kind
// (AgentSession, WatchQueueStats), so a shutting-down server can end them
// instead of waiting out the drain for clients that never hang up.
//
// Contract with Reactor (the registry calls nothing else):
//   void Ref();       takes a reference that keeps the reactor alive;
//   void Unref();     drops it (and may delete the reactor);
//   void Shutdown();  ends the stream with UNAVAILABLE; must not block and
//                     may run OnDone() (so Remove()) before it returns.
// A reactor calls Add() once when it opens (in its constructor) and
// Remove() in OnDone(), while it still holds gRPC's reference: so a
// reactor found in the registry is alive for as long as the registry's
// mutex is held, and Ref() under it is safe.
//
// After shutdown: once ShutdownAll() has begun, Add() returns false and
// registers nothing; the caller must then end its stream at once with
// UNAVAILABLE (a client that connects after shutdown started must not wait
// for the drain either). There is no way back: a registry lives and dies
// with one server.
//
// Ownership: borrows the reactors; owns none. Must outlive every reactor
// added to it. Threading: all methods are thread-safe. Lock order: the
// registry's mutex, then whatever Ref() takes; Shutdown() and Unref() run
// outside the registry's mutex, so they may call Remove().

#ifndef CXP_ROUTING_SERVICE_STREAM_REGISTRY_H_
#define CXP_ROUTING_SERVICE_STREAM_REGISTRY_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace cxp::routing {

template <typename Reactor>
class StreamRegistry {
 public:
  StreamRegistry() = default;
  StreamRegistry(const StreamRegistry&) = delete;
  StreamRegistry& operator=(const StreamRegistry&) = delete;

  // Registers `reactor`; false (nothing registered) once ShutdownAll() has
  // begun.
  [[nodiscard]] bool Add(Reactor* reactor) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    live_.insert(reactor);
    return true;
  }

  // Forgets `reactor`; a no-op when it is not registered (refused by Add).
  void Remove(Reactor* reactor) {
    absl::MutexLock lock(&mu_);
    live_.erase(reactor);
  }

  // Ends every registered stream (Reactor::Shutdown) and refuses those
  // opened from now on. Returns once each Shutdown() has returned, not once
  // the streams are done.
  void ShutdownAll() {
    // A reference each keeps them alive outside the lock, where Shutdown()
    // may run OnDone (which calls Remove) before it returns.
    std::vector<Reactor*> live;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      live.reserve(live_.size());
      for (Reactor* reactor : live_) {
        reactor->Ref();
        live.push_back(reactor);
      }
    }
    for (Reactor* reactor : live) {
      reactor->Shutdown();
      reactor->Unref();
    }
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<Reactor*> live_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_STREAM_REGISTRY_H_
