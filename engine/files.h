// Whole-file I/O that never leaves a half-written file: write to "<path>.tmp.<pid>", then rename.
#pragma once
#include <string>

namespace mx::files {

void write_atomic(const std::string& path, const std::string& bytes);  // throws mx::Error naming path
std::string read_all(const std::string& path);                         // throws mx::Error naming path
bool exists(const std::string& path);
// Creates the directory (and parents) and checks a file can be written there; throws naming `flag`.
void ensure_writable_dir(const std::string& dir, const std::string& flag);

}  // namespace mx::files
