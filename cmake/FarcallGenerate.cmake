# farcall_generate(TARGET foo.x [OUTPUT_DIR dir] [DEPENDS files...] [OPTIONS fargen-options...])
#
# Runs fargen on foo.x (relative to the current source directory) and adds the
# generated foo.h, foo_xdr.c, foo_clnt.c and foo_svc.c to TARGET, with the
# output directory (default: ${CMAKE_CURRENT_BINARY_DIR}/fargen) on its include
# path.  The stubs are regenerated whenever foo.x (or a file named in DEPENDS,
# such as one foo.x #includes) or fargen itself changes.  OPTIONS go to fargen
# (for example -DNAME=VALUE for its preprocessor).  TARGET must link farcall.
#
# Works inside farcall's own build (the fargen target) and in projects that
# find_package(farcall) (the installed fargen next to this file's prefix).
if(NOT COMMAND farcall_generate)
function(farcall_generate target xfile)
  cmake_parse_arguments(G "" "OUTPUT_DIR" "DEPENDS;OPTIONS" ${ARGN})
  get_filename_component(xabs "${xfile}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(base "${xabs}" NAME_WE)
  if(NOT G_OUTPUT_DIR)
    set(G_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/fargen")
  endif()
  if(TARGET fargen)
    set(exe $<TARGET_FILE:fargen>)
    set(dep fargen)
  else()
    find_program(FARCALL_FARGEN fargen
                 HINTS "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../../bin"
                       "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../../../bin")
    if(NOT FARCALL_FARGEN)
      message(FATAL_ERROR "farcall_generate: fargen not found")
    endif()
    set(exe "${FARCALL_FARGEN}")
    set(dep "${FARCALL_FARGEN}")
  endif()
  set(outs "${G_OUTPUT_DIR}/${base}.h" "${G_OUTPUT_DIR}/${base}_xdr.c"
           "${G_OUTPUT_DIR}/${base}_clnt.c" "${G_OUTPUT_DIR}/${base}_svc.c")
  file(MAKE_DIRECTORY "${G_OUTPUT_DIR}")
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${exe} ${G_OPTIONS} -o "${G_OUTPUT_DIR}" "${xabs}"
    DEPENDS "${xabs}" ${G_DEPENDS} ${dep}
    COMMENT "fargen ${xfile}"
    VERBATIM)
  target_sources(${target} PRIVATE ${outs})
  target_include_directories(${target} PUBLIC "${G_OUTPUT_DIR}")
endfunction()
endif()
