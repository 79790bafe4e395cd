# The CUDA backend: nvcc, the CUDA runtime (never the driver library), cuBLAS, cuDNN and NCCL.
# MIXUP_CUDA=AUTO builds it when all are found; ON insists; OFF skips. Sets MIXUP_WITH_CUDA and
# MIXUP_CUDA_LIBS. CUDNN_ROOT and NCCL_ROOT hint where cuDNN and NCCL live (e.g. inside PyTorch's
# site-packages/nvidia/{cudnn,nccl} on the GPU machine).
set(MIXUP_WITH_CUDA OFF)
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
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)

# NAMES_PER_DIR: each folder is searched for every name before the next folder, so a pip layout
# (lib/libcudnn.so.9 with no libcudnn.so link) named by CUDNN_ROOT wins over the toolkit's libcudnn.so,
# and the library matches the headers found beside it.
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT
             ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR HINTS ${NCCL_ROOT} ENV NCCL_ROOT
             ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  mixup_cuda_missing("cuDNN was not found (set CUDNN_ROOT)")
  return()
endif()
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  mixup_cuda_missing("NCCL was not found (set NCCL_ROOT)")
  return()
endif()

add_library(mixup::cudnn INTERFACE IMPORTED GLOBAL)
set_target_properties(mixup::cudnn PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}"
                      INTERFACE_LINK_LIBRARIES "${CUDNN_LIBRARY}")
add_library(mixup::nccl INTERFACE IMPORTED GLOBAL)
set_target_properties(mixup::nccl PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}"
                      INTERFACE_LINK_LIBRARIES "${NCCL_LIBRARY}")

set(MIXUP_WITH_CUDA ON)
set(MIXUP_CUDA_LIBS CUDA::cudart CUDA::cublas mixup::cudnn mixup::nccl)
add_compile_definitions(MIXUP_HAVE_CUDA=1)
message(STATUS "mixup: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, "
               "cuDNN ${CUDNN_LIBRARY} with ${CUDNN_INCLUDE_DIR}, NCCL ${NCCL_LIBRARY})")
