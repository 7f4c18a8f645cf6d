# SPDX-License-Identifier: MIT
# The web console (issue 17, docs/console.md): the files herald serves at
# /console/, built into the binary. With HERALD_CONSOLE (default ON) the
# build runs scripts/console-build.sh (npm ci when console/package-lock.json
# changed, the esbuild bundle, then scripts/console-embed.py) and compiles
# its output, ${CMAKE_BINARY_DIR}/gen/console_assets.c, into herald_api.
# Without node (or without npm while console/node_modules is not
# installed) the configuration stops and says so. With
# -DHERALD_CONSOLE=OFF /console/ serves console/stub/index.html, a page
# that says the console was not built.
option(HERALD_CONSOLE "Build the web console into herald (needs node and npm)" ON)
set(HERALD_CONSOLE_C ${CMAKE_BINARY_DIR}/gen/console_assets.c)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
if(HERALD_CONSOLE)
  find_program(HERALD_NODE node)
  find_program(HERALD_NPM npm)
  if(NOT HERALD_NODE OR (NOT HERALD_NPM AND NOT EXISTS ${CMAKE_SOURCE_DIR}/console/node_modules/.package-lock.json))
    message(FATAL_ERROR "herald's web console needs node and npm to build (scripts/deps.sh installs them: "
      "`bash scripts/deps.sh`); or configure with -DHERALD_CONSOLE=OFF for a herald whose /console/ only "
      "says the console was not built.")
  endif()
  file(GLOB HERALD_CONSOLE_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/console/src/*)
  add_custom_command(
    OUTPUT ${HERALD_CONSOLE_C}
    COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/console-build.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/console
            ${HERALD_CONSOLE_C}
    DEPENDS ${HERALD_CONSOLE_SOURCES} ${CMAKE_SOURCE_DIR}/console/build.mjs
            ${CMAKE_SOURCE_DIR}/console/package.json ${CMAKE_SOURCE_DIR}/console/package-lock.json
            ${CMAKE_SOURCE_DIR}/scripts/console-build.sh ${CMAKE_SOURCE_DIR}/scripts/console-embed.py
    COMMENT "Building the web console (console/) into ${HERALD_CONSOLE_C}"
    VERBATIM)
else()
  add_custom_command(
    OUTPUT ${HERALD_CONSOLE_C}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/console-embed.py ${CMAKE_SOURCE_DIR}/console/stub
            ${HERALD_CONSOLE_C}
    DEPENDS ${CMAKE_SOURCE_DIR}/console/stub/index.html ${CMAKE_SOURCE_DIR}/scripts/console-embed.py
    COMMENT "Embedding the console stub page (HERALD_CONSOLE=OFF)"
    VERBATIM)
endif()
