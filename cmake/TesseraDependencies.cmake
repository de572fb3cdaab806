# Every dependency is a Debian package or the CUDA toolkit; nothing is downloaded.

# CUDA toolkit: only NVRTC (linked) and the headers (cuda.h for driver types, and the include
# directory NVRTC needs at run time). libcuda is dlopen-ed at run time, never linked.
if(NOT TESSERA_CUDA_HOME)
  if(DEFINED ENV{CUDA_HOME})
    set(TESSERA_CUDA_HOME "$ENV{CUDA_HOME}")
  else()
    set(TESSERA_CUDA_HOME "/usr/local/cuda")
  endif()
endif()
set(TESSERA_CUDA_HOME "${TESSERA_CUDA_HOME}" CACHE PATH "CUDA toolkit root (NVRTC, headers)")
find_path(TESSERA_CUDA_INCLUDE_DIR cuda.h HINTS "${TESSERA_CUDA_HOME}/include" NO_DEFAULT_PATH)
find_library(TESSERA_NVRTC_LIBRARY nvrtc HINTS "${TESSERA_CUDA_HOME}/lib64" "${TESSERA_CUDA_HOME}/lib" NO_DEFAULT_PATH)
if(NOT TESSERA_CUDA_INCLUDE_DIR OR NOT TESSERA_NVRTC_LIBRARY)
  message(FATAL_ERROR "CUDA toolkit not found under '${TESSERA_CUDA_HOME}' (need include/cuda.h and lib64/libnvrtc.so). "
                      "Set CUDA_HOME or -DTESSERA_CUDA_HOME=...")
endif()
add_library(tessera_cuda_headers INTERFACE)
target_include_directories(tessera_cuda_headers SYSTEM INTERFACE "${TESSERA_CUDA_INCLUDE_DIR}")

# fmt header-only, so binaries carried to the GPU machine need no libfmt there.
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  find_path(TESSERA_CLI11_INCLUDE CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE "${TESSERA_CLI11_INCLUDE}")
endif()
find_package(Threads REQUIRED)

# LLVM without a version pin: Debian's LLVMConfigVersion.cmake only accepts an exact
# major.minor, so find_package(LLVM 14...19) can never succeed. Search unversioned, then
# check the major version ourselves. Pass LLVM_DIR to choose a specific one.
if(TESSERA_ENABLE_LLVM)
  if(NOT LLVM_DIR)
    file(GLOB _tessera_llvm_dirs "/usr/lib/llvm-*/lib/cmake/llvm")
    list(SORT _tessera_llvm_dirs COMPARE NATURAL ORDER DESCENDING)
    foreach(_dir IN LISTS _tessera_llvm_dirs)
      string(REGEX MATCH "llvm-([0-9]+)" _m "${_dir}")
      if(CMAKE_MATCH_1 GREATER_EQUAL 14 AND CMAKE_MATCH_1 LESS_EQUAL 19)
        set(LLVM_DIR "${_dir}")
        break()
      endif()
    endforeach()
  endif()
  find_package(LLVM CONFIG QUIET)
  if(NOT LLVM_FOUND)
    message(WARNING "LLVM not found: the CPU backend is disabled (install llvm-14-dev or pass LLVM_DIR)")
    set(TESSERA_ENABLE_LLVM OFF)
  elseif(LLVM_VERSION_MAJOR LESS 14 OR LLVM_VERSION_MAJOR GREATER 19)
    message(WARNING "LLVM ${LLVM_VERSION} is outside the supported 14..19: the CPU backend is disabled")
    set(TESSERA_ENABLE_LLVM OFF)
  else()
    message(STATUS "Tessera CPU backend: LLVM ${LLVM_VERSION} from ${LLVM_DIR}")
  endif()
endif()
