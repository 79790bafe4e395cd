// Test fixtures: a temporary directory removed at the end of the test, whole-file reads, small IDX .gz
// files in the Fashion-MNIST layout with a short training run's settings for them, and running a
// command or the `mixup` binary with its output captured (and expecting a one-line error from it).
#pragma once
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "train/config.h"

namespace mx::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mixup-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::string file(const std::string& name) const { return *this / name; }

 private:
  std::string path_;
};

// True when `dir` holds a leftover "<name>.tmp.<pid>" of an interrupted atomic write.
inline bool has_temporary_files(const std::string& dir) {
  if (!std::filesystem::exists(dir)) return false;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

// CSV text with the last `n` fields of every line cut off (timing columns, which differ run to run).
inline std::string without_last_fields(const std::string& csv, int n) {
  std::istringstream in(csv);
  std::string out, line;
  while (std::getline(in, line)) {
    size_t cut = line.size();
    for (int k = 0; k < n && cut != std::string::npos && cut > 0; ++k) cut = line.rfind(',', cut - 1);
    out += line.substr(0, cut) + "\n";
  }
  return out;
}

using Bytes = std::vector<uint8_t>;

inline void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>((v >> shift) & 0xff));
}

inline void write_gz(const std::string& path, const Bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// An IDX file: magic, dimensions (big-endian), then the bytes; gzip-compressed.
inline void write_idx_gz(const std::string& path, uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& bytes) {
  Bytes b;
  put_be32(b, magic);
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), bytes.begin(), bytes.end());
  write_gz(path, b);
}

// A Fashion-MNIST-shaped dataset in `dir`: n_train/n_test images of 28x28 whose label is drawn from a
// simple rule (class k has a bright horizontal band at rows 2k..2k+3), so a network can learn it.
inline void write_tiny_fashion_mnist(const std::string& dir, uint32_t n_train, uint32_t n_test, uint32_t seed = 1) {
  auto make = [&](const std::string& prefix, uint32_t n, uint32_t salt) {
    std::vector<uint8_t> img(static_cast<size_t>(n) * 784), lab(n);
    uint32_t state = seed * 2654435761u + salt;
    for (uint32_t i = 0; i < n; ++i) {
      state = state * 1664525u + 1013904223u;
      lab[i] = static_cast<uint8_t>((state >> 24) % 10);
      for (uint32_t p = 0; p < 784; ++p) {
        state = state * 1664525u + 1013904223u;
        const uint32_t row = p / 28;
        const bool band = row >= 2u * lab[i] && row < 2u * lab[i] + 4;
        img[i * 784 + p] = static_cast<uint8_t>(band ? 200 + (state >> 29) : (state >> 27));
      }
    }
    write_idx_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", 2051, {n, 28, 28}, img);
    write_idx_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 2049, {n}, lab);
  };
  make("train", n_train, 1);
  make("t10k", n_test, 2);
}

// The quick recipe on the dataset write_tiny_fashion_mnist wrote in `data_dir`: 2 epochs of batches of
// `batch` on one CPU thread, written to `out`.
inline train::TrainConfig tiny_run(const std::string& data_dir, const std::string& out, int batch) {
  train::TrainConfig c = train::recipe("quick");
  c.data_dir = data_dir;
  c.out = out;
  c.epochs = 2;
  c.batch_size = batch;
  c.threads = 1;
  c.device = "cpu";
  return c;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

// Runs the shell command `command` with stdout and stderr captured into files of `tmp`.
inline RunResult run_command(const std::string& command, const TempDir& tmp) {
  const std::string out = tmp / "stdout.txt", err = tmp / "stderr.txt";
  int rc = std::system((command + " >" + out + " 2>" + err).c_str());
  RunResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// Runs `mixup <args>` with stdout and stderr captured into files of `tmp`.
inline RunResult run_mixup(const std::string& args, const TempDir& tmp) {
  return run_command(std::string(MIXUP_BINARY) + " " + args, tmp);
}

// Runs `mixup <args>` and expects exit status 1 with a single "mixup: error: ..." line on stderr that
// contains `phrase`.
inline void expect_one_line_error(const std::string& args, const std::string& phrase, const TempDir& tmp) {
  RunResult r = run_mixup(args, tmp);
  EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("mixup: error: ", 0), 0u) << "stderr: " << r.err;
  EXPECT_NE(r.err.find(phrase), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
}

}  // namespace mx::test
