# Installing and packaging caseflow (docs/operations.md).
#
# `cmake --install BUILD [--prefix P]` puts the binary in P/bin and its data below
# P/share/caseflow, laid out as in the source tree (workflows/ with calendars/ and templates/,
# schemas/events, schemas/sql, server/openapi.json, web/), so that the relative names in the
# workflows (`schemas: ../schemas/events`) and in the configuration hold in both. The binary
# finds that folder from its own place (base/path.c), so an installed tree may be moved.
#
# The component `service` (the example configuration in /etc/caseflow and the systemd units) is
# left out of a plain `cmake --install`, because /etc lies outside any prefix; `cpack -G DEB`
# (packaging/build-deb) packs it with the rest.
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

# The manual page and the Debian changelog, compressed as Debian wants them (gzip -n: no name
# or time inside, so that two builds give the same bytes).
set(CF_VERSION ${PROJECT_VERSION})
configure_file(packaging/caseflow.1 ${CMAKE_BINARY_DIR}/man/caseflow.1 @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS packaging/debian/changelog)
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/man/caseflow.1 COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/packaging/debian/changelog
                OUTPUT_FILE ${CMAKE_BINARY_DIR}/man/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CMAKE_BINARY_DIR}/man/caseflow.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT program)

# systemd units: each gets the sandbox of systemd/hardening.conf and this build's paths.
file(READ packaging/systemd/hardening.conf CF_HARDENING)
string(STRIP "${CF_HARDENING}" CF_HARDENING)
set(CF_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(CF_SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/caseflow)
set(CF_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
set(CF_UNITS caseflow.target caseflow-engine.service caseflow-worker@.service
             caseflow-serve.service caseflow-db-migrate.service)
set(CF_UNIT_FILES)
foreach(unit IN LISTS CF_UNITS)
    configure_file(packaging/systemd/${unit}.in ${CMAKE_BINARY_DIR}/systemd/${unit} @ONLY)
    list(APPEND CF_UNIT_FILES ${CMAKE_BINARY_DIR}/systemd/${unit})
endforeach()
set(CASEFLOW_SYSTEMD_UNITDIR lib/systemd/system CACHE STRING
    "where the systemd units go (relative: below the install prefix)")
install(FILES ${CF_UNIT_FILES} DESTINATION ${CASEFLOW_SYSTEMD_UNITDIR} COMPONENT service
        EXCLUDE_FROM_ALL)
install(FILES packaging/caseflow.yaml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/caseflow
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT service EXCLUDE_FROM_ALL)
# What Debian asks of every package: the copyright, the changelog, lintian's overrides.
install(FILES packaging/debian/copyright ${CMAKE_BINARY_DIR}/man/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT service EXCLUDE_FROM_ALL)
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME caseflow COMPONENT service EXCLUDE_FROM_ALL)

# The Debian package: one caseflow_<version>_<arch>.deb with both components.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME caseflow)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "caseflow maintainers <caseflow-maintainers@court.example>"
    CACHE STRING "the Maintainer of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "workflow engine of a court's enforcement command center")
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
       "caseflow runs the enforcement cases of a basic-level court: an engine\n"
       "that keeps each case's state in PostgreSQL from the events on Kafka,\n"
       "workers for the bulk tasks (documents, service, network queries, checks,\n"
       "auctions, archiving), staff task queues and the workplace API, with\n"
       "systemd units for each.")
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The libraries' packages come from dpkg-shlibdeps; these are what the programs use otherwise:
# adduser for the postinst, the CJK fonts that the documents and the report's chart are set in.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, fonts-noto-cjk")
# pg_dump and psql for backups.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Both components in one package (a component install, so that `service` is packed too).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL program service)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
include(CPack)
