# bash completion for ferry: commands, options, device names and ids, files, transfer ids.
# Installed by scripts/install.sh into ~/.local/share/bash-completion/completions/ferry.
_ferry_devices() {
    local line
    while IFS= read -r line; do
        [[ -n $line && $line == "$1"* ]] && COMPREPLY+=("$(printf '%q' "$line")")
    done < <(ferry __complete-devices 2>/dev/null)
}

# what the user typed so far, without the quoting completion added (never evaluated)
_ferry_unquote() {
    local word=${1//\\/}
    word=${word#[\"\']}
    printf '%s' "${word%[\"\']}"
}

_ferry() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands='id devices pair unpair send send-text send-url transfers cancel serve help'
    local options='--config-dir --identity --to --protocol --name --type --wait --receive-dir --json --help'
    COMPREPLY=()
    case $prev in
        --identity) mapfile -t COMPREPLY < <(compgen -W 'auto gsconnect ferry' -- "$cur"); return ;;
        --protocol) mapfile -t COMPREPLY < <(compgen -W '7 8' -- "$cur"); return ;;
        --type) mapfile -t COMPREPLY < <(compgen -W 'desktop laptop phone tablet tv' -- "$cur"); return ;;
        --config-dir|--receive-dir) compopt -o filenames; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
        --to|--name|--wait) return ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return
    fi
    # the command and how many of its arguments come before the word being completed
    local i word command='' argn=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            --config-dir|--identity|--to|--protocol|--name|--type|--wait|--receive-dir) ((i++)); continue ;;
            -*) continue ;;
        esac
        if [[ -z $command ]]; then command=$word; else ((argn++)); fi
    done
    if [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        return
    fi
    case $command in
        pair|unpair|send-text|send-url)
            ((argn == 0)) && _ferry_devices "$(_ferry_unquote "$cur")" ;;
        send)
            if ((argn == 0)); then
                _ferry_devices "$(_ferry_unquote "$cur")"
            else
                compopt -o filenames
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi ;;
        cancel)
            ((argn == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(ferry transfers 2>/dev/null | grep $'\t' | cut -f1)" -- "$cur") ;;
        help)
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur") ;;
    esac
}
complete -F _ferry ferry
