// SHA-256 of checkpoint files (OpenSSL's EVP: no home-made crypto), streamed or whole.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth::coordinator {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // Lowercase hex of the digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// The hex SHA-256 of a whole file.
StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace hearth::coordinator
