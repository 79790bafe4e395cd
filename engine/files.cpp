// Atomic whole-file writes and checked reads.
#include "engine/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace mx::files {

void write_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    MX_CHECK(f.good(), path, ": cannot write (", std::strerror(errno), ")");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f.good()) {
      std::remove(tmp.c_str());
      MX_FAIL(path, ": write failed (", std::strerror(errno), ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    MX_FAIL(path, ": cannot rename the temporary file into place (", std::strerror(err), ")");
  }
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MX_CHECK(f.good(), path, ": cannot open (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

void ensure_writable_dir(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  MX_CHECK(!ec, flag, " ", dir, ": cannot create the directory (", ec.message(), ")");
  MX_CHECK(std::filesystem::is_directory(dir), flag, " ", dir, ": not a directory");
  MX_CHECK(access(dir.c_str(), W_OK) == 0, flag, " ", dir, ": directory is not writable");
}

}  // namespace mx::files
