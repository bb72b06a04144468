#!/usr/bin/env bash
# The man pages as configured into BUILD/docs/man: groff (and mandoc, where
# installed) find nothing to warn about; each page's .TH, NAME and version
# are right; every alias page points at a page that exists; every function a
# man3 page names or shows in its SYNOPSIS is declared in include/farcall/;
# far(1) documents every subcommand and option far's --help texts name and
# no other; fargen(1) and farbind(8) document no option the tools do not
# have.
# usage: check.sh BUILD_DIR SOURCE_DIR PROJECT_VERSION
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR SOURCE_DIR PROJECT_VERSION}
src=${2:?} version=${3:?}
man=$build/docs/man
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pages=()
for f in "$man"/man[138]/*.[138]; do
  head -1 "$f" | grep -q '^\.so ' || pages+=("$f")
done
[ ${#pages[@]} -ge 9 ] || fail "only ${#pages[@]} pages in $man"
command -v groff >/dev/null || { echo "FAIL: groff not installed (scripts/deps.sh installs groff-base)"; exit 1; }

for f in "${pages[@]}"; do
  name=$(basename "$f")
  base=${name%.*} sect=${name##*.}
  dir=$(basename "$(dirname "$f")")
  [ "$dir" = "man$sect" ] || fail "$name is in $dir"
  warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1) || fail "$name: groff failed"
  [ -z "$warn" ] || fail "$name: groff warns: $warn"
  if command -v mandoc >/dev/null; then
    warn=$(mandoc -Tlint -W warning "$f" 2>&1) || true
    [ -z "$warn" ] || fail "$name: mandoc warns: $warn"
  fi
  th=$(head -1 "$f")
  upper=$(echo "$base" | tr a-z A-Z)
  [[ $th == ".TH $upper $sect "* ]] || fail "$name: .TH line is '$th'"
  [[ $th == *"\"farcall $version\""* ]] || fail "$name: .TH does not carry version $version: $th"
  grep -q '@PROJECT_VERSION@' "$f" && fail "$name: @PROJECT_VERSION@ left unconfigured"
  # NAME: "name[, name...] \- description", the page's own name first
  nm=$(awk '/^\.SH NAME$/ {on = 1; next} /^\.SH/ {on = 0} on' "$f" | tr '\n' ' ')
  [[ $nm == "$base"[,\ ]*'\- '* ]] || fail "$name: NAME section is '$nm'"
  for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
    grep -q "^\.SH $s\$" "$f" || fail "$name: no $s section"
  done
  # pages of this project it refers to exist
  for ref in $(grep -oE '^\.BR (far|fargen|farbind|farcall[a-z_]*) \([138]\)' "$f" |
               sed -E 's/^\.BR ([a-z_]+) \(([138])\)/\1.\2/'); do
    [ -f "$man/man${ref##*.}/$ref" ] || fail "$name: refers to $ref, which does not exist"
  done
done
echo "checked ${#pages[@]} pages: groff -ww$(command -v mandoc >/dev/null && echo ', mandoc -Tlint'), .TH, NAME, sections, references"

# alias pages: each points at a real page
aliases=0
for f in "$man"/man3/*.3; do
  head -1 "$f" | grep -q '^\.so ' || continue
  aliases=$((aliases + 1))
  target=$(head -1 "$f" | sed 's/^\.so //')
  [ -f "$man/$target" ] || fail "$(basename "$f") points at $target, which does not exist"
  ( cd "$man" && groff -s -man -Tutf8 -ww -z "man3/$(basename "$f")" 2>&1 | grep -q . ) &&
    fail "$(basename "$f"): groff warns through .so"
done
[ $aliases -ge 50 ] || fail "only $aliases alias pages"
echo "checked $aliases alias pages"

# man3: every function named (NAME) or shown (SYNOPSIS) is a public one
decls=$(cat "$src"/include/farcall/*.h)
for f in "$man"/man3/farcall*.3; do
  head -1 "$f" | grep -q '^\.so ' && continue
  named=$(awk '/^\.SH NAME$/ {on = 1; next} /^\.SH/ {on = 0} on' "$f" | grep -oE '\bfar_[a-z0-9_]+' || true)
  shown=$(awk '/^\.SH SYNOPSIS$/ {on = 1; next} /^\.SH/ {on = 0} on' "$f" |
          grep -oE '\bfar_[a-z0-9_]+\(' | tr -d '(' || true)
  for fn in $named $shown; do
    grep -qE "\b$fn\(" <<<"$decls" || fail "$(basename "$f") names $fn, which no header declares"
  done
done
echo "checked the functions the man3 pages name against include/farcall/*.h"
# and the other way: a public function no page names is reported (not a
# failure: a header may gain a function before its page does)
named_all=$(for f in "$man"/man3/farcall*.3; do
              awk '/^\.SH NAME$/ {on = 1; next} /^\.SH/ {on = 0} on' "$f"
            done | grep -oE '\bfar_[a-z0-9_]+' | sort -u)
for fn in $(grep -ohE '^[A-Za-z_ ]*\*?(far_[a-z0-9_]+)\(' "$src"/include/farcall/*.h |
            grep -oE 'far_[a-z0-9_]+\($' | tr -d '(' | sort -u); do
  case $fn in far__* | *_encode_any | *_decode_any) continue ;; esac # internal; the adapters are one family
  grep -qx "$fn" <<<"$named_all" || echo "NOTE: $fn is in no man page's NAME section (docs/man)"
done

# far(1) against far's own help texts, both ways
FAR=$build/tools/far/far
far1=$man/man1/far.1
subs=$("$FAR" --help | sed -n 's/^  \([a-z]*\): .*/\1/p')
[ -n "$subs" ] || fail "far --help lists no subcommands"
for sub in $subs; do
  grep -q "^\.B far $sub\b\|^\.BR \"far $sub \|^\.BI \"far $sub " "$far1" || fail "far.1 does not document far $sub"
  for opt in $("$FAR" $sub --help | grep -oE '(^| |\[)-[a-zA-Z]\b' | tr -d ' [' | sort -u); do
    grep -q "\\\\${opt}" "$far1" || fail "far.1 does not document far $sub $opt"
  done
done
for sub in $(grep -oE '^\.(B|BR|BI) "?far [a-z]+' "$far1" | awk '{print $NF}' | sort -u); do
  grep -qx "$sub" <<<"$subs" || fail "far.1 documents far $sub, which far --help does not list"
done
for verb in $(grep -oE '^\.(B|BR|BI) "?far name [a-z]+' "$far1" | awk '{print $NF}' | sort -u); do
  "$FAR" name --help | grep -q "far name $verb " || fail "far.1 documents far name $verb, which far name --help does not"
done
for opt in $(grep -oE '^\.(B|BI|BR) \\-[a-zA-Z]\b' "$far1" | sed 's/.*\\//' | sort -u); do
  case $opt in -h | -V) continue ;; esac # far's own: far --help lists them
  found=0
  for sub in $subs; do "$FAR" $sub --help | grep -qE "(^| |\[)$opt\b" && found=1; done
  [ $found = 1 ] || fail "far.1 documents $opt, which no far SUBCOMMAND --help names"
done
"$FAR" --help | grep -q -- "--version" || fail "far --help does not mention --version"
echo "checked far.1 against far --help and far SUBCOMMAND --help"

# fargen(1), farbind(8): every option the page documents is one the tool has
check_opts() { # PAGE HELP-TEXT
  local page=$1 help=$2 opt
  for opt in $(awk '/^\.SH OPTIONS$/ {on = 1; next} /^\.SH/ {on = 0} on' "$page" |
               grep -oE '^\.(B|BI|BR) \\-\\?-?[a-zA-Z][a-zA-Z\\-]*' | sed 's/^\.[A-Z]* //; s/\\//g'); do
    grep -qE -- "(^|[ ,\[])$opt\b" <<<"$help" || fail "$(basename "$page") documents $opt, which its --help does not name"
  done
}
# (only their help texts are wanted here: a leak report of a sanitizer build
# must not replace them)
check_opts "$man/man1/fargen.1" "$(ASAN_OPTIONS=detect_leaks=0 "$build/tools/fargen/fargen" --help)"
check_opts "$man/man8/farbind.8" "$(ASAN_OPTIONS=detect_leaks=0 "$build/tools/farbind/farbind" -h)"
echo "checked the options of fargen.1 and farbind.8 against fargen --help and farbind -h"

if [ $fails -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "PASS: man pages"
