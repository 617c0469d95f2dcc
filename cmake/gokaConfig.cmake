# find_package(goka) for an installed libgoka: goka::goka and what it links.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
find_dependency(Threads)
find_dependency(leveldb)
find_dependency(fmt)
find_dependency(nlohmann_json 3)
include("${CMAKE_CURRENT_LIST_DIR}/gokaTargets.cmake")
