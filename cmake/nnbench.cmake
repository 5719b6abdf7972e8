# Shared compile settings and the helper that declares a backend plugin.

add_library(nnb_warnings INTERFACE)
target_compile_options(nnb_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
                                              -Wno-unused-parameter)
target_compile_definitions(nnb_warnings INTERFACE _GNU_SOURCE)
if(NNB_WERROR)
  target_compile_options(nnb_warnings INTERFACE -Werror)
endif()
if(NNB_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "NNB_FUZZ needs clang (libFuzzer): configure with the fuzz preset")
  endif()
  set(NNB_SANITIZE ON)
  # Coverage for libFuzzer in every object; the fuzz targets link its main.
  target_compile_options(nnb_warnings INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(NNB_SANITIZE)
  target_compile_options(nnb_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                -fno-sanitize-recover=undefined)
  target_link_options(nnb_warnings INTERFACE -fsanitize=address,undefined)
endif()

# nnb_add_backend(NAME SOURCES... [LIBS ...]) builds libnnb-NAME.so into the
# folder the loader searches and installs it where the installed CLI looks.
function(nnb_add_backend name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(nnb-${name} MODULE ${ARG_SOURCES})
  target_include_directories(nnb-${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(nnb-${name} PRIVATE nnb_warnings ${ARG_LIBS})
  set_target_properties(nnb-${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${NNB_BACKEND_BUILD_DIR}
                                               C_VISIBILITY_PRESET hidden PREFIX "lib")
  install(TARGETS nnb-${name} LIBRARY DESTINATION ${NNB_BACKEND_INSTALL_DIR})
endfunction()

# nnb_per_isa_objects(NAME OUT SOURCES... DEFINES...) compiles SOURCES once
# per ISA (avx512, avx2, baseline; off x86-64 all three without ISA flags)
# as object libraries nnb_NAME_<isa>, each with DEFINES, where @ISA@ stands
# for the ISA's name (the backend's own table and suffix macros). OUT
# receives the objects, for the plugin's sources; the static library nnb_NAME
# holds them too, for the tests of each ISA's kernels. The plugin picks a
# table at init() from the CPU it runs on.
#
# The flags: -ffp-contract=fast for FMA where the ISA has it; no errno, so
# that sqrtf vectorises; no trapping math, because without AVX-512's masked
# lanes GCC computes both sides of a select (the exp clamps, tanh's two
# ranges) only when an FP exception may not trap, and otherwise leaves every
# transcendental loop scalar (on AVX2 and baseline the LSTM gate pass ran
# about 4-5x slower); -fopenmp-simd for the kernels' simd pragmas without
# the OpenMP runtime. Hidden visibility: only the plugin's entry points are
# exported.
function(nnb_per_isa_objects name out)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEFINES" ${ARGN})
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    set(flags_avx512 -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma)
    set(flags_avx2 -mavx2 -mfma)
  endif()
  set(objects)
  foreach(isa avx512 avx2 baseline)
    set(target nnb_${name}_${isa})
    string(REPLACE "@ISA@" "${isa}" defines "${ARG_DEFINES}")
    add_library(${target} OBJECT ${ARG_SOURCES})
    target_compile_definitions(${target} PRIVATE ${defines})
    # the plugin API's headers only (<nnbench/cpu_math.h>), as the plugin's
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_compile_options(${target} PRIVATE ${flags_${isa}} -ffp-contract=fast -fno-math-errno
                                             -fno-trapping-math -fopenmp-simd)
    target_link_libraries(${target} PRIVATE nnb_warnings)
    set_target_properties(${target} PROPERTIES C_VISIBILITY_PRESET hidden)
    list(APPEND objects $<TARGET_OBJECTS:${target}>)
  endforeach()
  add_library(nnb_${name} STATIC ${objects})
  target_include_directories(nnb_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  set(${out} ${objects} PARENT_SCOPE)
endfunction()

# nnb_backend_option(VAR FOUND NAME WHAT): resolves AUTO/ON/OFF and reports.
function(nnb_backend_enabled out var found name what)
  set(mode ${${var}})
  if(mode STREQUAL "OFF")
    message(STATUS "nnbench backend ${name}: off (${var}=OFF)")
    set(${out} OFF PARENT_SCOPE)
  elseif(found)
    message(STATUS "nnbench backend ${name}: building (${what} found)")
    set(${out} ON PARENT_SCOPE)
  elseif(mode STREQUAL "ON")
    message(FATAL_ERROR "nnbench backend ${name}: ${what} not found but ${var}=ON")
  else()
    message(STATUS "nnbench backend ${name}: skipped (${what} not found)")
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()
