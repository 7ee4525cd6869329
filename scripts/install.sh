#!/usr/bin/env bash
# Installs strata into a prefix (default /usr/local):
#   PREFIX/bin/strata                                   the release build
#   PREFIX/share/strata/Tutorials/                      the tutorials (strata tutorial runs from any folder)
#   PREFIX/share/bash-completion/completions/strata     bash completion
#   PREFIX/share/zsh/site-functions/_strata             zsh completion
#   PREFIX/share/fish/vendor_completions.d/strata.fish  fish completion
#   PREFIX/share/man/man1/strata.1                      the manual (argument-parser's generator)
#
#   scripts/install.sh [--prefix DIR] [--binary PATH] [--no-manual]
#
# --binary installs an already built strata instead of building one in release
# (the tests use it); --no-manual skips the manual page (its generator builds
# the tool a second time). The apt packages strata links against are the
# ones scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local binary="" manual=1
while (( $# )); do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --binary) binary="$2"; shift 2 ;;
        --no-manual) manual=0; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ -z "$binary" ]]; then
    echo "building strata in release ..." >&2
    swift build -c release --product strata >&2
    binary="$(swift build -c release --show-bin-path)/strata"
fi
[[ -x "$binary" ]] || { echo "install.sh: no executable at $binary" >&2; exit 1; }

install -D -m 755 "$binary" "$prefix/bin/strata"
rm -rf "$prefix/share/strata/Tutorials"
mkdir -p "$prefix/share/strata"
cp -R Tutorials "$prefix/share/strata/Tutorials"

installed="$prefix/bin/strata"
mkdir -p "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
"$installed" --generate-completion-script bash > "$prefix/share/bash-completion/completions/strata"
"$installed" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_strata"
"$installed" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/strata.fish"

if (( manual )); then
    echo "generating the manual ..." >&2
    # argument-parser's generator writes under .build/plugins/GenerateManual/outputs.
    swift package plugin --allow-writing-to-package-directory generate-manual >&2
    page="$(find .build/plugins/GenerateManual/outputs -name 'strata.1' | head -1)"
    [[ -n "$page" ]] || { echo "install.sh: the manual generator wrote no strata.1" >&2; exit 1; }
    install -D -m 644 "$page" "$prefix/share/man/man1/strata.1"
fi

echo "installed $installed (tutorials, completions$( (( manual )) && echo ", manual")) under $prefix"
