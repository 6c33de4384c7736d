#!/usr/bin/env bash
# The layers, checked on the sources (a header-only include compiles whatever CMake links, so the build
# alone cannot tell). Dependencies point one way:
#   daemon/cli -> daemon/run -> daemon/store, daemon/log; daemon/run -> executors, health
#   executors, health -> process, config, daemon/model
# and only daemon/store talks to PostgreSQL, behind headers that name no libpqxx type.
# Prints each offending include and fails; prints nothing and passes otherwise.
#   tests/ops/layers.sh SOURCE_DIR
set -uo pipefail
cd "${1:?usage: layers.sh SOURCE_DIR}" || exit 2

status=0
# forbid FOLDERS PATTERN WHY [ALLOWED]: no file under FOLDERS (those that exist) includes a header whose
# path starts with PATTERN, unless it starts with ALLOWED
forbid() {
  local folders=() f
  for f in $1; do [[ -e $f ]] && folders+=("$f"); done
  ((${#folders[@]})) || return 0
  local include='^[^:]*:[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' hits
  hits=$(grep -rnHE --include='*.cpp' --include='*.hpp' "#[[:space:]]*include" "${folders[@]}" |
         grep -E "$include($2)" | { if [[ -n ${4:-} ]]; then grep -vE "$include($4)"; else cat; fi; })
  if [[ -n $hits ]]; then
    echo "$3:"
    echo "$hits" | sed 's/^/  /'
    status=1
  fi
}

# the production code outside the store (tests may reach into the store to set up rows)
outside_store="config process executors health daemon/model daemon/log daemon/run daemon/cli daemon/main.cpp"

forbid "config process executors health" 'daemon/' \
  "config/, process/, executors/ and health/ include nothing from daemon/ but daemon/model/" 'daemon/model/'
forbid "process" 'executors/|health/' "process/ is below executors/ and health/"
forbid "daemon/model" 'daemon/(store|run|cli|log)/' "daemon/model/ includes nothing from the daemon above it"
forbid "daemon/store daemon/log" 'daemon/(run|cli)/' "daemon/store/ and daemon/log/ are below daemon/run/ and daemon/cli/"
forbid "daemon/store" 'daemon/log/' "daemon/store/ does not log (its callers do)"
forbid "daemon/log" 'daemon/store/' "daemon/log/ knows nothing of the store"
forbid "daemon/run" 'daemon/cli/' "daemon/run/ is below daemon/cli/"
forbid "$outside_store" 'pqxx/|libpq-fe\.h' "only daemon/store/ includes libpqxx or libpq"

# The store's headers that code outside it includes, and the store headers those include in turn: none
# includes libpqxx (pqxx-typed declarations live in private headers such as store_impl.hpp).
store_include='^[[:space:]]*#[[:space:]]*include[[:space:]]*"(daemon/store/[^"]*)"'
mapfile -t todo < <(grep -rhoE --include='*.cpp' --include='*.hpp' "$store_include" $outside_store 2>/dev/null |
                    sed -E "s|$store_include|\1|" | sort -u)
declare -A seen=()
while ((${#todo[@]})); do
  header=${todo[0]}
  todo=("${todo[@]:1}")
  [[ -n ${seen[$header]:-} ]] && continue
  seen[$header]=1
  [[ -f $header ]] || continue
  forbid "$header" 'pqxx/|libpq-fe\.h' "$header is included from outside daemon/store/, so it names no libpqxx header"
  mapfile -t -O ${#todo[@]} todo < <(grep -hoE "$store_include" "$header" | sed -E "s|$store_include|\1|")
done

exit $status
