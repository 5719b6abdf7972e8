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
