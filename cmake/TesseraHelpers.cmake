# Common compile settings for every Tessera target.
function(tessera_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(TESSERA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# tessera_add_test(NAME name LABEL cpu|gpu SOURCES a.cpp ... [LIBS ...])
# One Catch2 executable per call; `gpu` tests need a device and are excluded from CI by label.
function(tessera_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL MATCHES "^(cpu|gpu)$")
    message(FATAL_ERROR "tessera_add_test(${T_NAME}): LABEL must be cpu or gpu")
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE tessera_test_main ${T_LIBS})
  tessera_target_defaults(${T_NAME})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL}
                       ENVIRONMENT "TESSERA_CACHE_DIR=${CMAKE_BINARY_DIR}/test-cache")
endfunction()

# tessera_add_library(NAME name SOURCES ... [DEPS public libs...] [PRIVATE_DEPS ...])
# A layer library, exported for find_package(tessera). Headers sit beside sources and are
# included by their path from the repository root ("runtime/driver.h").
function(tessera_add_library)
  cmake_parse_arguments(L "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${L_NAME} STATIC ${L_SOURCES})
  add_library(tessera::${L_NAME} ALIAS ${L_NAME})
  target_include_directories(${L_NAME} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
    $<INSTALL_INTERFACE:include/tessera>)
  target_link_libraries(${L_NAME} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  tessera_target_defaults(${L_NAME})
  set_property(GLOBAL APPEND PROPERTY TESSERA_EXPORTED_TARGETS ${L_NAME})
endfunction()
