# Completion scripts: generated from the CLI, the copies in completions/ are
# the same, bash's works, and topics complete from a running broker.
source "$(dirname "$0")/lib.sh"

for shell in bash zsh fish; do
  run 0 "$CLI" completion $shell
  cmp -s "$WORK/out" "$SRC/completions/goka-cli.$shell" ||
    fail "completions/goka-cli.$shell is stale: regenerate with goka-cli completion $shell"
done
run 2 "$CLI" completion tcsh
error_line

bash -n "$SRC/completions/goka-cli.bash" || fail "bash script does not parse"
command -v zsh >/dev/null && { zsh -n "$SRC/completions/goka-cli.zsh" || fail "zsh script does not parse"; }
command -v fish >/dev/null && { fish -n "$SRC/completions/goka-cli.fish" || fail "fish script does not parse"; }

# Drive bash's completion function as bash would.
start_broker -t clicks:2 -t orders:2
mkdir -p "$WORK/bin"
ln -s "$CLI" "$WORK/bin/goka-cli"
complete_words() {
  PATH="$WORK/bin:$PATH" bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _goka_cli
    printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/completions/goka-cli.bash" "$@" | sort | tr '\n' ' '
}
same "$(complete_words goka-cli em)" "emit " "subcommand"
same "$(complete_words goka-cli dump --fo)" "--follow --format " "dump flags"
same "$(complete_words goka-cli dump --codec i)" "int64 " "codec choices"
same "$(complete_words goka-cli dump --proto-p)" "--proto-path " "protobuf flags of a codec option"
same "$(complete_words goka-cli -b "$GOKA_BROKERS" dump "")" "clicks orders " "topic names from the broker"
same "$(complete_words goka-cli emit cl)" "clicks " "topic prefix"
same "$(complete_words goka-cli partition -t o)" "orders " "topic-valued option"
same "$(complete_words goka-cli reset g --to-)" "--to-datetime --to-earliest --to-latest " "reset flags"
same "$(complete_words goka-cli reset g --input c)" "clicks " "reset --input topic"
same "$(complete_words goka-cli status g --wait)" "--wait-idle " "status --wait-idle"

finish
