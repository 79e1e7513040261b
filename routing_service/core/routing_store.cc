#include "routing_service/core/routing_store.h"

#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/store/key_codec.h"
#include "common/store/proto_rows.h"
#include "common/validation/resource_id.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::routing {
namespace {

using cxp::validation::ResourceIdOf;

namespace v1 = ::cxp::routing::v1;
using google::protobuf::util::TimeUtil;

constexpr std::string_view kConfigFamily = "routing_config";
constexpr std::string_view kTasksFamily = "routing_tasks";
// Key kinds (one byte after the tenant).
constexpr std::string_view kQueueKind = "q";
constexpr std::string_view kAgentKind = "a";
constexpr std::string_view kTaskKind = "t";
constexpr std::string_view kNewestKind = "n";
constexpr std::string_view kActiveKind = "o";

std::string Key(const std::string& tenant, std::string_view kind, std::string_view id) {
  return store::KeyBuilder(tenant).AddFixedBytes(kind).AddString(id).key();
}

std::string RequestKey(const std::string& tenant, std::string_view method,
                       std::string_view request_id) {
  return store::KeyBuilder(tenant).AddString(method).AddString(request_id).key();
}

std::string NewestKey(const std::string& tenant, const v1::Task& task) {
  return store::KeyBuilder(tenant)
      .AddFixedBytes(kNewestKind)
      .AddInt64Descending(TimeUtil::TimestampToMicroseconds(task.create_time()))
      .AddString(ResourceIdOf(task.name()))
      .key();
}

bool Terminal(v1::Task::State state) {
  return state == v1::Task::STATE_COMPLETED || state == v1::Task::STATE_CANCELLED ||
         state == v1::Task::STATE_ABANDONED || state == v1::Task::STATE_EXPIRED;
}

// (tenant, kind, id) of a key of the config family or the task rows.
struct DecodedKey {
  std::string tenant;
  std::string kind;
};
absl::StatusOr<DecodedKey> Decode(std::string_view key) {
  store::KeyReader reader(key);
  ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
  ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
  return DecodedKey{std::move(tenant), std::string(kind)};
}

}  // namespace

std::vector<std::string> RoutingStore::ColumnFamilies() {
  return {std::string(kConfigFamily), std::string(kTasksFamily), kRequestsFamily};
}

absl::StatusOr<RoutingStore> RoutingStore::Attach(store::RocksStore& rocks) {
  RoutingStore store;
  store.store_ = &rocks;
  ASSIGN_OR_RETURN(store.config_, rocks.ColumnFamily(kConfigFamily));
  ASSIGN_OR_RETURN(store.tasks_, rocks.ColumnFamily(kTasksFamily));
  ASSIGN_OR_RETURN(store.requests_, rocks.ColumnFamily(kRequestsFamily));
  return store;
}

void RoutingStore::Batch::PutQueue(const std::string& tenant, const v1::Queue& queue) {
  batch_.Put(store_->config_, Key(tenant, kQueueKind, ResourceIdOf(queue.name())),
             queue.SerializeAsString());
}

void RoutingStore::Batch::DeleteQueue(const std::string& tenant, const std::string& queue_name) {
  batch_.Delete(store_->config_, Key(tenant, kQueueKind, ResourceIdOf(queue_name)));
}

void RoutingStore::Batch::PutAgent(const std::string& tenant, const v1::Agent& agent) {
  batch_.Put(store_->config_, Key(tenant, kAgentKind, ResourceIdOf(agent.name())),
             agent.SerializeAsString());
}

void RoutingStore::Batch::DeleteAgent(const std::string& tenant, const std::string& agent_name) {
  batch_.Delete(store_->config_, Key(tenant, kAgentKind, ResourceIdOf(agent_name)));
}

void RoutingStore::Batch::PutTask(const std::string& tenant, const v1::Task& task) {
  const std::string_view id = ResourceIdOf(task.name());
  batch_.Put(store_->tasks_, Key(tenant, kTaskKind, id), task.SerializeAsString());
  // The same row each time (create_time never changes): cheap to repeat.
  batch_.Put(store_->tasks_, NewestKey(tenant, task), "");
  if (Terminal(task.state())) {
    batch_.Delete(store_->tasks_, Key(tenant, kActiveKind, id));
  } else {
    batch_.Put(store_->tasks_, Key(tenant, kActiveKind, id), "");
  }
}

void RoutingStore::Batch::DeleteTask(const std::string& tenant, const v1::Task& task) {
  const std::string_view id = ResourceIdOf(task.name());
  batch_.Delete(store_->tasks_, Key(tenant, kTaskKind, id));
  batch_.Delete(store_->tasks_, NewestKey(tenant, task));
  batch_.Delete(store_->tasks_, Key(tenant, kActiveKind, id));
}

void RoutingStore::Batch::PutStoredResponse(const std::string& tenant, const std::string& method,
                                            const std::string& request_id,
                                            const idempotency::StoredResponse& response) {
  batch_.Put(store_->requests_, RequestKey(tenant, method, request_id),
             response.SerializeAsString());
}

absl::Status RoutingStore::Commit(Batch& batch) const {
  if (batch.empty()) return absl::OkStatus();
  return store_->WriteUnsynced(&batch.batch_);
}

absl::StatusOr<uint64_t> RoutingStore::Enqueue(Batch& batch) const {
  if (batch.empty()) return 0;
  return store_->EnqueueWrite(std::move(batch.batch_));
}

absl::StatusOr<std::optional<v1::Queue>> RoutingStore::GetQueue(const std::string& tenant,
                                                                const std::string& name) const {
  return store::GetRow<v1::Queue>(*store_, config_, Key(tenant, kQueueKind, ResourceIdOf(name)),
                                  "queue");
}

absl::StatusOr<std::optional<v1::Agent>> RoutingStore::GetAgent(const std::string& tenant,
                                                                const std::string& name) const {
  return store::GetRow<v1::Agent>(*store_, config_, Key(tenant, kAgentKind, ResourceIdOf(name)),
                                  "agent");
}

absl::StatusOr<std::optional<v1::Task>> RoutingStore::GetTask(const std::string& tenant,
                                                              const std::string& name) const {
  return store::GetRow<v1::Task>(*store_, tasks_, Key(tenant, kTaskKind, ResourceIdOf(name)),
                                 "task");
}

absl::StatusOr<std::optional<idempotency::StoredResponse>> RoutingStore::GetStoredResponse(
    const std::string& tenant, const std::string& method, const std::string& request_id) const {
  return store::GetRow<idempotency::StoredResponse>(
      *store_, requests_, RequestKey(tenant, method, request_id), "stored response");
}

absl::Status RoutingStore::LoadAll(const Visitors& visit) const {
  // Queues of every tenant first (agents name them), then agents.
  for (std::string_view kind : {kQueueKind, kAgentKind}) {
    ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(config_, {}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSIGN_OR_RETURN(DecodedKey key, Decode(it->key().ToStringView()));
      if (key.kind != kind) continue;
      if (kind == kQueueKind) {
        ASSIGN_OR_RETURN(v1::Queue queue,
                         store::ParseRow<v1::Queue>(it->value().ToStringView(), "queue"));
        RETURN_IF_ERROR(visit.queue(key.tenant, queue));
      } else {
        ASSIGN_OR_RETURN(v1::Agent agent,
                         store::ParseRow<v1::Agent>(it->value().ToStringView(), "agent"));
        RETURN_IF_ERROR(visit.agent(key.tenant, agent));
      }
    }
    if (!it->status().ok()) {
      return absl::InternalError("routing config read failed: " + it->status().ToString());
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(tasks_, {}));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    store::KeyReader reader(it->key().ToStringView());
    ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
    ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
    if (kind != kActiveKind) continue;
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    ASSIGN_OR_RETURN(std::optional<v1::Task> task,
                     store::GetRow<v1::Task>(*store_, tasks_, Key(tenant, kTaskKind, id), "task"));
    if (!task) return absl::DataLossError(absl::StrCat("active task ", id, " has no record"));
    RETURN_IF_ERROR(visit.active_task(tenant, *task));
  }
  if (!it->status().ok()) {
    return absl::InternalError("routing task read failed: " + it->status().ToString());
  }
  return absl::OkStatus();
}

absl::Status RoutingStore::ScanTasksNewestFirst(
    const std::string& tenant, const std::string& resume_key, size_t max_rows,
    absl::FunctionRef<bool(const std::string& key, const v1::Task&)> visit) const {
  const std::string prefix = store::KeyBuilder(tenant).AddFixedBytes(kNewestKind).key();
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(tasks_, {.lower_bound = prefix,
                                                .upper_bound = store::PrefixSuccessor(prefix)}));
  if (resume_key.empty()) {
    it->Seek(prefix);
  } else {
    it->Seek(resume_key);
    if (it->Valid() && it->key().ToStringView() == resume_key) it->Next();
  }
  for (size_t rows = 0; it->Valid() && rows < max_rows; it->Next(), ++rows) {
    const std::string key(it->key().ToStringView());
    store::KeyReader reader(key);
    ASSIGN_OR_RETURN(std::string key_tenant, reader.ReadString());
    (void)key_tenant;
    ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
    (void)kind;
    ASSIGN_OR_RETURN(int64_t created, reader.ReadInt64Descending());
    (void)created;
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    ASSIGN_OR_RETURN(std::optional<v1::Task> task,
                     store::GetRow<v1::Task>(*store_, tasks_, Key(tenant, kTaskKind, id), "task"));
    if (!task) continue;  // written in the same batch; absent only mid-deletion
    if (!visit(key, *task)) break;
  }
  if (!it->status().ok()) {
    return absl::InternalError("routing task scan failed: " + it->status().ToString());
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> RoutingStore::PurgeEndedTasks(const std::string& tenant, absl::Time cutoff,
                                                     size_t max_tasks) const {
  // Oldest first: the newest-first rows read backwards. A task created at or
  // after the cutoff cannot have ended before it, so the scan stops there.
  const std::string prefix = store::KeyBuilder(tenant).AddFixedBytes(kNewestKind).key();
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(tasks_, {.lower_bound = prefix,
                                                .upper_bound = store::PrefixSuccessor(prefix)}));
  Batch batch = NewBatch();
  size_t purged = 0;
  const int64_t cutoff_micros = absl::ToUnixMicros(cutoff);
  for (it->SeekToLast(); it->Valid() && purged < max_tasks; it->Prev()) {
    store::KeyReader reader(it->key().ToStringView());
    ASSIGN_OR_RETURN(std::string key_tenant, reader.ReadString());
    (void)key_tenant;
    ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
    (void)kind;
    ASSIGN_OR_RETURN(int64_t created, reader.ReadInt64Descending());
    if (created >= cutoff_micros) break;
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    ASSIGN_OR_RETURN(std::optional<v1::Task> task,
                     store::GetRow<v1::Task>(*store_, tasks_, Key(tenant, kTaskKind, id), "task"));
    if (!task) {
      batch.batch_.Delete(tasks_, it->key());  // an orphaned row
      continue;
    }
    if (!Terminal(task->state()) ||
        TimeUtil::TimestampToMicroseconds(task->end_time()) >= cutoff_micros) {
      continue;
    }
    batch.DeleteTask(tenant, *task);
    ++purged;
  }
  if (!it->status().ok()) {
    return absl::InternalError("routing task purge scan failed: " + it->status().ToString());
  }
  RETURN_IF_ERROR(Commit(batch));
  return purged;
}

}  // namespace cxp::routing
