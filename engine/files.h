// Whole-file I/O that never leaves a half-written file: every write goes to "<path>.tmp.<pid>", is
// flushed to disk (fsync) and renamed over the path; a write that fails or is abandoned deletes the
// temporary. Errors name the path.
#pragma once
#include <cstddef>
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
  void commit();  // flush, fsync, close, rename

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

}  // namespace mx::files
