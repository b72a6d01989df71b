dnl AX_VMH_CFLAG(FLAG, VARIABLE): append FLAG to VARIABLE if the C compiler
dnl accepts it without a warning.
AC_DEFUN([AX_VMH_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  vmh_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2="$$2 $1"],
    [AC_MSG_RESULT([no])])
  CFLAGS=$vmh_save_CFLAGS
])
