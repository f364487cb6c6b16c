#include "serve/reloader.h"

#include <chrono>
#include <utility>

namespace hearth::serve {

Reloader::Reloader(ModelRegistry& registry, int poll_seconds)
    : registry_(registry), poll_seconds_(poll_seconds), thread_([this] { Loop(); }) {}

void Reloader::Request(Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requested_ = true;
    if (done) waiting_.push_back(std::move(done));
  }
  wake_.notify_one();
}

void Reloader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Reloader::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const auto asked = [this] { return stopping_ || requested_; };
    if (poll_seconds_ > 0)
      wake_.wait_for(lock, std::chrono::seconds(poll_seconds_), asked);
    else
      wake_.wait(lock, asked);
    if (stopping_) break;
    requested_ = false;
    std::vector<Done> answer = std::move(waiting_);
    waiting_.clear();
    lock.unlock();
    const Status s = registry_.Reload();  // its problems are logged by the registry
    for (Done& done : answer) done(s);
    lock.lock();
  }
  std::vector<Done> answer = std::move(waiting_);
  waiting_.clear();
  lock.unlock();
  for (Done& done : answer) done(absl::UnavailableError("the server is stopping"));
}

}  // namespace hearth::serve
