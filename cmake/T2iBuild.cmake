# Build settings shared by every target of the project.

find_program(T2I_CCACHE ccache)
if(T2I_CCACHE)
  # Precompiled headers and ccache only cooperate when ccache ignores the PCH's timestamps.
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;${T2I_CCACHE}")
endif()

# Warnings as errors for our own code; third-party headers come in as system headers.
add_library(t2i_warnings INTERFACE)
target_compile_options(t2i_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror)

# Qt conventions for our Qt code: explicit string conversions, no implicit casts from char*.
add_library(t2i_qt_defines INTERFACE)
target_compile_definitions(t2i_qt_defines INTERFACE
  QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_URL_CAST_FROM_STRING
  QT_NO_CAST_FROM_BYTEARRAY QT_USE_QSTRINGBUILDER QT_STRICT_ITERATORS
  QT_DISABLE_DEPRECATED_BEFORE=0x060000)

if(T2I_SANITIZE)
  # No recovery: an undefined-behaviour finding ends the test that ran into it.
  add_compile_options(-fsanitize=${T2I_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${T2I_SANITIZE})
endif()
