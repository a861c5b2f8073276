# Build helpers shared by every module: hardening flags, and one function each to declare a unit
# test, a benchmark and a fuzz target, so no module repeats the boilerplate.

set(CLOISTER_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes
    -Wno-unused-parameter)

if(CLOISTER_SANITIZE)
  set(CLOISTER_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  add_compile_options(${CLOISTER_SAN_FLAGS} -O1 -g)
  add_link_options(${CLOISTER_SAN_FLAGS})
endif()

# Layers. libcloister is built from one OBJECT library per layer, declared bottom-up with
# cloister_layer() in the order docs/architecture.md draws. A layer compiles against a private
# include root (build/layers/<name>/) that holds symbolic links to its own source folders, to
# those of the layers it USES (transitively) and to their public headers, and nothing else: an
# include of a higher layer's header, internal or public, fails to compile. The graph is thereby
# a DAG by construction: a layer can only name layers declared before it.
#
# cloister_layer(NAME DIRS <folders under src/> SOURCES <files> [USES <layers>]
#                [HEADERS <public headers it owns>] [LIBS <external libraries>] [SEPARATE])
# SEPARATE: a static library cloister_NAME of its own, outside libcloister: trusted code that only
# enclave images carry (the Lua sandbox), or an optional part with a dependency libcloister does
# not have (the IBBE admin daemon and libmicrohttpd).
set(CLOISTER_LAYER_ROOT ${PROJECT_BINARY_DIR}/layers)

# Makes the include root of layer target `name` (its DIRS and HEADERS plus those of the layer
# targets it uses) and records it for the next ones and for tests/layers (build/layers/manifest).
function(cloister_layer_root name dirs uses headers)
  set(all_dirs ${dirs})
  set(all_headers ${headers})
  set(closure ${name})
  foreach(u ${uses})
    get_property(known GLOBAL PROPERTY CLOISTER_LAYER_${u}_CLOSURE SET)
    if(NOT known)
      message(FATAL_ERROR "layer ${name} uses '${u}', which is not a layer declared before it")
    endif()
    get_property(udirs GLOBAL PROPERTY CLOISTER_LAYER_${u}_DIRS)
    get_property(uheaders GLOBAL PROPERTY CLOISTER_LAYER_${u}_HEADERS)
    get_property(uclosure GLOBAL PROPERTY CLOISTER_LAYER_${u}_CLOSURE)
    list(APPEND all_dirs ${udirs})
    list(APPEND all_headers ${uheaders})
    list(APPEND closure ${uclosure})
  endforeach()
  list(REMOVE_DUPLICATES all_dirs)
  list(REMOVE_DUPLICATES all_headers)
  list(REMOVE_DUPLICATES closure)
  set_property(GLOBAL PROPERTY CLOISTER_LAYER_${name}_DIRS ${all_dirs})
  set_property(GLOBAL PROPERTY CLOISTER_LAYER_${name}_HEADERS ${all_headers})
  set_property(GLOBAL PROPERTY CLOISTER_LAYER_${name}_CLOSURE ${closure})
  string(REPLACE ";" " " own_dirs "${dirs}")
  string(REPLACE ";" " " own_headers "${headers}")
  string(REPLACE ";" " " below "${closure}")
  set_property(GLOBAL APPEND_STRING PROPERTY CLOISTER_LAYER_MANIFEST
    "${name}|${own_dirs}|${own_headers}|${below}\n")

  set(root ${CLOISTER_LAYER_ROOT}/${name})
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root}/cloister)
  foreach(d ${all_dirs})
    get_filename_component(parent ${root}/${d} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${d} ${root}/${d} SYMBOLIC)
  endforeach()
  foreach(h ${all_headers})
    if(EXISTS ${PROJECT_SOURCE_DIR}/include/cloister/${h})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/cloister/${h} ${root}/cloister/${h} SYMBOLIC)
    else()
      file(CREATE_LINK ${PROJECT_BINARY_DIR}/include/cloister/${h} ${root}/cloister/${h} SYMBOLIC)
    endif()
  endforeach()
endfunction()

# Links layer target `target` to the layer targets it uses: object layers only for their usage
# requirements (their objects are in libcloister), separate layers as the static libraries they are.
function(cloister_layer_link target separate uses libs)
  foreach(u ${uses})
    get_target_property(kind ${u} TYPE)
    if(kind STREQUAL "STATIC_LIBRARY" OR NOT separate)
      target_link_libraries(${target} PUBLIC ${u})
    endif()
  endforeach()
  if(separate)
    target_link_libraries(${target} PUBLIC cloister_static)
  endif()
  target_link_libraries(${target} PUBLIC ${libs})
  set_target_properties(${target} PROPERTIES C_VISIBILITY_PRESET hidden)
  target_include_directories(${target} PRIVATE ${CLOISTER_LAYER_ROOT}/${target})
  cloister_harden(${target})
endfunction()

function(cloister_layer name)
  cmake_parse_arguments(L "SEPARATE" "" "DIRS;SOURCES;USES;HEADERS;LIBS" ${ARGN})
  list(TRANSFORM L_USES PREPEND cloister_)
  cloister_layer_root(cloister_${name} "${L_DIRS}" "${L_USES}" "${L_HEADERS}")
  if(L_SEPARATE)
    add_library(cloister_${name} STATIC ${L_SOURCES})
  else()
    add_library(cloister_${name} OBJECT ${L_SOURCES})
    set_property(GLOBAL APPEND PROPERTY CLOISTER_LAYERS ${name})
    set_property(GLOBAL APPEND PROPERTY CLOISTER_LAYER_LIBS ${L_LIBS})
  endif()
  cloister_layer_link(cloister_${name} "${L_SEPARATE}" "${L_USES}" "${L_LIBS}")
endfunction()

# Hardened flags for all project code: stack protector, FORTIFY, PIE, full RELRO.
function(cloister_harden target)
  target_compile_options(${target} PRIVATE ${CLOISTER_WARNINGS} -fstack-protector-strong)
  if(NOT CLOISTER_SANITIZE)
    target_compile_options(${target} PRIVATE -O2 -D_FORTIFY_SOURCE=2)
  endif()
  if(CLOISTER_LTO)
    target_compile_options(${target} PRIVATE -ffat-lto-objects) # also links without LTO
  endif()
  get_target_property(kind ${target} TYPE)
  if(kind STREQUAL "EXECUTABLE")
    target_compile_options(${target} PRIVATE -fPIE)
    target_link_options(${target} PRIVATE -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack)
  elseif(kind STREQUAL "SHARED_LIBRARY")
    target_link_options(${target} PRIVATE -Wl,-z,relro,-z,now -Wl,-z,noexecstack)
  endif()
endfunction()

# In the fuzz build every object is instrumented for coverage; only fuzz targets link libFuzzer.
if(CLOISTER_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -g)
  add_link_options(-fsanitize=address,undefined)
endif()

find_library(CMOCKA_LIBRARY cmocka)

# cloister_add_test(NAME source... [LABELS l...] [TIMEOUT s]): one cmocka executable, one ctest.
# Tests run with CLOISTER_HOME in the build tree so they never touch the user's platform keys.
function(cloister_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS;LIBS" ${ARGN})
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE cloister_dev ${CMOCKA_LIBRARY} ${T_LIBS})
  target_compile_definitions(${name} PRIVATE
    CLOISTER_SOURCE_DIR="${PROJECT_SOURCE_DIR}" CLOISTER_BINARY_DIR="${PROJECT_BINARY_DIR}")
  cloister_harden(${name})
  # Tests link the fat objects' plain code: LTO would only slow `make check` down. GCC's linker
  # plugin runs LTO on any object carrying LTO code unless told not to, hence -fno-lto.
  set_target_properties(${name} PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF)
  if(CLOISTER_LTO)
    target_link_options(${name} PRIVATE -fno-lto)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    ENVIRONMENT "CLOISTER_HOME=${PROJECT_BINARY_DIR}/test-home/${name}")
endfunction()

# cloister_add_bench(NAME source...): a benchmark executable run by `make bench` (target
# `benches`). Release builds leave benchmarks out of `all`: their LTO links would cost
# `make check` minutes, and the sanitized build still compiles every one of them.
function(cloister_add_bench name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE cloister_dev m)
  cloister_harden(${name})
  if(CLOISTER_LTO)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
  set_property(GLOBAL APPEND PROPERTY CLOISTER_BENCHES ${name})
endfunction()

# cloister_add_fuzz(NAME source...): a libFuzzer target (clang, -fsanitize=fuzzer).
function(cloister_add_fuzz name)
  add_executable(${name} ${ARGN})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE cloister_dev)
endfunction()

# Enclave images are built into one directory of the build tree, where tee_image_path() finds
# them (installed ones go to libexec/cloister).
set(CLOISTER_ENCLAVE_DIR ${PROJECT_BINARY_DIR}/enclaves)

# cloister_add_enclave(NAME [TEST] [DIRS d... USES l...] SOURCES s...): the enclave image
# NAME.enclave and a static library enclave_NAME of the same trusted sources, which hosts link to
# run the same code with the sim backend. The sources define it with TEE_ENCLAVE_DEFINE(NAME, ...).
# With DIRS, enclave_NAME is a trusted layer above the layers it USES (and tee_enclave); without
# (test enclaves), it sees every header. TEST: not installed.
function(cloister_add_enclave name)
  cmake_parse_arguments(E "TEST" "" "DIRS;USES;SOURCES" ${ARGN})
  add_library(enclave_${name} STATIC ${E_SOURCES} ${E_UNPARSED_ARGUMENTS})
  if(E_DIRS)
    set(uses ${E_USES} tee_enclave)
    list(TRANSFORM uses PREPEND cloister_)
    cloister_layer_root(enclave_${name} "${E_DIRS}" "${uses}" "")
    cloister_layer_link(enclave_${name} TRUE "${uses}" "")
  else()
    target_link_libraries(enclave_${name} PUBLIC cloister_dev)
    cloister_harden(enclave_${name})
  endif()
  set(main ${CMAKE_CURRENT_BINARY_DIR}/enclave_${name}_main.c)
  file(CONFIGURE OUTPUT ${main} @ONLY CONTENT
    "/* Generated by cloister_add_enclave: the entry point of @name@.enclave. */
#include <cloister/tee_enclave.h>
TEE_ENCLAVE_DECLARE(@name@);
int main(int argc, char **argv)
{
    return tee_enclave_main(&tee_enclave_@name@, argc, argv);
}
")
  add_executable(enclave_${name}_image ${main}
    ${PROJECT_SOURCE_DIR}/src/tee/enclave/sanitizer_options.c)
  target_link_libraries(enclave_${name}_image PRIVATE enclave_${name} cloister_dev)
  set_target_properties(enclave_${name}_image PROPERTIES OUTPUT_NAME ${name} SUFFIX ".enclave"
    RUNTIME_OUTPUT_DIRECTORY ${CLOISTER_ENCLAVE_DIR})
  cloister_harden(enclave_${name}_image)
  if(NOT E_TEST)
    install(TARGETS enclave_${name}_image RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cloister)
  endif()
endfunction()
