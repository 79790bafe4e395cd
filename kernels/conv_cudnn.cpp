// Convolution through cuDNN's convolution API. Each shape gets a plan once (descriptors, and per
// direction the algorithm cuDNN's heuristics rank first among the deterministic FP32 ones that fit the
// workspace limit), kept for the life of the process; workspaces come from the stream-ordered pool.
// Deterministic algorithms make a GPU run repeat bit for bit, which resuming from a checkpoint relies on.
#include <array>
#include <map>
#include <memory>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/libraries.h"
#include "engine/cuda/runtime.h"
#include "kernels/conv.h"

namespace mx::kernels {

namespace {

using cuda::kOne;
using cuda::kZero;

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

// The first result of a heuristic query that runs in FP32, fits kMaxWorkspace and is deterministic;
// failing that, the first that is not deterministic. query(count, &returned, results) fills results.
template <typename Perf, typename Query>
Perf pick(int count, Query query, const char* direction) {
  std::vector<Perf> perf(static_cast<size_t>(count));
  int returned = 0;
  CHECK_CUDNN(query(count, &returned, perf.data()));
  for (bool deterministic : {true, false})
    for (int i = 0; i < returned; ++i) {
      const Perf& p = perf[static_cast<size_t>(i)];
      if (p.status == CUDNN_STATUS_SUCCESS && !is_tensor_op(p.mathType) && p.memory <= kMaxWorkspace &&
          (!deterministic || p.determinism == CUDNN_DETERMINISTIC))
        return p;
    }
  MX_FAIL("conv2d: cuDNN offers no FP32 ", direction, " algorithm within ", kMaxWorkspace >> 20,
          " MiB of workspace for this shape");
}

// An algorithm and the workspace it needs.
template <typename Algo>
struct Choice {
  Algo algo;
  size_t bytes = 0;
};

// Descriptors and algorithms of one convolution shape.
struct ConvPlan {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Choice<cudnnConvolutionFwdAlgo_t> fwd;
  Choice<cudnnConvolutionBwdDataAlgo_t> bwd_data;
  Choice<cudnnConvolutionBwdFilterAlgo_t> bwd_filter;

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
    fwd.algo = pick<cudnnConvolutionFwdAlgoPerf_t>(
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
        [&](int n, int* r, cudnnConvolutionFwdAlgoPerf_t* p) {
          return cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, n, r, p);
        },
        "forward").algo;
    bwd_data.algo = pick<cudnnConvolutionBwdDataAlgoPerf_t>(
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
        [&](int n, int* r, cudnnConvolutionBwdDataAlgoPerf_t* p) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, y, conv, x, n, r, p);
        },
        "backward-data").algo;
    bwd_filter.algo = pick<cudnnConvolutionBwdFilterAlgoPerf_t>(
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
        [&](int n, int* r, cudnnConvolutionBwdFilterAlgoPerf_t* p) {
          return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, y, conv, w, n, r, p);
        },
        "backward-filter").algo;
    CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(h, x, w, conv, y, fwd.algo, &fwd.bytes));
    CHECK_CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(h, w, y, conv, x, bwd_data.algo, &bwd_data.bytes));
    CHECK_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x, y, conv, w, bwd_filter.algo, &bwd_filter.bytes));
  }
};

// Plans by shape (F32 is the only dtype, so the shape is the key); never freed.
const ConvPlan& plan_for(const ConvShape& s) {
  using Key = std::array<int64_t, 12>;
  static auto* plans = new std::map<Key, std::unique_ptr<ConvPlan>>;
  const Key key{s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.oh, s.ow, s.stride, s.padding, s.groups};
  std::unique_ptr<ConvPlan>& plan = (*plans)[key];
  if (!plan) plan = std::make_unique<ConvPlan>(s);
  return *plan;
}

// Scratch memory from the stream-ordered pool (none for 0 bytes), returned to it in stream order at
// the end of the scope.
class Workspace {
 public:
  explicit Workspace(size_t bytes) : ptr_(bytes ? cuda::alloc(bytes) : nullptr) {}
  ~Workspace() {
    if (ptr_) cuda::free(ptr_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_;
};

}  // namespace

template <>
void conv2d_forward<Device::CUDA>(float* y, const float* x, const float* weight, const float* bias,
                                  const ConvShape& s) {
  cuda::ProfileScope scope("conv");
  const ConvPlan& p = plan_for(s);
  cudnnHandle_t h = cuda::cudnn_handle();
  Workspace ws(p.fwd.bytes);
  CHECK_CUDNN(cudnnConvolutionForward(h, &kOne, p.x, x, p.w, weight, p.conv, p.fwd.algo, ws.get(), p.fwd.bytes,
                                      &kZero, p.y, y));
  if (bias) CHECK_CUDNN(cudnnAddTensor(h, &kOne, p.bias, bias, &kOne, p.y, y));
  MX_CHECK_LAUNCH("conv2d_forward");
}

template <>
void conv2d_backward<Device::CUDA>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                   const float* weight, const ConvShape& s) {
  cuda::ProfileScope scope("conv");
  const ConvPlan& p = plan_for(s);
  cudnnHandle_t h = cuda::cudnn_handle();
  if (dbias) CHECK_CUDNN(cudnnConvolutionBackwardBias(h, &kOne, p.y, dy, &kZero, p.bias, dbias));
  if (dweight) {
    Workspace ws(p.bwd_filter.bytes);
    CHECK_CUDNN(cudnnConvolutionBackwardFilter(h, &kOne, p.x, x, p.y, dy, p.conv, p.bwd_filter.algo, ws.get(),
                                               p.bwd_filter.bytes, &kZero, p.w, dweight));
  }
  if (dx) {
    Workspace ws(p.bwd_data.bytes);
    CHECK_CUDNN(cudnnConvolutionBackwardData(h, &kOne, p.w, weight, p.y, dy, p.conv, p.bwd_data.algo, ws.get(),
                                             p.bwd_data.bytes, &kZero, p.x, dx));
  }
  MX_CHECK_LAUNCH("conv2d_backward");
}

}  // namespace mx::kernels
