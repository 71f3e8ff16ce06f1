# The web UI embedded in the firmware (docs/api.md "Static files"), included
# by main/CMakeLists.txt after idf_component_register. scripts/build-web
# assembles web/ with uPlot and the Settings page's metadata into the build
# folder (it needs Node.js and npm, as for the Linux build); without them
# web/ goes in as it is, with a warning (no charts). scripts/embed-assets
# --gzip then writes web_assets.c with every file gzip-compressed, served
# with Content-Encoding: gzip by web.c.
get_filename_component(fw_repo "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(fw_web_assets "${CMAKE_CURRENT_BINARY_DIR}/web_assets.c")
idf_build_get_property(fw_python PYTHON)
if(NOT fw_python)
    set(fw_python python3)
endif()
file(GLOB_RECURSE fw_web_deps CONFIGURE_DEPENDS "${fw_repo}/web/*")
foreach(dep scripts/embed-assets scripts/build-web package-lock.json docs/configuration.md)
    if(EXISTS "${fw_repo}/${dep}")
        list(APPEND fw_web_deps "${fw_repo}/${dep}")
    endif()
endforeach()
add_custom_command(OUTPUT "${fw_web_assets}"
    COMMAND sh -c "if \"$0/scripts/build-web\" \"$1/web\"; then d=\"$1/web\"; else echo 'web UI: scripts/build-web failed (Node.js and npm?): embedding web/ without uPlot' >&2; d=\"$0/web\"; fi; \"$3\" \"$0/scripts/embed-assets\" --gzip \"$d\" \"$2\""
            "${fw_repo}" "${CMAKE_CURRENT_BINARY_DIR}" "${fw_web_assets}" "${fw_python}"
    DEPENDS ${fw_web_deps}
    COMMENT "Embedding the web UI (gzip)"
    VERBATIM)
target_sources(${COMPONENT_LIB} PRIVATE "${fw_web_assets}")
