# el_room(NAME SOURCES ... DEPS ... [TESTS ...] [TEST_DEPS ...])
#
# One room is one static library `el_<NAME>` whose public headers are included as
# "<NAME>/header.h" from src/. DEPS are the rooms and libraries it may use; the
# architecture map says which rooms a room may depend on. TESTS are GoogleTest
# sources linked with the room and registered with ctest.
function(el_room name)
  cmake_parse_arguments(R "" "" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  add_library(el_${name} STATIC ${R_SOURCES})
  target_include_directories(el_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(el_${name} PUBLIC ${R_DEPS})
  if(EL_TESTS AND R_TESTS)
    add_executable(el_${name}_test ${R_TESTS})
    target_link_libraries(el_${name}_test PRIVATE el_${name} ${R_TEST_DEPS} GTest::gtest GTest::gtest_main)
    gtest_discover_tests(el_${name}_test
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      PROPERTIES ENVIRONMENT "EL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  endif()
endfunction()
