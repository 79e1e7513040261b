// RoutingStore — routing_service's RocksDB layout: queues, agents (with
// their presence), tasks, per tenant. The RoutingEngine decides in memory;
// this keeps what it decided so a restart (or a kill -9) brings back every
// acknowledged queue, agent and task.
//
// Layout (every key starts with the tenant, common/store/key_codec.h):
//   routing_config  (tenant, "q", queue id)               -> v1::Queue
//                   (tenant, "a", agent id)               -> v1::Agent, presence included
//   routing_tasks   (tenant, "t", task id)                -> v1::Task (latest)
//                   (tenant, "n", create micros desc, id) -> ""  newest first (ListTasks)
//                   (tenant, "o", task id)                -> ""  while not terminal (restart)
//   routing_requests (tenant, method, request_id)         -> idempotency::StoredResponse
//                   (AIP-155 answers, dropped by compaction once expired:
//                   install idempotency::ExpiredResponseFilterFactory on it)
//
// Writes: a Batch collects one call's changes (the engine's TakeChanges())
// and Commit() applies them atomically (or Enqueue() queues them to be
// applied in order by the store's syncer thread); Commit returns once they are applied,
// and AfterDurable() (RocksStore) reports when they are in the fsynced WAL —
// acknowledge to a client only then.
//
// Threading: all methods are thread-safe (RocksDB is); a Batch belongs to
// one thread. Ownership: borrows the RocksStore, which must outlive it.
// Errors: absent rows are std::nullopt; a row that does not parse is
// DATA_LOSS; RocksDB errors as RocksStore reports them.

#ifndef CXP_ROUTING_SERVICE_CORE_ROUTING_STORE_H_
#define CXP_ROUTING_SERVICE_CORE_ROUTING_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/idempotency/stored_response.pb.h"
#include "common/store/rocks_store.h"
#include "cxp/routing/v1/agent.pb.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/routing/v1/task.pb.h"
#include "rocksdb/write_batch.h"

namespace cxp::routing {

class RoutingStore {
 public:
  // The families to open the RocksStore with.
  static std::vector<std::string> ColumnFamilies();
  // The family of the idempotency records (for the expiry filter).
  static constexpr char kRequestsFamily[] = "routing_requests";
  // FAILED_PRECONDITION-free unless a family is missing (NOT_FOUND).
  static absl::StatusOr<RoutingStore> Attach(store::RocksStore& rocks);

  class Batch {
   public:
    // Resources are given by their full message; ids come from the names
    // ("queues/{id}", "agents/{id}", "tasks/{id}").
    void PutQueue(const std::string& tenant, const cxp::routing::v1::Queue& queue);
    void DeleteQueue(const std::string& tenant, const std::string& queue_name);
    void PutAgent(const std::string& tenant, const cxp::routing::v1::Agent& agent);
    void DeleteAgent(const std::string& tenant, const std::string& agent_name);
    // The task's latest state; its newest-first row (by create_time) and,
    // while it is not terminal, its active row.
    void PutTask(const std::string& tenant, const cxp::routing::v1::Task& task);
    // Removes an ended task (its record and newest-first row).
    void DeleteTask(const std::string& tenant, const cxp::routing::v1::Task& task);
    // The first answer to request `request_id` of `method`.
    void PutStoredResponse(const std::string& tenant, const std::string& method,
                           const std::string& request_id,
                           const idempotency::StoredResponse& response);
    bool empty() const { return batch_.Count() == 0; }

   private:
    friend class RoutingStore;
    explicit Batch(const RoutingStore* store) : store_(store) {}
    const RoutingStore* store_;
    rocksdb::WriteBatch batch_;
  };

  Batch NewBatch() const { return Batch(this); }
  // Applies the batch atomically (visible at once; durable once
  // store::RocksStore::AfterDurable says so).
  absl::Status Commit(Batch& batch) const;
  // Enqueues the batch (left empty) with RocksStore::EnqueueWrite: applied
  // after every batch enqueued before it, by the store's syncer thread.
  // Returns its ticket (0 for an empty batch, which writes nothing).
  absl::StatusOr<uint64_t> Enqueue(Batch& batch) const;

  absl::StatusOr<std::optional<cxp::routing::v1::Queue>> GetQueue(const std::string& tenant,
                                                                  const std::string& name) const;
  absl::StatusOr<std::optional<cxp::routing::v1::Agent>> GetAgent(const std::string& tenant,
                                                                  const std::string& name) const;
  absl::StatusOr<std::optional<cxp::routing::v1::Task>> GetTask(const std::string& tenant,
                                                                const std::string& name) const;

  absl::StatusOr<std::optional<idempotency::StoredResponse>> GetStoredResponse(
      const std::string& tenant, const std::string& method, const std::string& request_id) const;

  // Everything a restart needs, tenant by tenant: every queue (in id
  // order), then every agent, then every active task (in id order).
  struct Visitors {
    absl::FunctionRef<absl::Status(const std::string& tenant, const cxp::routing::v1::Queue&)>
        queue;
    absl::FunctionRef<absl::Status(const std::string& tenant, const cxp::routing::v1::Agent&)>
        agent;
    absl::FunctionRef<absl::Status(const std::string& tenant, const cxp::routing::v1::Task&)>
        active_task;
  };
  absl::Status LoadAll(const Visitors& visit) const;

  // A tenant's tasks, newest first, starting after `resume_key` (empty:
  // from the newest); calls visit(key, task) until it returns false or
  // `max_rows` rows were read. The key resumes a later scan.
  absl::Status ScanTasksNewestFirst(
      const std::string& tenant, const std::string& resume_key, size_t max_rows,
      absl::FunctionRef<bool(const std::string& key, const cxp::routing::v1::Task&)> visit) const;

  // Deletes the tenant's tasks that ended before `cutoff` (terminal, with
  // end_time < cutoff), oldest first, at most `max_tasks` in one batch
  // (committed like any other). Returns how many were deleted; fewer than
  // `max_tasks` means none is left.
  absl::StatusOr<size_t> PurgeEndedTasks(const std::string& tenant, absl::Time cutoff,
                                         size_t max_tasks) const;

  store::RocksStore& rocks() const { return *store_; }

 private:
  RoutingStore() = default;
  store::RocksStore* store_ = nullptr;
  rocksdb::ColumnFamilyHandle* config_ = nullptr;
  rocksdb::ColumnFamilyHandle* tasks_ = nullptr;
  rocksdb::ColumnFamilyHandle* requests_ = nullptr;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CORE_ROUTING_STORE_H_
