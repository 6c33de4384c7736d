#!/usr/bin/env bash
# A binary that links no database library: neither on its link line (when the build leaves one to read:
# the Makefile generators' link.txt) nor among the libraries it loads (the linker drops unused ones, so
# both are checked). Prints what it found and fails; prints nothing and passes otherwise.
#   tests/ops/no_database_library.sh BINARY [LINK_TXT]
set -euo pipefail
binary=${1:?usage: no_database_library.sh BINARY [LINK_TXT]}
database='lib(pq|pqxx)([.-]|$)|-l(pq|pqxx)( |$)'
status=0
needed=$(readelf -d "$binary" | grep NEEDED)  # fails when readelf cannot read it
if grep -E "$database" <<<"$needed"; then status=1; fi
if [[ -n ${2:-} ]]; then
  tr ' ' '\n' <"$2" | grep -E "$database" && status=1
fi
exit $status
