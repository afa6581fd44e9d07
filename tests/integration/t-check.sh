#!/usr/bin/env bash
# t-check: `homegwd --check` on the shipped example, the lab config and
# broken files: exit status, and every error as FILE:LINE:COL in one run.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

check_rc "--version exits 0" 0 "$HOMEGWD" --version
check_eq "--version prints the version" "homegwd 0.1.0" "$OUT"

# ---- etc/homegw.conf: the commented example of every section ----
# Every module is built: the example loads with no error (warnings, such as
# a pool outside an interface's current subnet, are allowed and shown).
example=$HGT_ROOT/etc/homegw.conf
if [[ ! -f $example ]]; then
	fatal "etc/homegw.conf exists"
fi
check_rc "--check etc/homegw.conf: exit 0" 0 "$HOMEGWD" --check -c "$example"
check_eq "--check etc/homegw.conf: no error" "" "$(grep -v -i '^warning' <<<"$ERR" | grep -v '^$' || true)"
warnings=$(grep -i 'warning' <<<"$ERR" || true)
[[ -z $warnings ]] || note "warnings (allowed): $warnings"

# ---- etc/lab.conf: what scripts/lab.sh runs ----
# Nothing on stderr at all: every interface is used (nat masquerades wan).
lab=$HGT_ROOT/etc/lab.conf
check_rc "--check etc/lab.conf: exit 0" 0 "$HOMEGWD" --check -c "$lab"
check_eq "--check etc/lab.conf: nothing on stderr" "" "$ERR"

# ---- a file with several errors: all of them, in one run ----
broken=$HGT_TMP/broken.conf
cat >"$broken" <<'EOF'
# broken on purpose: one error per line below
log-level loud
interface lan { device veth-lan }
interface lan { device veth-other }
interface wan { }
frobnicate yes
control { socket }
EOF
check_rc "--check broken file: exit 1" 1 "$HOMEGWD" --check -c "$broken"
broken_err=$ERR
broken_re=$(re_quote "$broken")
check_match "--check broken file: bad log-level at 2:11, naming the word" \
	"(^|$NL)$broken_re:2:11: [^$NL]*loud" "$broken_err"
check_match "--check broken file: duplicate interface on line 4" "(^|$NL)$broken_re:4:[0-9]+: [^$NL]*lan" "$broken_err"
check_match "--check broken file: interface without device on line 5" \
	"(^|$NL)$broken_re:5:[0-9]+: [^$NL]*device" "$broken_err"
check_match "--check broken file: unknown keyword at 6:1, naming it" \
	"(^|$NL)$broken_re:6:1: [^$NL]*frobnicate" "$broken_err"
check_match "--check broken file: socket without a path on line 7" "(^|$NL)$broken_re:7:[0-9]+: " "$broken_err"
n=$(grep -c -E "^$broken_re:[0-9]+:[0-9]+: " <<<"$broken_err" || true)
check_eq "--check broken file: five errors in one run" 5 "$n"

# ---- a syntax error: still FILE:LINE:COL ----
syntax=$HGT_TMP/syntax.conf
printf 'log-level info\ninterface lan { device "veth-lan }\n' >"$syntax"
check_rc "--check unterminated string: exit 1" 1 "$HOMEGWD" --check -c "$syntax"
syntax_re=$(re_quote "$syntax")
check_match "--check unterminated string: error at line 2" "(^|$NL)$syntax_re:2:[0-9]+: " "$ERR"

# ---- a file that does not exist ----
check_rc "--check missing file: exit 1" 1 "$HOMEGWD" --check -c "$HGT_TMP/nonexistent.conf"
check_contains "--check missing file: the error names the file" "$HGT_TMP/nonexistent.conf" "$ERR"

# ---- a good file is silent ----
good=$HGT_TMP/good.conf
printf 'log-level info\nstate-dir %s\ncontrol { socket %s }\n' "$HGT_STATE" "$HGT_SOCK" >"$good"
check_rc "--check good file: exit 0" 0 "$HOMEGWD" --check -c "$good"
check_eq "--check good file: nothing on stderr" "" "$ERR"

hgt_done
