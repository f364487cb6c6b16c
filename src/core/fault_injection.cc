// HEARTH_FAULTS parsing and matching (see fault_injection.h).
#include "core/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hearth::faults {
namespace {

// Keys that configure the action instead of selecting where the fault fires.
bool IsParameter(std::string_view key) {
  return key == "times" || key == "ms" || key == "errno" || key == "mode";
}

struct Entry {
  Fault fault;
  std::map<std::string, std::string, std::less<>> match;
  int64_t times = -1;  // -1: unlimited
  std::atomic<int64_t> fired{0};
};

struct Registry {
  std::mutex mu;  // guards attributes and a spec swap (tests only)
  std::deque<Entry> entries;
  std::map<std::string, std::string, std::less<>> attributes;
  std::atomic<bool> enabled{false};

  void Parse(absl::string_view spec) {
    entries.clear();
    for (absl::string_view item : absl::StrSplit(spec, ';', absl::SkipWhitespace())) {
      item = absl::StripAsciiWhitespace(item);
      Entry& entry = entries.emplace_back();
      const size_t colon = item.find(':');
      entry.fault.point = std::string(absl::StripAsciiWhitespace(item.substr(0, colon)));
      if (colon == absl::string_view::npos) continue;
      for (absl::string_view pair :
           absl::StrSplit(item.substr(colon + 1), ',', absl::SkipEmpty())) {
        const size_t eq = pair.find('=');
        const std::string key(absl::StripAsciiWhitespace(pair.substr(0, eq)));
        const std::string value(
            eq == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(pair.substr(eq + 1)));
        if (key == "times" && !absl::SimpleAtoi(value, &entry.times)) entry.times = 0;
        (IsParameter(key) ? entry.fault.params : entry.match)[key] = value;
      }
    }
    enabled = !entries.empty();
  }
};

Registry& Faults() {
  static Registry* registry = [] {
    auto* r = new Registry;  // leaked: points may fire during static destruction
    if (const char* spec = std::getenv("HEARTH_FAULTS")) r->Parse(spec);
    return r;
  }();
  return *registry;
}

bool Matches(const Entry& entry, std::string_view point, Attributes attributes,
             const std::map<std::string, std::string, std::less<>>& process) {
  if (entry.fault.point != point) return false;
  for (const auto& [key, want] : entry.match) {
    const std::string_view* have = nullptr;
    for (const auto& attribute : attributes)
      if (attribute.first == key) have = &attribute.second;
    std::string_view value;
    if (have != nullptr) {
      value = *have;
    } else if (auto it = process.find(key); it != process.end()) {
      value = it->second;
    } else {
      return false;
    }
    if (key == "path" ? value.find(want) == std::string_view::npos : value != want) return false;
  }
  return true;
}

}  // namespace

int64_t Fault::Int(std::string_view key, int64_t fallback) const {
  auto it = params.find(key);
  int64_t value = 0;
  return it != params.end() && absl::SimpleAtoi(it->second, &value) ? value : fallback;
}

std::string Fault::Text(std::string_view key, std::string_view fallback) const {
  auto it = params.find(key);
  return it != params.end() ? it->second : std::string(fallback);
}

bool Enabled() {
  return Faults().enabled.load(std::memory_order_relaxed);
}

bool Match(std::string_view point, Attributes attributes, Fault* fired) {
  if (!Enabled()) return false;
  Registry& r = Faults();
  std::lock_guard lock(r.mu);
  for (Entry& entry : r.entries) {
    if (!Matches(entry, point, attributes, r.attributes)) continue;
    if (entry.times >= 0 && entry.fired.fetch_add(1) >= entry.times) continue;
    if (fired != nullptr) *fired = entry.fault;
    return true;
  }
  return false;
}

void SetAttribute(std::string key, std::string value) {
  Registry& r = Faults();
  std::lock_guard lock(r.mu);
  r.attributes[std::move(key)] = std::move(value);
}

void KillSelf() {
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

void Pause(const Fault& fault) {
  const std::string mode = fault.Text("mode", "");
  if (mode != "pause" && mode != "mark") {
    std::this_thread::sleep_for(std::chrono::milliseconds(fault.Int("ms", 0)));
    return;
  }
  const char* dir = std::getenv("HEARTH_FAULT_DIR");
  const std::string base = std::string(dir != nullptr ? dir : ".") + "/" + fault.point;
  std::ofstream(base + ".paused") << ::getpid() << "\n";
  if (mode == "mark") return;  // only announce that the point was reached
  while (::access((base + ".release").c_str(), F_OK) != 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void MaybePause(std::string_view point, Attributes attributes) {
  Fault fault;
  if (Match(point, attributes, &fault)) Pause(fault);
}

void MaybeKill(std::string_view point, Attributes attributes) {
  Fault fault;
  if (!Match(point, attributes, &fault)) return;
  // mode=pause first waits for the test's go-ahead: "kill this rank once the test is ready".
  if (fault.Text("mode", "") == "pause") Pause(fault);
  KillSelf();
}

int FailureErrno(std::string_view point, Attributes attributes, int default_errno) {
  Fault fault;
  if (!Match(point, attributes, &fault)) return 0;
  return static_cast<int>(fault.Int("errno", default_errno));
}

void SetSpecForTesting(const std::string& spec) {
  Registry& r = Faults();
  std::lock_guard lock(r.mu);
  r.Parse(spec);
}

}  // namespace hearth::faults
