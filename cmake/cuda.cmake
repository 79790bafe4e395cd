# The CUDA backend: nvcc, the CUDA runtime (shared, never the driver library), cuBLAS and cuDNN, plus
# NCCL when it is found. MIXUP_CUDA=AUTO builds the backend when nvcc, cuBLAS and cuDNN are found; ON
# insists; OFF skips. NCCL is optional (MIXUP_NCCL=AUTO|ON|OFF): without it the build keeps its CUDA
# backend and only lacks NCCL. Sets MIXUP_WITH_CUDA, MIXUP_WITH_NCCL and MIXUP_CUDA_LIBS. CUDNN_ROOT
# and NCCL_ROOT (variables or environment) name where cuDNN and NCCL live, e.g. PyTorch's
# site-packages/nvidia/{cudnn,nccl} on the GPU machine; a root that is given is the only place searched.
set(MIXUP_NCCL AUTO CACHE STRING "Use NCCL (multi-GPU all-reduce): AUTO (when found), ON or OFF")
set_property(CACHE MIXUP_NCCL PROPERTY STRINGS AUTO ON OFF)
set(MIXUP_WITH_CUDA OFF)
set(MIXUP_WITH_NCCL OFF)
set(MIXUP_CUDA_LIBS "")
if(MIXUP_CUDA STREQUAL "OFF")
  message(STATUS "mixup: CUDA backend off (MIXUP_CUDA=OFF)")
  return()
endif()

if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
include(CheckLanguage)
check_language(CUDA)

function(mixup_cuda_missing what)
  if(MIXUP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MIXUP_CUDA=ON but ${what}")
  endif()
  message(STATUS "mixup: CUDA backend off: ${what}")
endfunction()

if(NOT CMAKE_CUDA_COMPILER)
  mixup_cuda_missing("nvcc was not found (set CMAKE_CUDA_COMPILER)")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)  # sm_90 code plus compute_90 PTX for newer GPUs
endif()
# The shared runtime, as CUDA::cudart: with CMake's default (static) a target with .cu sources would
# link both libcudart_static.a and libcudart.so.
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)

# mixup_find_library(NAME HEADER LIBRARY...): NAME_INCLUDE_DIR and NAME_LIBRARY from NAME_ROOT (the
# variable or the environment) alone when one is given, else from the CUDA toolkit and the system.
# NAMES_PER_DIR: each folder is searched for every name before the next, so a pip layout
# (lib/libcudnn.so.9 with no libcudnn.so link) is found too.
function(mixup_find_library name header)
  set(root "${${name}_ROOT}")
  if(NOT root)
    set(root "$ENV{${name}_ROOT}")
  endif()
  if(NOT "${root}" STREQUAL "${MIXUP_${name}_ROOT_SEARCHED}")  # a new root: search again
    unset(${name}_INCLUDE_DIR CACHE)
    unset(${name}_LIBRARY CACHE)
    set(MIXUP_${name}_ROOT_SEARCHED "${root}" CACHE INTERNAL "")
  endif()
  if(root)
    set(where PATHS "${root}" NO_DEFAULT_PATH)
  else()
    set(where HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_DIR})
  endif()
  find_path(${name}_INCLUDE_DIR ${header} ${where} PATH_SUFFIXES include)
  find_library(${name}_LIBRARY NAMES ${ARGN} NAMES_PER_DIR ${where} PATH_SUFFIXES lib lib64)
endfunction()

# MIXUP_CUDNN_VERSION: "major.minor.patch" from cudnn_version.h in CUDNN_INCLUDE_DIR.
function(mixup_cudnn_version)
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" defines REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
  set(parts "")
  foreach(part MAJOR MINOR PATCHLEVEL)
    string(REGEX MATCH "CUDNN_${part} +([0-9]+)" _ "${defines}")
    list(APPEND parts "${CMAKE_MATCH_1}")
  endforeach()
  list(JOIN parts "." version)
  set(MIXUP_CUDNN_VERSION "${version}" PARENT_SCOPE)
endfunction()

if(NOT TARGET CUDA::cudart OR NOT TARGET CUDA::cublas)
  mixup_cuda_missing("the CUDA toolkit lacks the runtime or cuBLAS")
  return()
endif()
mixup_find_library(CUDNN cudnn.h cudnn libcudnn.so.9)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  mixup_cuda_missing("cuDNN was not found (set CUDNN_ROOT to a folder with include/cudnn.h and lib/libcudnn.so*)")
  return()
endif()
mixup_cudnn_version()

# A non-imported interface library, so its include folder is an -I, searched before the toolkit's
# folder (a system folder, -isystem, for C++; nvcc's own -I, placed after ours, for CUDA), which may
# hold another cudnn.h.
add_library(mixup_cudnn INTERFACE)
target_include_directories(mixup_cudnn INTERFACE "${CUDNN_INCLUDE_DIR}")
target_link_libraries(mixup_cudnn INTERFACE "${CUDNN_LIBRARY}")

if(NOT MIXUP_NCCL STREQUAL "OFF")
  mixup_find_library(NCCL nccl.h nccl libnccl.so.2)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(MIXUP_WITH_NCCL ON)
    add_library(mixup_nccl INTERFACE)
    target_include_directories(mixup_nccl INTERFACE "${NCCL_INCLUDE_DIR}")
    target_link_libraries(mixup_nccl INTERFACE "${NCCL_LIBRARY}")
    add_compile_definitions(MIXUP_HAVE_NCCL=1)
  elseif(MIXUP_NCCL STREQUAL "ON")
    message(FATAL_ERROR "MIXUP_NCCL=ON but NCCL was not found (set NCCL_ROOT to a folder with include/nccl.h)")
  endif()
endif()

set(MIXUP_WITH_CUDA ON)
set(MIXUP_CUDA_LIBS mixup_cudnn CUDA::cudart CUDA::cublas)
add_compile_definitions(MIXUP_HAVE_CUDA=1)
if(MIXUP_WITH_NCCL)
  list(APPEND MIXUP_CUDA_LIBS mixup_nccl)
  set(nccl_note "NCCL ${NCCL_LIBRARY}")
elseif(MIXUP_NCCL STREQUAL "OFF")
  set(nccl_note "no NCCL (MIXUP_NCCL=OFF)")
else()
  set(nccl_note "no NCCL (not found; set NCCL_ROOT): multi-GPU all-reduce unavailable")
endif()
message(STATUS "mixup: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, "
               "cuDNN ${MIXUP_CUDNN_VERSION} from ${CUDNN_LIBRARY} with ${CUDNN_INCLUDE_DIR}, ${nccl_note})")
