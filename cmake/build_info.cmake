# gmmfast_build_info(<target>): write gmmfast/_build_info.py, the record of how <target> was
# compiled (compiler, flags, OpenMP, versions) that gmmfast.show_config() prints, and install it
# next to the extension. Evaluated at configure time, so it records what CMake passes to the
# compiler for the build type being configured.

# <out> = <value> as a Python string literal.
function(_gmmfast_python_string out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  string(REPLACE "\n" "\\n" value "${value}")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

# <out> = <value> as a Python bool.
function(_gmmfast_python_bool out value)
  if(value)
    set(${out} "True" PARENT_SCOPE)
  else()
    set(${out} "False" PARENT_SCOPE)
  endif()
endfunction()

# A list of flags as one command-line string, single spaces, no empty entries.
function(_gmmfast_join_flags out)
  string(REPLACE ";" " " flags "${ARGN}")
  string(REGEX REPLACE "[ \t]+" " " flags "${flags}")
  string(STRIP "${flags}" flags)
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

function(gmmfast_build_info target)
  if(CMAKE_BUILD_TYPE)
    set(build_type "${CMAKE_BUILD_TYPE}")
  else()
    set(build_type "Release")
  endif()
  string(TOUPPER "${build_type}" build_type_upper)

  get_target_property(target_options ${target} COMPILE_OPTIONS)
  if(NOT target_options)
    set(target_options "")
  endif()
  set(openmp_flags "")
  if(OpenMP_C_FOUND)
    set(openmp_flags "${OpenMP_C_FLAGS}")
  endif()
  # The order of a compile command: CMAKE_C_FLAGS, the build type's flags, the target's
  # options, then the options of the libraries it links (OpenMP).
  _gmmfast_join_flags(c_flags
    "${CMAKE_C_FLAGS}" "${CMAKE_C_FLAGS_${build_type_upper}}" "${target_options}"
    "${openmp_flags}")
  _gmmfast_join_flags(linker_flags
    "${CMAKE_MODULE_LINKER_FLAGS}" "${CMAKE_MODULE_LINKER_FLAGS_${build_type_upper}}")

  if(DEFINED CYTHON_VERSION)
    set(cython_version "${CYTHON_VERSION}")
  elseif(DEFINED Cython_VERSION)
    set(cython_version "${Cython_VERSION}")
  else()
    set(cython_version "")
  endif()

  string(REPLACE ";" " " openmp_libraries "${OpenMP_C_LIB_NAMES}")
  foreach(pair
      "BUILD_TYPE;${build_type}"
      "COMPILER_ID;${CMAKE_C_COMPILER_ID}"
      "COMPILER_VERSION;${CMAKE_C_COMPILER_VERSION}"
      "COMPILER_PATH;${CMAKE_C_COMPILER}"
      "C_FLAGS;${c_flags}"
      "LINKER_FLAGS;${linker_flags}"
      "OPENMP_VERSION;${OpenMP_C_VERSION}"
      "OPENMP_FLAGS;${openmp_flags}"
      "OPENMP_LIBRARIES;${openmp_libraries}"
      "CYTHON_VERSION;${cython_version}"
      "NUMPY_VERSION;${Python_NumPy_VERSION}"
      "PYTHON_VERSION;${Python_VERSION}"
      "CMAKE_VERSION;${CMAKE_VERSION}"
      "GENERATOR;${CMAKE_GENERATOR}"
      "SYSTEM;${CMAKE_SYSTEM_NAME}"
      "PROCESSOR;${CMAKE_SYSTEM_PROCESSOR}"
      "OSX_DEPLOYMENT_TARGET;${CMAKE_OSX_DEPLOYMENT_TARGET}")
    list(POP_FRONT pair key)
    _gmmfast_python_string(GMMFAST_INFO_${key} "${pair}")
  endforeach()
  _gmmfast_python_bool(GMMFAST_INFO_OPENMP "${OpenMP_C_FOUND}")
  _gmmfast_python_bool(GMMFAST_INFO_NATIVE "${GMMFAST_NATIVE}")

  configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/_build_info.py.in"
    "${CMAKE_CURRENT_BINARY_DIR}/_build_info.py" @ONLY)
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/_build_info.py" DESTINATION gmmfast)
endfunction()
