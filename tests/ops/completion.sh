#!/usr/bin/env bash
# The bash completion completes subcommands, nested subcommands, options and statuses from the binary's help.
set -euo pipefail
export LC_ALL=C
src=$1 bin=$2
source "$src/completion/govjobd.bash"
complete_words() {  # the completions of the words given, the last one being completed
  COMP_WORDS=("$bin" "$@"); COMP_CWORD=$#; COMPREPLY=()
  _govjobd
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
check() {  # check "expected completions" words...
  local expected=$1; shift
  local got; got=$(complete_words "$@")
  [[ $got == "$expected " ]] || { echo "completing '$*': expected '$expected ', got '$got'"; exit 1; }
}
check "jobs" jo
check "list" jobs li
check "show" jobs -c /etc/x.yaml sh
check "--since --status --step-type" jobs list --s
check "FAILED" jobs list --status F
check "pause pauses" pau
check "--interval" jobs watch --int
check "--database-url" --data
echo "completion: ok"
