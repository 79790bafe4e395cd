// Row-major Eigen views of raw float buffers, shared by the CPU GEMM users (conv, linear).
#pragma once
#include <cstdint>

// GCC 12 reports a false "maybe uninitialized" inside its own AVX-512 intrinsics when Eigen's GEMM
// packing inlines them (GCC bug 105593); it is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

namespace mx::kernels {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMatrix>;
using ConstMatMap = Eigen::Map<const RowMatrix>;

inline MatMap mat(float* p, int64_t rows, int64_t cols) { return MatMap(p, rows, cols); }
inline ConstMatMap mat(const float* p, int64_t rows, int64_t cols) { return ConstMatMap(p, rows, cols); }

}  // namespace mx::kernels
