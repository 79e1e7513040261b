# Helpers that keep each folder's CMakeLists.txt short.
#
#   cxp_cc_library(NAME name SRCS a.cc b.cc [HDRS a.h] [DEPS targets...])
#   cxp_cc_binary(NAME name SRCS main.cc [DEPS targets...])
#   cxp_cc_test(NAME name SRCS a_test.cc [DEPS targets...] [LABELS l...]
#               [TIMEOUT seconds])
#   cxp_use_jemalloc(target)   # jemalloc is the executable's malloc
#
# Our own targets build with -Wall -Wextra -Werror; third-party headers are
# included as system headers so their warnings do not break the build.

set(CXP_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

function(_cxp_apply_common target)
  target_compile_options(${target} PRIVATE ${CXP_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

function(cxp_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  if(ARG_SRCS)
    add_library(${ARG_NAME} STATIC ${ARG_SRCS} ${ARG_HDRS})
    _cxp_apply_common(${ARG_NAME})
    target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
  else()
    add_library(${ARG_NAME} INTERFACE ${ARG_HDRS})
    target_include_directories(${ARG_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${ARG_NAME} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

function(cxp_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  _cxp_apply_common(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# Link feature: the item stays NEEDED even under Debian's default --as-needed,
# which otherwise drops a library that only replaces symbols libc also has.
# push/pop-state limits that to the item itself.
set(CMAKE_LINK_LIBRARY_USING_CXP_NO_AS_NEEDED
    "LINKER:--push-state,--no-as-needed" "<LIBRARY>" "LINKER:--pop-state")
set(CMAKE_LINK_LIBRARY_USING_CXP_NO_AS_NEEDED_SUPPORTED TRUE)

# Makes jemalloc (JEMALLOC_LIBRARY, found at the top level) the malloc of an
# executable: as a direct NEEDED entry it precedes libc in symbol lookup.
# tests/platform/jemalloc_linked_test.sh checks the result.
function(cxp_use_jemalloc target)
  target_link_libraries(${target} PRIVATE
                        "$<LINK_LIBRARY:CXP_NO_AS_NEEDED,${JEMALLOC_LIBRARY}>")
endfunction()

function(cxp_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  _cxp_apply_common(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "CXP_BINARY_DIR=${PROJECT_BINARY_DIR};CXP_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

#   cxp_proto_library(NAME name PROTO_ROOT dir PROTOS a.proto b.proto
#                     [IMPORT_DIRS dirs...])
#
# Compiles .proto files (paths relative to PROTO_ROOT, which is also the
# import root, with IMPORT_DIRS for imports from elsewhere, e.g. protos/)
# into a static library of C++ messages and gRPC stubs. The generated
# headers are system headers and build without our -Werror.
function(cxp_proto_library)
  cmake_parse_arguments(ARG "" "NAME;PROTO_ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  set(import_flags)
  foreach(dir ${ARG_IMPORT_DIRS})
    list(APPEND import_flags --proto_path=${dir})
  endforeach()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(outs ${out_dir}/${base}.pb.cc ${out_dir}/${base}.pb.h
             ${out_dir}/${base}.grpc.pb.cc ${out_dir}/${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc
        --proto_path=${ARG_PROTO_ROOT}
        ${import_flags}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${proto}
      DEPENDS ${ARG_PROTO_ROOT}/${proto}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()
