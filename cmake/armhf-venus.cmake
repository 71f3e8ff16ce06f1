# CMake toolchain for the Venus OS build (make venus, docs/venus-os.md): 32-bit ARM, hard
# float (armhf, the userland of current GX devices), Debian's gcc-arm-linux-gnueabihf.
# TBVB_VENUS_SYSROOT is the folder scripts/venus-sysroot fills with Debian 12 armhf libraries
# (cJSON, civetweb, mosquitto, libdbus-1 and their closure, glibc included).
#
# The binary is linked to run with the libraries shipped beside it, never the GX's own: its
# ELF interpreter is the bundled glibc loader at TBVB_VENUS_PREFIX/lib and its RPATH is
# $ORIGIN/lib (DT_RPATH, not RUNPATH, so it also covers the libraries' own dependencies).
# So only the kernel ABI and the D-Bus wire protocol are shared with Venus OS, whatever glibc
# and libraries a firmware version has.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

if(NOT TBVB_VENUS_SYSROOT)
    message(FATAL_ERROR "TBVB_VENUS_SYSROOT is not set (make venus sets it; scripts/venus-sysroot fills it)")
endif()
get_filename_component(TBVB_VENUS_SYSROOT "${TBVB_VENUS_SYSROOT}" ABSOLUTE)
if(NOT EXISTS "${TBVB_VENUS_SYSROOT}/.complete")
    message(FATAL_ERROR "${TBVB_VENUS_SYSROOT} is not a complete sysroot: run scripts/venus-sysroot ${TBVB_VENUS_SYSROOT}")
endif()
if(NOT TBVB_VENUS_PREFIX)
    set(TBVB_VENUS_PREFIX /data/tinybms-bridge)
endif()
# try_compile projects see the same variables.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TBVB_VENUS_SYSROOT TBVB_VENUS_PREFIX)

# Headers and libraries from the sysroot; programs (node, sh) from the build machine. The
# compiler keeps its own glibc headers (Debian's libc6-dev-armhf-cross, the same glibc 2.36).
set(CMAKE_FIND_ROOT_PATH "${TBVB_VENUS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR} "${TBVB_VENUS_SYSROOT}/usr/lib/arm-linux-gnueabihf/pkgconfig:${TBVB_VENUS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TBVB_VENUS_SYSROOT}")

set(TBVB_VENUS_LIBDIRS "${TBVB_VENUS_SYSROOT}/lib/arm-linux-gnueabihf"
                       "${TBVB_VENUS_SYSROOT}/usr/lib/arm-linux-gnueabihf")
set(_tbvb_link "-Wl,--dynamic-linker=${TBVB_VENUS_PREFIX}/lib/ld-linux-armhf.so.3")
string(APPEND _tbvb_link " -Wl,--disable-new-dtags -Wl,-rpath,\\$ORIGIN/lib")
foreach(dir ${TBVB_VENUS_LIBDIRS})
    string(APPEND _tbvb_link " -Wl,-rpath-link,${dir}")
endforeach()
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_tbvb_link}")
# No build-tree RPATH to the sysroot: only $ORIGIN/lib above.
set(CMAKE_SKIP_RPATH ON CACHE BOOL "no build-tree RPATH (armhf-venus.cmake)" FORCE)
