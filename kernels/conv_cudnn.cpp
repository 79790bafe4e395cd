// Convolution through cuDNN's convolution API. Each shape gets a plan once (descriptors, and per
// direction the deterministic FP32 algorithms cuDNN's heuristics offer, in their ranking), kept for the
// life of the process. The first call of a direction walks that ranking and keeps the first algorithm
// whose workspace query and execution succeed; later calls use it. Workspaces come from the
// stream-ordered pool. Deterministic algorithms make a GPU run repeat bit for bit, which resuming from
// a checkpoint relies on.
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/libraries.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/workspace.h"
#include "kernels/conv.h"

namespace mx::kernels {

namespace {

using cuda::kOne;
using cuda::kZero;
using cuda::Workspace;

constexpr size_t kMaxWorkspace = size_t{512} << 20;

int to_int(int64_t v) { return cuda::library_int(v, "conv2d"); }

cudnnTensorDescriptor_t tensor_desc(int64_t n, int64_t c, int64_t h, int64_t w) {
  cudnnTensorDescriptor_t d = nullptr;
  CHECK_CUDNN(cudnnCreateTensorDescriptor(&d));
  CHECK_CUDNN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(n), to_int(c), to_int(h),
                                         to_int(w)));
  return d;
}

bool is_tensor_op(cudnnMathType_t m) {
  return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// "x [n,c,h,w], weight [o,c/g,kh,kw], stride s, padding p, groups g", for errors.
std::string describe(const ConvShape& s) {
  return detail::concat("x [", s.n, ",", s.c, ",", s.h, ",", s.w, "], weight [", s.o, ",", s.c / s.groups, ",", s.kh,
                        ",", s.kw, "], stride ", s.stride, ", padding ", s.padding, ", groups ", s.groups);
}

// One direction of a plan: the candidates, and once one has run, that algorithm and its workspace.
template <typename Algo>
struct Direction {
  const char* name;
  std::vector<Algo> candidates;  // deterministic FP32 algorithms in cuDNN's ranking
  bool chosen = false;
  Algo algo{};
  size_t bytes = 0;
};

// The deterministic FP32 entries with status success of a heuristic query, in its order.
// query(count, &returned, results) fills results.
template <typename Perf, typename Query>
auto ranked(int count, Query query) {
  std::vector<Perf> perf(static_cast<size_t>(count));
  int returned = 0;
  CHECK_CUDNN(query(count, &returned, perf.data()));
  std::vector<decltype(Perf::algo)> algos;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[static_cast<size_t>(i)];
    if (p.status == CUDNN_STATUS_SUCCESS && p.determinism == CUDNN_DETERMINISTIC && !is_tensor_op(p.mathType))
      algos.push_back(p.algo);
  }
  return algos;
}

// Why `algo` cannot serve ("" when it ran): its workspace query failed or asks for more than
// kMaxWorkspace, or its execution failed. On success `bytes` holds its workspace size.
// workspace(algo, &bytes) and execute(algo, workspace, bytes) return cuDNN statuses.
template <typename Algo, typename WorkspaceQuery, typename Execute>
std::string try_algorithm(Algo algo, size_t& bytes, WorkspaceQuery workspace, Execute execute) {
  const std::string name = "algorithm " + std::to_string(static_cast<int>(algo));
  cudnnStatus_t status = workspace(algo, &bytes);
  if (status != CUDNN_STATUS_SUCCESS) return name + ": workspace query " + cudnnGetErrorString(status);
  if (bytes > kMaxWorkspace) return name + ": needs " + std::to_string(bytes >> 20) + " MiB of workspace";
  Workspace ws(bytes);
  status = execute(algo, ws.get(), bytes);
  if (status == CUDNN_STATUS_SUCCESS) return "";
  cudaGetLastError();  // a failed candidate's launch error must not be blamed on the next op's launch check
  return name + ": execution " + cudnnGetErrorString(status);
}

// Runs direction `d` of shape `s`: with its chosen algorithm, or on the first call with the first
// candidate that works, which becomes the chosen one.
template <typename Algo, typename WorkspaceQuery, typename Execute>
void run(Direction<Algo>& d, const ConvShape& s, WorkspaceQuery workspace, Execute execute) {
  if (d.chosen) {
    Workspace ws(d.bytes);
    const cudnnStatus_t status = execute(d.algo, ws.get(), d.bytes);
    MX_CHECK(status == CUDNN_STATUS_SUCCESS, "conv2d ", d.name, " of ", describe(s), ": cuDNN algorithm ",
             static_cast<int>(d.algo), " failed: ", cudnnGetErrorString(status));
    return;
  }
  std::string failures;
  for (Algo algo : d.candidates) {
    size_t bytes = 0;
    const std::string why = try_algorithm(algo, bytes, workspace, execute);
    if (why.empty()) {
      d.chosen = true;
      d.algo = algo;
      d.bytes = bytes;
      return;
    }
    failures += (failures.empty() ? "" : "; ") + why;
  }
  MX_FAIL("conv2d ", d.name, ": no deterministic FP32 cuDNN algorithm works for ", describe(s), " (",
          failures.empty() ? "the heuristics offer none" : failures, ")");
}

// Descriptors and per-direction algorithms of one convolution shape.
struct ConvPlan {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Direction<cudnnConvolutionFwdAlgo_t> fwd{"forward", {}};
  Direction<cudnnConvolutionBwdDataAlgo_t> bwd_data{"backward-data", {}};
  Direction<cudnnConvolutionBwdFilterAlgo_t> bwd_filter{"backward-filter", {}};

  explicit ConvPlan(const ConvShape& s)
      : x(tensor_desc(s.n, s.c, s.h, s.w)), y(tensor_desc(s.n, s.o, s.oh, s.ow)), bias(tensor_desc(1, s.o, 1, 1)) {
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&w));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(s.o),
                                           to_int(s.c / s.groups), to_int(s.kh), to_int(s.kw)));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    const int pad = static_cast<int>(s.padding), stride = static_cast<int>(s.stride);
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(conv, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(conv, to_int(s.groups)));
    CHECK_CUDNN(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
    cudnnHandle_t h = cuda::cudnn_handle();
    fwd.candidates = ranked<cudnnConvolutionFwdAlgoPerf_t>(
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int n, int* r, cudnnConvolutionFwdAlgoPerf_t* p) {
          return cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, n, r, p);
        });
    bwd_data.candidates = ranked<cudnnConvolutionBwdDataAlgoPerf_t>(
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int n, int* r, cudnnConvolutionBwdDataAlgoPerf_t* p) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, y, conv, x, n, r, p);
        });
    bwd_filter.candidates = ranked<cudnnConvolutionBwdFilterAlgoPerf_t>(
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, [&](int n, int* r, cudnnConvolutionBwdFilterAlgoPerf_t* p) {
          return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, y, conv, w, n, r, p);
        });
  }
};

// Plans by shape (F32 is the only dtype, so the shape is the key); never freed.
ConvPlan& plan_for(const ConvShape& s) {
  using Key = std::array<int64_t, 12>;
  static auto* plans = new std::map<Key, std::unique_ptr<ConvPlan>>;
  const Key key{s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.oh, s.ow, s.stride, s.padding, s.groups};
  std::unique_ptr<ConvPlan>& plan = (*plans)[key];
  if (!plan) plan = std::make_unique<ConvPlan>(s);
  return *plan;
}

}  // namespace

template <>
void conv2d_forward<Device::CUDA>(float* y, const float* x, const float* weight, const float* bias,
                                  const ConvShape& s) {
  cuda::ProfileScope scope("conv");
  ConvPlan& p = plan_for(s);
  cudnnHandle_t h = cuda::cudnn_handle();
  run(
      p.fwd, s,
      [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, a, bytes);
      },
      [&](cudnnConvolutionFwdAlgo_t a, void* ws, size_t bytes) {
        return cudnnConvolutionForward(h, &kOne, p.x, x, p.w, weight, p.conv, a, ws, bytes, &kZero, p.y, y);
      });
  if (bias) CHECK_CUDNN(cudnnAddTensor(h, &kOne, p.bias, bias, &kOne, p.y, y));
  MX_CHECK_LAUNCH("conv2d_forward");
}

template <>
void conv2d_backward<Device::CUDA>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                   const float* weight, const ConvShape& s) {
  cuda::ProfileScope scope("conv");
  ConvPlan& p = plan_for(s);
  cudnnHandle_t h = cuda::cudnn_handle();
  if (dbias) CHECK_CUDNN(cudnnConvolutionBackwardBias(h, &kOne, p.y, dy, &kZero, p.bias, dbias));
  if (dweight)
    run(
        p.bwd_filter, s,
        [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, a, bytes);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t a, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardFilter(h, &kOne, p.x, x, p.y, dy, p.conv, a, ws, bytes, &kZero, p.w,
                                                dweight);
        });
  if (dx)
    run(
        p.bwd_data, s,
        [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, a, bytes);
        },
        [&](cudnnConvolutionBwdDataAlgo_t a, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardData(h, &kOne, p.w, weight, p.y, dy, p.conv, a, ws, bytes, &kZero, p.x, dx);
        });
  MX_CHECK_LAUNCH("conv2d_backward");
}

}  // namespace mx::kernels
