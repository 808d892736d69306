# guide_snippets.cmake: builds every code block of the SDK guide against the installed SDK.
#
#   cmake -DGUIDE=docs/sdk.md -DBUILD_DIR=<build> -DWORK_DIR=<dir> -DLOAD_CHECK=<sdk_load_check>
#         [-DGENERATOR=<generator>] [-DCXX_COMPILER=<c++>] -P guide_snippets.cmake
#
# A fenced block whose info string carries `compile=<path>` is written to WORK_DIR/src/<path>.
# Every cpp, cmake and yaml block must carry one, so no snippet escapes the build; json blocks
# must parse; sh blocks must pass `bash -n`. Then, against the SDK installed from BUILD_DIR:
#  - a directory whose CMakeLists.txt came from the guide is configured, built and tested as the
#    guide says, and each of its manifests is loaded by the host's loader (LOAD_CHECK);
#  - every other directory's .cpp files are compiled, one object library each, and its
#    manifests are read by the host's manifest parser.
# Warnings fail the build.

cmake_minimum_required(VERSION 3.25)

foreach(var GUIDE BUILD_DIR WORK_DIR LOAD_CHECK)
    if(NOT ${var})
        message(FATAL_ERROR "guide_snippets.cmake: -D${var}=... is required")
    endif()
endforeach()

set(warning_flags "-Wall -Wextra -Wpedantic -Werror")
get_filename_component(cmake_bin ${CMAKE_COMMAND} DIRECTORY)
find_program(ctest_command ctest HINTS ${cmake_bin} REQUIRED)
set(generator_args)
if(GENERATOR)
    list(APPEND generator_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
    list(APPEND generator_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

# Runs a command; on failure prints its output and stops with `what`.
function(run what)
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
    endif()
endfunction()

# ---- extracting the blocks ---------------------------------------------------------------------

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/src)
file(READ ${GUIDE} rest)
set(rest "\n${rest}")

set(fence "\n```")
set(written)
set(shell_count 0)
set(block_count 0)
while(TRUE)
    string(FIND "${rest}" "${fence}" open)
    if(open EQUAL -1)
        break()
    endif()
    math(EXPR after_fence "${open} + 4")
    string(SUBSTRING "${rest}" ${after_fence} -1 rest)
    string(FIND "${rest}" "\n" eol)
    string(SUBSTRING "${rest}" 0 ${eol} info)
    math(EXPR body_start "${eol} + 1")
    string(SUBSTRING "${rest}" ${body_start} -1 rest)
    set(rest "\n${rest}")
    string(FIND "${rest}" "${fence}" close)
    if(close EQUAL -1)
        message(FATAL_ERROR "${GUIDE}: the block opened by ```${info} is never closed")
    endif()
    if(close EQUAL 0)
        set(body "")
    else()
        math(EXPR body_size "${close} - 1")
        string(SUBSTRING "${rest}" 1 ${body_size} body)
        set(body "${body}\n")
    endif()
    math(EXPR after_close "${close} + 4")
    string(SUBSTRING "${rest}" ${after_close} -1 rest)
    math(EXPR block_count "${block_count} + 1")

    string(REGEX MATCH "^[A-Za-z0-9+]*" language "${info}")
    string(REGEX MATCH "compile=([^ ]+)" mark "${info}")
    set(path "${CMAKE_MATCH_1}")
    if(language MATCHES "^(cpp|c\\+\\+|cmake|yaml)$")
        if(NOT path)
            message(FATAL_ERROR "${GUIDE}: a ${language} block has no compile=<path> mark:\n"
                                "${body}")
        endif()
        if(path IN_LIST written)
            message(FATAL_ERROR "${GUIDE}: compile=${path} is used twice")
        endif()
        list(APPEND written ${path})
        file(WRITE ${WORK_DIR}/src/${path} "${body}")
    elseif(language STREQUAL "json")
        string(JSON ignored ERROR_VARIABLE json_error TYPE "${body}")
        if(json_error)
            message(FATAL_ERROR "${GUIDE}: a json block does not parse (${json_error}):\n${body}")
        endif()
    elseif(language MATCHES "^(sh|bash)$")
        math(EXPR shell_count "${shell_count} + 1")
        set(script ${WORK_DIR}/shell/block_${shell_count}.sh)
        file(WRITE ${script} "${body}")
        run("bash -n on the guide's shell block ${shell_count}" bash -n ${script})
    endif()
endwhile()
if(NOT written)
    message(FATAL_ERROR "${GUIDE}: no block carries a compile= mark")
endif()
list(LENGTH written compiled_count)
message(STATUS "${block_count} blocks, ${compiled_count} written for compiling")

# ---- the SDK, installed alone ------------------------------------------------------------------

set(prefix ${WORK_DIR}/prefix)
run("installing the SDK" ${CMAKE_COMMAND} --install ${BUILD_DIR} --component sdk --prefix ${prefix})

# ---- building -----------------------------------------------------------------------------------

set(directories)
foreach(path ${written})
    string(REGEX REPLACE "/.*" "" top "${path}")
    if(top STREQUAL path)
        message(FATAL_ERROR "${GUIDE}: compile=${path} must name a directory, like demo/${path}")
    endif()
    list(APPEND directories ${top})
endforeach()
list(REMOVE_DUPLICATES directories)

foreach(dir ${directories})
    set(src ${WORK_DIR}/src/${dir})
    set(bin ${WORK_DIR}/build/${dir})

    # A directory of loose snippets gets a project that compiles each .cpp on its own.
    set(own_project TRUE)
    if(NOT EXISTS ${src}/CMakeLists.txt)
        set(own_project FALSE)
        file(GLOB_RECURSE sources RELATIVE ${src} ${src}/*.cpp)
        set(project_text "cmake_minimum_required(VERSION 3.25)\nproject(${dir} LANGUAGES CXX)\n")
        string(APPEND project_text "find_package(Tributary CONFIG REQUIRED)\n")
        string(APPEND project_text
            "find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS unit_test_framework)\n")
        foreach(source ${sources})
            string(MAKE_C_IDENTIFIER "${source}" target)
            string(APPEND project_text "add_library(${target} OBJECT ${source})\n")
            string(APPEND project_text "target_link_libraries(${target} PRIVATE Tributary::sdk "
                                       "Boost::unit_test_framework)\n")
        endforeach()
        file(WRITE ${src}/CMakeLists.txt "${project_text}")
    endif()

    run("configuring the guide's ${dir}"
        ${CMAKE_COMMAND} -S ${src} -B ${bin} ${generator_args}
        -DCMAKE_PREFIX_PATH=${prefix}
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
        "-DCMAKE_CXX_FLAGS=${warning_flags}")
    run("building the guide's ${dir}" ${CMAKE_COMMAND} --build ${bin} -j2)
    message(STATUS "built ${dir}")

    file(GLOB manifests ${src}/*.yaml)
    if(own_project)
        if(EXISTS ${bin}/CTestTestfile.cmake)
            run("testing the guide's ${dir}"
                ${ctest_command} --test-dir ${bin} --output-on-failure)
            message(STATUS "tested ${dir}")
        endif()
        foreach(manifest ${manifests})
            run("loading ${manifest} from ${bin}/plugins"
                ${LOAD_CHECK} ${manifest} ${bin}/plugins)
            message(STATUS "loaded ${manifest}")
        endforeach()
    else()
        foreach(manifest ${manifests})
            run("reading ${manifest}" ${LOAD_CHECK} --manifest-only ${manifest})
            message(STATUS "read ${manifest}")
        endforeach()
    endif()
endforeach()
