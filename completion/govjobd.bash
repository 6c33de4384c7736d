# bash completion for govjobd. It reads `govjobd [COMMAND...] --help` at each Tab, so it always matches the
# binary it completes for: subcommands, their options, job statuses for --status, files for -c/--steps.
# Installed as /usr/share/bash-completion/completions/govjobd (loaded on demand by bash-completion).

# The subcommands and the options (one per line) that `govjobd PATH --help` lists.
_govjobd_help() {
  "$1" "${@:2}" --help 2>/dev/null | awk '
    /^Subcommands:/ { section = "sub"; next }
    /^Options:/ { section = "opt"; next }
    /^[^ ]/ { section = "" }
    section == "sub" && /^  [a-z]/ { print $1 }
    section == "opt" && /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }'
}

_govjobd() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} bin=${COMP_WORDS[0]}
  case $prev in
    -c|--config|--steps)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --status)
      COMPREPLY=($(compgen -W "PENDING RUNNING COMPLETED FAILED CANCELLED" -- "$cur")); return ;;
    --database-url|--contract|--since|--target|--step-type|--pool|--until|--reason|--by|--limit|--interval|\
    --timeout-minutes|--created-by)
      return ;;
  esac
  # the subcommand path so far: the words before the cursor that name a subcommand of the path before them
  local path=() word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    [[ $word == -* ]] && continue
    if _govjobd_help "$bin" "${path[@]}" | grep -qxF -- "$word"; then path+=("$word"); fi
  done
  local candidates
  candidates=$(_govjobd_help "$bin" "${path[@]}")
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(grep -- '^-' <<<"$candidates")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(grep -v -- '^-' <<<"$candidates")" -- "$cur"))
  fi
}

complete -F _govjobd govjobd
