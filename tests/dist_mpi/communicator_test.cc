// The MPI communicator's collectives, checked against values every rank can compute alone.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <mpi.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/dist/collectives.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist {
namespace {

using dist_mpi_test::Comm;

int EnvInt(const char* name) {
  const char* text = std::getenv(name);
  return text == nullptr ? -1 : std::atoi(text);
}

TEST(MpiCommunicatorTest, RankAndSize) {
  Communicator& comm = Comm();
  EXPECT_EQ(comm.backend(), "mpi");
  EXPECT_EQ(comm.size(), EnvInt("OMPI_COMM_WORLD_SIZE"));
  EXPECT_EQ(comm.rank(), EnvInt("OMPI_COMM_WORLD_RANK"));
  EXPECT_EQ(comm.local_rank(), EnvInt("OMPI_COMM_WORLD_LOCAL_RANK"));
  EXPECT_EQ(comm.local_size(), EnvInt("OMPI_COMM_WORLD_LOCAL_SIZE"));
  EXPECT_GE(comm.size(), 2);
  EXPECT_EQ(comm.is_root(), comm.rank() == 0);
  EXPECT_LE(comm.local_size(), comm.size());
  EXPECT_TRUE(LaunchedByMpi());

  // Every rank number appears once, and every local rank once per machine.
  const int32_t mine[2] = {comm.rank(), comm.local_rank()};
  std::vector<int32_t> all(2 * comm.size());
  ASSERT_TRUE(comm.AllGather(std::as_bytes(std::span(mine)), std::as_writable_bytes(std::span(all)),
                             "ranks")
                  .ok());
  std::vector<int> local_seen(comm.size(), 0);
  for (int r = 0; r < comm.size(); ++r) {
    EXPECT_EQ(all[2 * r], r);
    ASSERT_GE(all[2 * r + 1], 0);
    ASSERT_LT(all[2 * r + 1], comm.size());
    ++local_seen[all[2 * r + 1]];
  }
  for (int l = 0; l < comm.local_size(); ++l)
    EXPECT_EQ(local_seen[l], comm.size() / comm.local_size());
}

// Small integers, so every sum is exact in any order.
float Value(int rank, size_t i) {
  return static_cast<float>(static_cast<int>((i * 7 + rank * 13) % 41) - 20);
}

TEST(MpiCommunicatorTest, AllReduceFloat) {
  Communicator& comm = Comm();
  const int n = comm.size();
  for (size_t length : {size_t{1}, size_t{37}, size_t{100003}}) {
    std::vector<float> sum(length), max(length), min(length);
    for (size_t i = 0; i < length; ++i) sum[i] = max[i] = min[i] = Value(comm.rank(), i);
    EXPECT_TRUE(comm.AllReduce(std::span(sum), ReduceOp::kSum, "float sum").ok());
    EXPECT_TRUE(comm.AllReduce(std::span(max), ReduceOp::kMax, "float max").ok());
    EXPECT_TRUE(comm.AllReduce(std::span(min), ReduceOp::kMin, "float min").ok());
    int wrong = 0;
    for (size_t i = 0; i < length; ++i) {
      float s = 0, hi = Value(0, i), lo = Value(0, i);
      for (int r = 0; r < n; ++r) {
        s += Value(r, i);
        hi = std::max(hi, Value(r, i));
        lo = std::min(lo, Value(r, i));
      }
      wrong += sum[i] != s || max[i] != hi || min[i] != lo;
    }
    EXPECT_EQ(wrong, 0) << "length " << length;
  }
}

TEST(MpiCommunicatorTest, AllReduceDouble) {
  Communicator& comm = Comm();
  const int n = comm.size();
  std::vector<double> sum = {0.5 * comm.rank(), -1.0 * comm.rank(), 1e300 / n};
  std::vector<double> max = {0.25 * comm.rank(), -1.0 * comm.rank()};
  std::vector<double> min = max;
  EXPECT_TRUE(comm.AllReduce(std::span(sum), ReduceOp::kSum, "double sum").ok());
  EXPECT_TRUE(comm.AllReduce(std::span(max), ReduceOp::kMax, "double max").ok());
  EXPECT_TRUE(comm.AllReduce(std::span(min), ReduceOp::kMin, "double min").ok());
  const double ranks = n * (n - 1) / 2.0;
  EXPECT_EQ(sum[0], 0.5 * ranks);
  EXPECT_EQ(sum[1], -ranks);
  EXPECT_NEAR(sum[2], 1e300, 1e286);
  EXPECT_EQ(max, (std::vector<double>{0.25 * (n - 1), 0}));
  EXPECT_EQ(min, (std::vector<double>{0, -1.0 * (n - 1)}));
}

TEST(MpiCommunicatorTest, AllReduceInt64) {
  Communicator& comm = Comm();
  const int n = comm.size();
  // Beyond 2^53: a reduction through double would lose the low bits.
  constexpr int64_t kBig = int64_t{1} << 60;
  std::vector<int64_t> sum = {kBig / 8 + comm.rank(), -comm.rank()};
  std::vector<int64_t> max = {kBig + comm.rank(), -comm.rank()};
  std::vector<int64_t> min = max;
  EXPECT_TRUE(comm.AllReduce(std::span(sum), ReduceOp::kSum, "int64 sum").ok());
  EXPECT_TRUE(comm.AllReduce(std::span(max), ReduceOp::kMax, "int64 max").ok());
  EXPECT_TRUE(comm.AllReduce(std::span(min), ReduceOp::kMin, "int64 min").ok());
  const int64_t ranks = int64_t{n} * (n - 1) / 2;
  EXPECT_EQ(sum, (std::vector<int64_t>{n * (kBig / 8) + ranks, -ranks}));
  EXPECT_EQ(max, (std::vector<int64_t>{kBig + n - 1, 0}));
  EXPECT_EQ(min, (std::vector<int64_t>{kBig, -(n - 1)}));
}

TEST(MpiCommunicatorTest, AllReduceEmpty) {
  std::vector<float> none;
  EXPECT_TRUE(Comm().AllReduce(std::span(none), ReduceOp::kSum, "empty").ok());
}

TEST(MpiCommunicatorTest, BroadcastFromEveryRoot) {
  Communicator& comm = Comm();
  for (int root = 0; root < comm.size(); ++root) {
    std::vector<std::byte> data(1000);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<std::byte>((i * 31 + comm.rank() * 7) & 0xff);
    EXPECT_TRUE(comm.Broadcast(data, root, "broadcast").ok());
    int wrong = 0;
    for (size_t i = 0; i < data.size(); ++i)
      wrong += data[i] != static_cast<std::byte>((i * 31 + root * 7) & 0xff);
    EXPECT_EQ(wrong, 0) << "root " << root;
  }
}

TEST(MpiCommunicatorTest, AllGatherInRankOrder) {
  Communicator& comm = Comm();
  constexpr size_t kEach = 13;
  std::vector<std::byte> mine(kEach);
  for (size_t i = 0; i < kEach; ++i) mine[i] = static_cast<std::byte>(comm.rank() * 16 + i);
  std::vector<std::byte> all(kEach * comm.size());
  EXPECT_TRUE(comm.AllGather(mine, all, "allgather").ok());
  for (int r = 0; r < comm.size(); ++r)
    for (size_t i = 0; i < kEach; ++i)
      EXPECT_EQ(all[r * kEach + i], static_cast<std::byte>(r * 16 + i)) << r << " " << i;

  // A wrongly sized output is refused before any communication, on every rank alike.
  std::vector<std::byte> short_output(kEach * comm.size() - 1);
  EXPECT_EQ(comm.AllGather(mine, short_output, "bad allgather").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MpiCommunicatorTest, Barrier) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Comm().Barrier("barrier").ok());
}

TEST(MpiCommunicatorTest, BroadcastStringLongAndEmpty) {
  Communicator& comm = Comm();
  const int last = comm.size() - 1;
  std::string expected(1 << 20, '\0');
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>('a' + i % 26);
  expected += "tail";
  // Non-roots start with strings of other lengths, longer and shorter.
  std::string text = comm.rank() == last ? expected : std::string(comm.rank() * 3 + 1, 'x');
  if (comm.rank() == 0 && last != 0) text.assign((2 << 20), 'y');
  EXPECT_TRUE(BroadcastString(comm, &text, last, "long string").ok());
  EXPECT_EQ(text.size(), expected.size());
  EXPECT_TRUE(text == expected);

  std::string empty = comm.rank() == 0 ? "" : "not empty on rank " + std::to_string(comm.rank());
  EXPECT_TRUE(BroadcastString(comm, &empty, 0, "empty string").ok());
  EXPECT_EQ(empty, "");
}

TEST(MpiCommunicatorTest, StartAllReduceSumThenTestAndWait) {
  Communicator& comm = Comm();
  const int n = comm.size();
  std::vector<float> a(5000), b(17);
  for (size_t i = 0; i < a.size(); ++i) a[i] = Value(comm.rank(), i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = Value(comm.rank(), i + 3);
  StatusOr<RequestId> ra = comm.StartAllReduceSum(std::span(a), "async a");
  StatusOr<RequestId> rb = comm.StartAllReduceSum(std::span(b), "async b");
  ASSERT_TRUE(ra.ok()) << ra.status();
  ASSERT_TRUE(rb.ok()) << rb.status();
  EXPECT_NE(*ra, *rb);
  // Poll the first to completion (bounded, so a bug fails rather than spins forever).
  bool done = false;
  for (int polls = 0; polls < 10'000'000 && !done; ++polls) {
    StatusOr<bool> tested = comm.Test(*ra);
    ASSERT_TRUE(tested.ok()) << tested.status();
    done = *tested;
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(comm.Wait(*ra).ok());  // already finished: still fine
  EXPECT_TRUE(comm.Wait(*rb).ok());
  StatusOr<bool> after = comm.Test(*rb);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*after);
  int wrong = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    float s = 0;
    for (int r = 0; r < n; ++r) s += Value(r, i);
    wrong += a[i] != s;
  }
  for (size_t i = 0; i < b.size(); ++i) {
    float s = 0;
    for (int r = 0; r < n; ++r) s += Value(r, i + 3);
    wrong += b[i] != s;
  }
  EXPECT_EQ(wrong, 0);
}

TEST(MpiCommunicatorTest, SendRecvWithAPartner) {
  Communicator& comm = Comm();
  const int peer = comm.rank() ^ 1;
  if (peer >= comm.size()) {
    // The odd one out (an odd world size) has no partner; it only joins the barrier.
    EXPECT_TRUE(comm.Barrier("after sendrecv").ok());
    return;
  }
  std::vector<float> send = {static_cast<float>(comm.rank()), 0.5f, -1.0f * comm.rank()};
  std::vector<float> recv(3, -99);
  EXPECT_TRUE(comm.SendRecv(send, recv, peer, "pair exchange").ok());
  EXPECT_EQ(recv, (std::vector<float>{static_cast<float>(peer), 0.5f, -1.0f * peer}));
  std::vector<float> too_small(2);
  EXPECT_EQ(comm.SendRecv(send, too_small, peer, "bad exchange").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(comm.Barrier("after sendrecv").ok());
}

TEST(MpiCommunicatorTest, SecondCommunicatorIsRefused) {
  StatusOr<std::unique_ptr<Communicator>> second = MakeMpiCommunicator(MpiOptions{});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

// The name of the value Open MPI uses for the enumerated control variable `name`, or "" when this
// MPI has no such variable.
std::string OpenMpiSetting(const char* name) {
  int provided = 0;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return "";
  std::string result;
  int index = -1;
  if (MPI_T_cvar_get_index(name, &index) == MPI_SUCCESS) {
    char cvar_name[256], desc[1024];
    int name_len = sizeof(cvar_name), desc_len = sizeof(desc), verbosity = 0, binding = 0,
        scope = 0;
    MPI_Datatype type;
    MPI_T_enum enumtype = MPI_T_ENUM_NULL;
    MPI_T_cvar_handle handle;
    int count = 0, value = -1;
    if (MPI_T_cvar_get_info(index, cvar_name, &name_len, &verbosity, &type, &enumtype, desc,
                            &desc_len, &binding, &scope) == MPI_SUCCESS &&
        enumtype != MPI_T_ENUM_NULL &&
        MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
      MPI_T_cvar_read(handle, &value);
      MPI_T_cvar_handle_free(&handle);
      int items = 0;
      char enum_name[256];
      int enum_len = sizeof(enum_name);
      MPI_T_enum_get_info(enumtype, &items, enum_name, &enum_len);
      for (int i = 0; i < items; ++i) {
        int item_value = 0;
        char item_name[256];
        int item_len = sizeof(item_name);
        if (MPI_T_enum_get_item(enumtype, i, &item_value, item_name, &item_len) == MPI_SUCCESS &&
            item_value == value)
          result = item_name;
      }
    }
  }
  MPI_T_finalize();
  return result;
}

// Hearth's Open MPI defaults (mpi_communicator.cc) reach Open MPI itself: the test runs without
// them in its environment, as users do.
TEST(MpiCommunicatorTest, RanksOnOneHostCopyThroughSharedMemoryRatherThanCma) {
  Comm();  // initialised MPI
  const std::string mechanism = OpenMpiSetting("btl_vader_single_copy_mechanism");
  if (mechanism.empty()) GTEST_SKIP() << "this MPI has no btl_vader_single_copy_mechanism";
  EXPECT_EQ(mechanism, "none");
  const char* iallreduce = std::getenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm");
  ASSERT_NE(iallreduce, nullptr);
  EXPECT_STREQ(iallreduce, "1");
}

// A rank whose peer died gets EPIPE from its writes instead of dying of SIGPIPE before the
// launcher hears of the peer (mpirun would then name the survivor as the failed rank).
TEST(MpiCommunicatorTest, BrokenPipesAreErrorsNotSignals) {
  Comm();
  struct sigaction action {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &action), 0);
  EXPECT_EQ(action.sa_handler, SIG_IGN);
}

}  // namespace
}  // namespace hearth::dist
