// Atomic whole-file writes (temporary, fsync, rename) and checked reads.
#include "engine/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace mx::files {

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".tmp." + std::to_string(getpid())) {
  file_ = std::fopen(tmp_.c_str(), "wb");
  MX_CHECK(file_, path_, ": cannot create ", tmp_, " (", std::strerror(errno), ")");
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  MX_CHECK(n == 0 || std::fwrite(data, 1, n, file_) == n, path_, ": cannot write ", tmp_, " (", std::strerror(errno),
           ")");
}

void AtomicFile::commit() {
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  MX_CHECK(ok, path_, ": cannot write ", tmp_, " (", std::strerror(errno), ")");
  MX_CHECK(std::rename(tmp_.c_str(), path_.c_str()) == 0, path_, ": cannot rename ", tmp_, " into place (",
           std::strerror(errno), ")");
  committed_ = true;
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

}  // namespace mx::files
