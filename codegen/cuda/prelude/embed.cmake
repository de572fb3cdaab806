# Writes ${OUT}: a C++ header holding each listed prelude file as a raw string literal.
# Invoked at build time (cmake -P) so editing a .cuh regenerates the header.
set(_content "// Generated from codegen/cuda/prelude by embed.cmake. Do not edit.\n#pragma once\n\nnamespace tessera::codegen::prelude {\n\n")
foreach(_pair IN LISTS FILES)
  string(REPLACE "=" ";" _parts "${_pair}")
  list(GET _parts 0 _var)
  list(GET _parts 1 _file)
  file(READ "${_file}" _text)
  string(APPEND _content "inline constexpr const char* ${_var} = R\"TESSERA_PRELUDE(${_text})TESSERA_PRELUDE\";\n\n")
endforeach()
string(APPEND _content "} // namespace tessera::codegen::prelude\n")
file(WRITE "${OUT}.tmp" "${_content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
