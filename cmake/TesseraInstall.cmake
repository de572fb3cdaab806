# cmake --install support: headers under include/tessera, static libraries, the CLI, and a
# package config so another project can find_package(tessera) and link tessera::tessera.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(_tessera_targets GLOBAL PROPERTY TESSERA_EXPORTED_TARGETS)
add_library(tessera INTERFACE)
add_library(tessera::tessera ALIAS tessera)
target_link_libraries(tessera INTERFACE ${_tessera_targets})

install(TARGETS ${_tessera_targets} tessera tessera_cuda_headers EXPORT tesseraTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Every header of the exported libraries, with the source tree's relative paths (the device
# prelude's .cuh too: it is embedded in the library, installed for reading).
install(DIRECTORY base runtime ir dsl ops codegen jit kernels examples catalog capi DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tessera
        FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh" PATTERN "find_package" EXCLUDE)
install(DIRECTORY ${PROJECT_BINARY_DIR}/generated/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tessera
        FILES_MATCHING PATTERN "*.h")
install(EXPORT tesseraTargets NAMESPACE tessera:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tessera)
configure_package_config_file(cmake/tesseraConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tesseraConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tessera)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tesseraConfig.cmake ${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tessera)
