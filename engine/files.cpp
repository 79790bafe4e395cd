// Atomic whole-file writes (temporary, fsync, rename, directory fsync), checked reads, process locks
// and the I/O fault injection of the tests.
#include "engine/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "engine/error.h"

namespace mx::files {

namespace {

// The plan of MIXUP_IO_FAULT ("kill:N" or "enospc:N"); an unreadable value is an error at the first write.
FaultPlan plan_from_environment() {
  const char* text = std::getenv("MIXUP_IO_FAULT");
  if (!text || !*text) return {};
  const std::string s = text;
  const size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon);
  char* end = nullptr;
  const long long at = colon == std::string::npos ? 0 : std::strtoll(s.c_str() + colon + 1, &end, 10);
  MX_CHECK((kind == "kill" || kind == "enospc") && end && *end == '\0' && at > 0,
           "MIXUP_IO_FAULT: expected kill:N or enospc:N with N >= 1, got '", s, "'");
  return {kind == "kill" ? FaultPlan::Kind::Kill : FaultPlan::Kind::NoSpace, at};
}

struct FaultState {
  std::mutex mu;
  bool read_environment = false;
  FaultPlan plan;
  int64_t steps = 0;
};

FaultState& faults() {
  static FaultState state;
  return state;
}

// One I/O step of an atomic write: false (errno ENOSPC) where the plan fails it; the plan's kill never returns.
bool io_step() {
  FaultState& f = faults();
  std::lock_guard<std::mutex> lock(f.mu);
  if (!f.read_environment) {
    f.read_environment = true;
    f.plan = plan_from_environment();
  }
  if (++f.steps != f.plan.at) return true;
  if (f.plan.kind == FaultPlan::Kind::Kill) std::raise(SIGKILL);
  if (f.plan.kind == FaultPlan::Kind::None) return true;
  errno = ENOSPC;
  return false;
}

// fsync of the directory that holds `path`, so that a rename in it is on disk.
bool sync_parent_dir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

constexpr const char* kTemporaryInfix = ".tmp.";  // "<path>.tmp.<pid>"

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + kTemporaryInfix + std::to_string(getpid())) {
  file_ = io_step() ? std::fopen(tmp_.c_str(), "wb") : nullptr;
  MX_CHECK(file_, path_, ": cannot create ", tmp_, " (", std::strerror(errno), ")");
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  MX_CHECK(n == 0 || (io_step() && std::fwrite(data, 1, n, file_) == n), path_, ": cannot write ", tmp_, " (",
           std::strerror(errno), ")");
}

void AtomicFile::commit() {
  bool ok = io_step() && std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  ok = io_step() && std::fclose(file_) == 0 && ok;  // closed even when the flush failed
  file_ = nullptr;
  MX_CHECK(ok, path_, ": cannot write ", tmp_, " (", std::strerror(errno), ")");
  MX_CHECK(io_step() && std::rename(tmp_.c_str(), path_.c_str()) == 0, path_, ": cannot rename ", tmp_,
           " into place (", std::strerror(errno), ")");
  committed_ = true;
  MX_CHECK(io_step() && sync_parent_dir(path_), path_, ": cannot sync its directory (", std::strerror(errno), ")");
}

void write_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

std::string read_all(const std::string& path) {
  std::error_code ec;
  MX_CHECK(std::filesystem::is_regular_file(path, ec), path, ": not found or not a regular file");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(std::filesystem::file_size(path, ec)), '\0');
  MX_CHECK(!ec && in && in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())), path,
           ": cannot read the file");
  return bytes;
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

void ensure_writable_dir(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  MX_CHECK(!ec, flag, " ", dir, ": cannot create the directory (", ec.message(), ")");
  MX_CHECK(std::filesystem::is_directory(dir), flag, " ", dir, ": not a directory");
  MX_CHECK(access(dir.c_str(), W_OK) == 0, flag, " ", dir, ": directory is not writable");
}

void remove_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename().string().find(kTemporaryInfix) != std::string::npos) std::filesystem::remove(e.path(), ec);
}

ProcessLock::ProcessLock(const std::string& path, const std::string& what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MX_CHECK(fd_ >= 0, path, ": cannot create the lock file (", std::strerror(errno), ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {0};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    MX_FAIL(what, " (pid ", n > 0 ? std::string(holder, static_cast<size_t>(n)) : std::string("?"), ", ", path, ")");
  }
  // The pid only serves the message of a refused process; the lock holds without it.
  const std::string pid = std::to_string(getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

ProcessLock::~ProcessLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

void set_fault_plan(const FaultPlan& plan) {
  FaultState& f = faults();
  std::lock_guard<std::mutex> lock(f.mu);
  f.read_environment = true;
  f.plan = plan;
  f.steps = 0;
}

int64_t io_steps() {
  FaultState& f = faults();
  std::lock_guard<std::mutex> lock(f.mu);
  return f.steps;
}

}  // namespace mx::files
