// coordinator_load: N concurrent loopback clients against a hearthd of its own for a bounded
// time. Each client submits one small job, then loops over watching it, listing jobs, fetching
// its logs, getting it and predicting with the first job's model. Reports p50/p99 latency and
// errors per RPC, events lost (gaps in a watch's sequence numbers), and hearthd's RSS and open
// file descriptors before (after a warm-up of a quarter of the run), during and after. With
// --overload, hearthd runs with small limits and
// every request goes to 4x a limit: the answers must be clean RESOURCE_EXHAUSTED, never a crash.
//
//   build/bench/coordinator_load [--clients 64] [--seconds 60] [--overload]
//
// docs/performance.md has the figures and the command.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "hearth/job.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
namespace v1 = hearth::v1;

struct Options {
  int clients = 64;
  int seconds = 60;
  bool overload = false;
};

// Latencies and outcomes of one RPC, from every client.
class Stats {
 public:
  void Add(const std::string& rpc, double ms, grpc::StatusCode code) {
    std::lock_guard lock(mu_);
    Entry& e = entries_[rpc];
    e.ms.push_back(ms);
    if (code != grpc::StatusCode::OK) ++e.codes[code];
  }
  void Print() {
    std::lock_guard lock(mu_);
    std::printf("%-18s %8s %9s %9s  %s\n", "rpc", "calls", "p50 ms", "p99 ms", "not OK");
    for (auto& [rpc, e] : entries_) {
      std::sort(e.ms.begin(), e.ms.end());
      const auto pct = [&](double p) {
        return e.ms.empty() ? 0.0 : e.ms[std::min(e.ms.size() - 1, size_t(p * e.ms.size()))];
      };
      std::string codes;
      for (const auto& [code, n] : e.codes)
        codes += absl::StrFormat("%s%s=%d", codes.empty() ? "" : " ", CodeName(code), n);
      std::printf("%-18s %8zu %9.2f %9.2f  %s\n", rpc.c_str(), e.ms.size(), pct(0.5), pct(0.99),
                  codes.empty() ? "-" : codes.c_str());
    }
  }
  // Calls that ended neither OK nor with an expected code.
  int64_t Errors(const std::vector<grpc::StatusCode>& expected) {
    std::lock_guard lock(mu_);
    int64_t n = 0;
    for (const auto& [rpc, e] : entries_)
      for (const auto& [code, count] : e.codes)
        if (std::find(expected.begin(), expected.end(), code) == expected.end()) n += count;
    return n;
  }
  static const char* CodeName(grpc::StatusCode code) {
    switch (code) {
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
      case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
      case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
      case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
      case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
      case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
      case grpc::StatusCode::CANCELLED:
        return "CANCELLED";
      default:
        return "OTHER";
    }
  }

 private:
  struct Entry {
    std::vector<double> ms;
    std::map<grpc::StatusCode, int64_t> codes;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// hearthd's resident memory (kB) and open descriptors, from /proc.
struct Usage {
  int64_t rss_kb = 0;
  int64_t fds = 0;
};
Usage UsageOf(pid_t pid) {
  Usage u;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) absl::SimpleAtoi(line.substr(6, line.size() - 9), &u.rss_kb);
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    (void)entry;
    ++u.fds;
  }
  return u;
}

class Hearthd {
 public:
  Hearthd(const std::string& dir, const std::vector<std::string>& extra) {
    const fs::path self = fs::read_symlink("/proc/self/exe");
    const std::string binary = (self.parent_path().parent_path() / "bin" / "hearthd").string();
    std::vector<std::string> args = {binary,       "--listen",    "127.0.0.1:0",
                                     "--data-dir", dir + "/data", "--data-root",
                                     dir,          "--slots",     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    log_ = dir + "/hearthd.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_.c_str(), "w", stderr);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    static const std::regex kListening(R"(listening on (127\.0\.0\.1:\d+))");
    for (int i = 0; i < 400 && address_.empty(); ++i) {
      std::ifstream in(log_);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      std::smatch m;
      if (std::regex_search(text, m, kListening)) address_ = m[1];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~Hearthd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  bool Alive() const { return ::kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string address_, log_;
};

std::unique_ptr<grpc::ClientContext> Context(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

v1::JobSpec SmallJob(const std::string& csv) {
  hearth::StatusOr<v1::JobSpec> spec =
      hearth::ParseJobSpec(absl::StrFormat(R"({"name": "load", "task": "REGRESSION", "seed": 1,
        "data": {"train": {"path": "%s", "label_column": "y"}, "validation_fraction": 0.2},
        "model": {"layers": [{"dense": {"units": 1}}]}, "optimizer": {"name": "sgd", "lr": 0.05},
        "global_batch_size": 16, "epochs": 3})",
                                           csv),
                           "load.json");
  return spec.ok() ? *spec : v1::JobSpec();
}

// One client's loop until `deadline`.
void Client(int index, const std::string& address, const std::string& csv,
            Clock::time_point deadline, Stats& stats, std::atomic<int64_t>& lost_events,
            bool overload) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::Coordinator::NewStub(channel);
  const auto timed = [&](const std::string& rpc, const std::function<grpc::Status()>& call) {
    const auto start = Clock::now();
    const grpc::Status s = call();
    stats.Add(rpc, std::chrono::duration<double, std::milli>(Clock::now() - start).count(),
              s.error_code());
    return s;
  };
  std::string job;
  v1::SubmitJobRequest submit;
  *submit.mutable_spec() = SmallJob(csv);
  v1::SubmitJobResponse submitted;
  if (timed("SubmitJob", [&] {
        return stub->SubmitJob(Context(30).get(), submit, &submitted);
      }).ok())
    job = submitted.job().id();
  for (int round = 0; Clock::now() < deadline; ++round) {
    if (!job.empty()) {
      // A replay and a second of live events; the sequence numbers must have no gaps.
      v1::WatchJobRequest watch;
      watch.set_id(job);
      auto context = Context(1);
      int64_t last = 0;
      timed("WatchJob", [&] {
        auto reader = stub->WatchJob(context.get(), watch);
        v1::JobEvent event;
        while (reader->Read(&event)) {
          if (event.sequence() != last + 1) ++lost_events;
          last = event.sequence();
        }
        const grpc::Status s = reader->Finish();
        // The deadline ends a watch of a job that runs on: that is how this client stops it.
        return s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? grpc::Status::OK : s;
      });
      v1::GetJobLogsRequest logs;
      logs.set_id(job);
      logs.set_all_ranks(true);
      logs.set_tail(20);
      timed("GetJobLogs", [&] {
        auto context = Context(10);
        auto reader = stub->GetJobLogs(context.get(), logs);
        v1::LogChunk chunk;
        while (reader->Read(&chunk)) {
        }
        return reader->Finish();
      });
      v1::GetJobRequest get;
      get.set_id(job);
      v1::Job got;
      timed("GetJob", [&] { return stub->GetJob(Context(10).get(), get, &got); });
    }
    v1::ListJobsRequest list;
    list.set_limit(overload ? 200 : 50);
    v1::ListJobsResponse listed;
    timed("ListJobs", [&] { return stub->ListJobs(Context(10).get(), list, &listed); });
    v1::PredictRequest predict;
    predict.set_job_id("j-000001");
    for (int r = 0; r < (overload ? 400 : 8); ++r) {
      v1::Row* row = predict.add_rows();
      row->add_values(0.5f * r);
      row->add_values(-0.25f * index);
    }
    v1::PredictResponse predicted;
    timed("Predict", [&] { return stub->Predict(Context(10).get(), predict, &predicted); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--clients" && i + 1 < argc) {
      options.clients = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::atoi(argv[++i]);
    } else if (arg == "--overload") {
      options.overload = true;
    } else {
      std::fprintf(stderr, "usage: coordinator_load [--clients N] [--seconds S] [--overload]\n");
      return 2;
    }
  }
  if (options.clients < 1 || options.clients > 1024 || options.seconds < 1 ||
      options.seconds > 3600) {
    std::fprintf(stderr, "coordinator_load: --clients 1..1024, --seconds 1..3600\n");
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("hearth-load-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const std::string csv = (dir / "data.csv").string();
  {
    std::ofstream out(csv);
    out << "x1,x2,y\n";
    for (int i = 0; i < 200; ++i) out << i * 0.01 << "," << -i * 0.02 << "," << i * 0.03 << "\n";
  }
  // Overload: small limits, and every request at 4x one of them (16 streams for 64 clients, 50
  // jobs per page for 200, 100 rows for 400, 8 queued jobs for 64 submissions).
  std::vector<std::string> flags;
  if (options.overload)
    flags = {"--max-streams", "16",  "--max-list-page",   "50",
             "--max-rows",    "100", "--max-queued-jobs", "8"};
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  Hearthd hearthd(dir.string(), flags);
  if (hearthd.address().empty()) {
    std::fprintf(stderr, "coordinator_load: hearthd did not start (see %s/hearthd.log)\n",
                 dir.c_str());
    return 1;
  }
  // The first job's model answers every Predict.
  {
    auto stub = v1::Coordinator::NewStub(
        grpc::CreateChannel(hearthd.address(), grpc::InsecureChannelCredentials()));
    v1::SubmitJobRequest submit;
    *submit.mutable_spec() = SmallJob(csv);
    v1::SubmitJobResponse submitted;
    if (!stub->SubmitJob(Context(30).get(), submit, &submitted).ok()) return 1;
    for (int i = 0; i < 600; ++i) {
      v1::GetJobRequest get;
      get.set_id(submitted.job().id());
      v1::Job job;
      if (stub->GetJob(Context(10).get(), get, &job).ok() && job.state() == v1::SUCCEEDED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // A warm-up with every client first (gRPC's threads, the model cache, SQLite's page cache), so
  // "before" is a working hearthd, not an idle one; its calls are not counted.
  {
    Stats warmup;
    std::atomic<int64_t> ignored{0};
    const auto until = Clock::now() + std::chrono::seconds(std::max(2, options.seconds / 4));
    std::vector<std::thread> clients;
    for (int c = 0; c < options.clients; ++c)
      clients.emplace_back(Client, c, hearthd.address(), csv, until, std::ref(warmup),
                           std::ref(ignored), options.overload);
    for (std::thread& t : clients) t.join();
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  const Usage before = UsageOf(hearthd.pid());
  Stats stats;
  std::atomic<int64_t> lost{0};
  Usage peak = before;
  std::vector<int64_t> timeline;  // RSS every tenth of the run: a leak climbs, a cache levels off
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    const auto start = Clock::now();
    while (sampling) {
      const Usage u = UsageOf(hearthd.pid());
      peak.rss_kb = std::max(peak.rss_kb, u.rss_kb);
      peak.fds = std::max(peak.fds, u.fds);
      const double at = std::chrono::duration<double>(Clock::now() - start).count();
      if (at >= timeline.size() * options.seconds / 10.0 && timeline.size() < 11)
        timeline.push_back(u.rss_kb);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  const auto deadline = Clock::now() + std::chrono::seconds(options.seconds);
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c)
    clients.emplace_back(Client, c, hearthd.address(), csv, deadline, std::ref(stats),
                         std::ref(lost), options.overload);
  for (std::thread& t : clients) t.join();
  // The queued jobs drain, the streams end; then the descriptors are counted again.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  sampling = false;
  sampler.join();
  const Usage after = UsageOf(hearthd.pid());

  std::printf("coordinator_load: %d clients for %d s%s against %s (hearthd pid %d)\n",
              options.clients, options.seconds, options.overload ? ", overload" : "",
              hearthd.address().c_str(), hearthd.pid());
  stats.Print();
  const int64_t errors =
      options.overload ? stats.Errors({grpc::StatusCode::RESOURCE_EXHAUSTED}) : stats.Errors({});
  std::printf("errors %lld%s, lost events %lld\n", static_cast<long long>(errors),
              options.overload ? " (other than RESOURCE_EXHAUSTED)" : "",
              static_cast<long long>(lost.load()));
  std::printf(
      "hearthd RSS %lld kB before, %lld kB peak, %lld kB after (%+.1f%%); fds %lld before, "
      "%lld peak, %lld after; %s\n",
      static_cast<long long>(before.rss_kb), static_cast<long long>(peak.rss_kb),
      static_cast<long long>(after.rss_kb),
      100.0 * (after.rss_kb - before.rss_kb) / std::max<int64_t>(before.rss_kb, 1),
      static_cast<long long>(before.fds), static_cast<long long>(peak.fds),
      static_cast<long long>(after.fds), hearthd.Alive() ? "alive" : "DEAD");
  std::string samples;
  for (int64_t kb : timeline) samples += absl::StrFormat(" %d", kb / 1024);
  std::printf("hearthd RSS in MB at each tenth of the run:%s\n", samples.c_str());
  const bool ok = errors == 0 && lost == 0 && hearthd.Alive();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return ok ? 0 : 1;
}
