# cmake -P script behind the `find_package_example` test: install BUILD_DIR into WORK_DIR/prefix,
# configure and build SOURCE_DIR (examples/find_package) against it, run the program.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "find_package_test.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
run_step("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
# Only the installed package is visible: the build and source trees are not on the path.
run_step("configure examples/find_package" ${CMAKE_COMMAND} -S "${SOURCE_DIR}"
         -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release
         -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_PREFIX_PATH=${prefix}")
run_step("build examples/find_package" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run_step("run find_package_example" "${WORK_DIR}/build/find_package_example")
message(STATUS "${step_output}")
