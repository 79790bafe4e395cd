// Whole-file I/O that never leaves a half-written file: every write goes to "<path>.tmp.<pid>", is
// flushed to disk (fsync), renamed over the path, and the directory is synced so that the rename
// itself survives a crash; a write that fails or is abandoned deletes the temporary. Errors name the
// path. Also: an exclusive lock on a file for the life of a process, and the fault injection that
// tests crash safety and full disks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mx::files {

// A file written piece by piece through its temporary; commit() puts it in place.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // throws mx::Error naming path
  ~AtomicFile();                                 // deletes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, size_t n);
  void commit();  // flush, fsync, close, rename, fsync of the directory

 private:
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

void write_atomic(const std::string& path, const std::string& bytes);  // throws mx::Error naming path
std::string read_all(const std::string& path);  // throws naming path when missing, not a file or unreadable
bool exists(const std::string& path);
// Creates the directory (and parents) and checks a file can be written there; throws naming `flag`.
void ensure_writable_dir(const std::string& dir, const std::string& flag);
// Deletes the temporaries of AtomicFiles in `dir` that a killed process left behind. Only for a
// directory no other process is writing (its ProcessLock held).
void remove_temporaries(const std::string& dir);

// An exclusive lock (flock) on `path`, created when missing, held until destruction; the holder's pid
// is written into it. A process that dies, even by SIGKILL, frees its lock. Throws `what` followed by
// the holder's pid when another process holds it.
class ProcessLock {
 public:
  ProcessLock(const std::string& path, const std::string& what);
  ~ProcessLock();
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;

 private:
  int fd_ = -1;
};

// Fault injection for the tests of crash safety and full disks. Every I/O step of an AtomicFile is
// counted (creating the temporary, each write, flush with fsync, close, rename, fsync of the
// directory); under a plan, step `at` (1-based) kills the process with SIGKILL or fails as a full
// disk would (ENOSPC). The environment variable MIXUP_IO_FAULT="kill:N" or "enospc:N" sets the plan of
// a whole process (the command-line tests use it).
struct FaultPlan {
  enum class Kind { None, Kill, NoSpace } kind = Kind::None;
  int64_t at = 0;
};
void set_fault_plan(const FaultPlan& plan);  // and restarts the count
int64_t io_steps();                          // steps counted since the plan was set

}  // namespace mx::files
