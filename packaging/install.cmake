# Installing and packaging caseflow (docs/operations.md).
#
# `cmake --install BUILD [--prefix P]` puts the binary in P/bin and its data below
# P/share/caseflow, laid out as in the source tree (workflows/ with calendars/ and templates/,
# schemas/events, schemas/sql, server/openapi.json, web/), so that the relative names in the
# workflows (`schemas: ../schemas/events`) and in the configuration hold in both. The binary
# finds that folder from its own place (base/path.c), so an installed tree may be moved.
include(GNUInstallDirs)

# The data folder relative to the binary's (../share/caseflow), compiled into base/path.c.
file(RELATIVE_PATH CF_DATADIR_REL ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/caseflow)
set_property(SOURCE base/path.c APPEND PROPERTY COMPILE_DEFINITIONS
             CF_DATADIR_REL="${CF_DATADIR_REL}")
# A binary in its build tree finds its data in the source tree that this file names; the file
# is never installed, so an installed binary cannot fall back on the source tree.
file(GENERATE OUTPUT $<TARGET_FILE_DIR:caseflow>/caseflow-source-dir
     CONTENT "${CMAKE_SOURCE_DIR}\n")

install(TARGETS caseflow RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT program)
install(DIRECTORY workflows schemas DESTINATION ${CMAKE_INSTALL_DATADIR}/caseflow
        COMPONENT program)
install(FILES server/openapi.json DESTINATION ${CMAKE_INSTALL_DATADIR}/caseflow/server
        COMPONENT program)
# The web workplace, once it is in the tree.
install(DIRECTORY web DESTINATION ${CMAKE_INSTALL_DATADIR}/caseflow COMPONENT program OPTIONAL)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT program)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT program)
