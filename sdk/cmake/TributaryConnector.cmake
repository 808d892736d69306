# TributaryConnector.cmake: tributary_add_connector(), the one way to build a connector library.
#
#   tributary_add_connector(<name> [OUTPUT_DIRECTORY <dir>] <source>...)
#
# Adds lib<name>.so, a MODULE library linked to Tributary::sdk, built with hidden visibility and a
# linker version script so that it exports tributary_connector_entry and nothing else. The library
# lands in OUTPUT_DIRECTORY, else in CMAKE_LIBRARY_OUTPUT_DIRECTORY when that is set, else in
# ${PROJECT_BINARY_DIR}/plugins. Name the file in the manifest's `library` field.

include_guard(GLOBAL)

function(tributary_add_connector name)
    cmake_parse_arguments(PARSE_ARGV 1 TRIB "" "OUTPUT_DIRECTORY" "")
    if(NOT TRIB_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "tributary_add_connector(${name}): no source files given")
    endif()

    add_library(${name} MODULE ${TRIB_UNPARSED_ARGUMENTS})
    target_link_libraries(${name} PRIVATE Tributary::sdk)
    set_target_properties(${name} PROPERTIES
        PREFIX "lib"
        C_VISIBILITY_PRESET hidden
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)

    if(TRIB_OUTPUT_DIRECTORY)
        set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${TRIB_OUTPUT_DIRECTORY})
    elseif(NOT CMAKE_LIBRARY_OUTPUT_DIRECTORY)
        set_target_properties(${name} PROPERTIES
            LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/plugins)
    endif()

    # The script sits next to this file, in the source tree and in an installed package alike.
    # --as-needed drops libraries the connector does not use, such as libcrypto without HMAC.
    if(NOT APPLE AND NOT WIN32)
        set(map "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/connector.map")
        target_link_options(${name} PRIVATE "LINKER:--version-script=${map}" "LINKER:--as-needed")
        set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${map})
    endif()
endfunction()
