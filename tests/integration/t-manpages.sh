#!/usr/bin/env bash
# t-manpages: the manual pages in daemon/man against the programs they
# describe, so a keyword, flag or command cannot change without its page.
#   1. homegw.conf(5): every keyword the config parser accepts, in every
#      section, is documented there, and every keyword documented there is
#      accepted. The parser's keywords are found by probing `homegwd --check`
#      with generated files (nothing is added to the daemon): a word it does
#      not know gets `unknown keyword "WORD"`. Inside the section of a module
#      not built yet the parser says only "not supported yet", so those
#      sections are compared with CONFIG.md's keyword list instead (skipped,
#      with a note, when ../shared/CONFIG.md is not there). The BUGS list of
#      such sections and the example file are checked against the daemon too.
#   2. every flag of `homegwd --help` and `homegwctl --help` is under
#      OPTIONS of its page, every command of `homegwctl --help` is under
#      COMMANDS, every environment variable the programs read is under
#      ENVIRONMENT, and a running homegwd knows exactly the commands the page
#      does not mark "not in this build yet".
#   3. the pages render without warnings (groff -ww, man --warnings as
#      lintian runs it, mandoc -Tlint when installed).
# No network: the one daemon started runs in a namespace of its own.
#
# Environment: HOMEGW_MAN_DIR (default daemon/man) and HOMEGW_SHARED (default
# ../shared, the folder of CONFIG.md and CONTROL.md) to check other copies.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"

MAN_DIR=${HOMEGW_MAN_DIR:-$HGT_ROOT/daemon/man}
SHARED=${HOMEGW_SHARED:-$HGT_ROOT/../shared}
CONF_PAGE=$MAN_DIR/homegw.conf.5
D_PAGE=$MAN_DIR/homegwd.8
CTL_PAGE=$MAN_DIR/homegwctl.8

for page in "$CONF_PAGE" "$D_PAGE" "$CTL_PAGE"; do
	[[ -f $page ]] || fatal "$page exists"
done
command -v groff >/dev/null || fatal "groff is installed (groff-base: it renders the pages)"

# ---- reading the pages -------------------------------------------------------------

# The roff escapes the pages use, resolved to the text a user copies.
# shellcheck disable=SC2016 # awk code
AWK_UNESC='
function unesc(s) {
	gsub(/\\f(\[[^]]*\]|\(..|.)/, "", s)
	gsub(/\\-/, "-", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\\(aq/, "\047", s)
	gsub(/\\[&%]/, "", s)
	gsub(/\\~/, " ", s)
	gsub(/\\e/, "\\", s)
	return s
}
# The first argument of a macro line: a "quoted" one or a word.
function first_arg(line) {
	sub(/^\.[A-Za-z]+[ \t]*/, "", line)
	if (substr(line, 1, 1) == "\"") {
		line = substr(line, 2)
		sub(/".*/, "", line)
	} else {
		sub(/[ \t].*/, "", line)
	}
	return line
}
function trim(s) {
	gsub(/^[ \t]+|[ \t]+$/, "", s)
	return s
}
function heading(line) {
	sub(/^\.S[HS][ \t]*/, "", line)
	gsub(/"/, "", line)
	return trim(unesc(line))
}
'

# page_keywords: "SECTION<TAB>KEYWORD" for every keyword homegw.conf(5)
# documents. Under SECTIONS an .SS names a section by its first word
# ("Global": the top level, whose heads the other .SS also are; "host NAME
# ... inside dhcp": the block "dhcp host"); a keyword is a .TP whose tag
# starts with it in bold. Under SYNTAX such a .TP is a statement valid
# everywhere (include), reported as section "*".
page_keywords() {
	awk "$AWK_UNESC"'
	/^\.SH/ { sh = heading($0); sec = ""; tp = 0; next }
	/^\.SS/ && sh == "SECTIONS" {
		h = heading($0)
		split(h, w, " ")
		if (w[1] == "Global") {
			sec = "top"
		} else if (match(h, / inside [a-z][a-z0-9-]*$/)) {
			sec = substr(h, RSTART + 8) " " w[1]
		} else {
			sec = w[1]
			print "top\t" sec
		}
		tp = 0
		next
	}
	/^\.TP/ { tp = 1; next }
	tp {
		tp = 0
		if ($0 !~ /^\.(B|BI|BR)[ \t]/)
			next
		if (sh == "SECTIONS" && sec != "" || sh == "SYNTAX") {
			split(trim(unesc(first_arg($0))), w, " ")
			print (sh == "SYNTAX" ? "*" : sec) "\t" w[1]
		}
	}' "$CONF_PAGE"
}

# The sections the BUGS paragraph of homegw.conf(5) says are not in this
# build: the bold words from "The sections" to "belong to the language".
page_unbuilt_sections() {
	awk "$AWK_UNESC"'
	/^\.SH/ { sh = heading($0); on = 0; next }
	sh == "BUGS" && /^The sections?$/ { on = 1; next }
	on && /belongs? to the language/ { on = 0; next }
	on && /^\.BR?[ \t]/ { print unesc(first_arg($0)) }' "$CONF_PAGE" | sort -u
}

# The example file of homegw.conf(5): the first .EX block under EXAMPLES.
page_example() {
	awk "$AWK_UNESC"'
	/^\.SH/ { sh = heading($0); next }
	sh == "EXAMPLES" && /^\.EX/ && !done { on = 1; next }
	on && /^\.EE/ { on = 0; done = 1; next }
	on { print unesc($0) }' "$CONF_PAGE"
}

# page_commands: "COMMAND<TAB>UNBUILT<TAB>ADMIN<TAB>CLIENT" for every
# command of homegwctl(8): a .TP under COMMANDS whose tag's first argument is
# the command's words; UNBUILT is 1 under an .SS saying "not in this build
# yet", ADMIN is 1 when the tag says "(admin)", CLIENT is 1 under an .SS
# saying "Composed by homegwctl" (homegwctl answers it from other commands).
page_commands() {
	awk "$AWK_UNESC"'
	/^\.SH/ { sh = heading($0); unbuilt = 0; client = 0; tp = 0; next }
	/^\.SS/ && sh == "COMMANDS" {
		unbuilt = ($0 ~ /not in this build yet/)
		client = ($0 ~ /Composed by homegwctl/)
		next
	}
	/^\.TP/ { tp = 1; next }
	tp {
		tp = 0
		if (sh == "COMMANDS" && $0 ~ /^\.(B|BI|BR)[ \t]/)
			print trim(unesc(first_arg($0))) "\t" unbuilt "\t" ($0 ~ /\(admin\)/) "\t" client
	}' "$CTL_PAGE"
}

# render PAGE: the page as plain ASCII text (no bold, underline or
# overstrike), as wide as needed to keep a flag and its argument on one line.
render() {
	groff -man -Tascii -P-c -P-b -P-u -rLL=200n "$1" 2>/dev/null
}

# section_text PAGE HEADING: the rendered text of one .SH section.
section_text() {
	render "$1" | awk -v h="$2" '/^[A-Z]/ { on = ($0 == h); next } on'
}

# ---- reading CONFIG.md -------------------------------------------------------------

# config_md_keywords FILE: "SECTION<TAB>KEYWORD" from the code blocks of
# CONFIG.md's "## Sections" (statements, with their blocks nested).
config_md_keywords() {
	awk '
	function path(  p, i) {
		if (depth == 0)
			return "top"
		p = stack[1]
		for (i = 2; i <= depth; i++)
			p = p " " stack[i]
		return p
	}
	/^## / { on = ($0 ~ /^## Sections/); depth = 0; next }
	!on { next }
	/^(    |\t)/ {
		line = $0
		gsub(/"([^"\\]|\\.)*"/, "Q", line) # strings first: no "#", "{" inside them
		sub(/#.*/, "", line)
		gsub(/[{};]/, " & ", line)
		n = split(line, t, /[ \t]+/)
		start = 1
		for (i = 1; i <= n; i++) {
			if (t[i] == "")
				continue
			if (t[i] == ";" || t[i] == "}") {
				if (t[i] == "}" && depth > 0)
					depth--
				start = 1
			} else if (t[i] == "{") {
				stack[++depth] = kw
				start = 1
			} else if (start) {
				kw = t[i]
				print path() "\t" kw
				start = 0
			}
		}
		next
	}
	/^[^ \t]/ { depth = 0 }' "$1" | sort -u
}

# ---- 1. the keywords of the config parser ----------------------------------------

# A word that is no keyword anywhere: each batch must get "unknown keyword"
# for it, or the batch proved nothing.
CANARY=zzq-no-such-keyword
# Well under CF_MAX_ERRORS (200) errors per file: a known keyword without
# its arguments costs at most two.
BATCH=80

# probe_context SECTION: the lines before and after the probed words.
probe_context() {
	case $1 in
	top) PRE='' POST='' ;;
	interface) PRE='interface lan {' POST='}' ;;
	control) PRE='control {' POST='}' ;;
	dhcp) PRE=$'interface lan { device eth0 }\ndhcp lan {' POST='}' ;;
	"dhcp host") PRE=$'interface lan { device eth0 }\ndhcp lan {\nhost h {' POST=$'}\n}' ;;
	dhcp-relay) PRE=$'interface guest { device eth1 }\ndhcp-relay guest {' POST='}' ;;
	dns | nat | igmp-proxy) PRE="$1 {" POST='}' ;;
	*) return 1 ;;
	esac
}

# probe SECTION WORD...: sets ACCEPTED to the words the parser takes as
# keywords in SECTION and PROBE to "ok", "unsupported" (the section's module
# is not built: "not supported yet") or "broken" (with PROBE_WHY).
probe() {
	local sec=$1 file err first i unknown
	shift
	local -a words=("$@") batch
	ACCEPTED=()
	PROBE=ok
	PROBE_WHY=
	probe_context "$sec"
	for ((i = 0; i < ${#words[@]}; i += BATCH)); do
		batch=("$CANARY" "${words[@]:i:BATCH}")
		file=$HGT_TMP/probe.conf
		{
			[[ -z $PRE ]] || printf '%s\n' "$PRE"
			printf '%s\n' "${batch[@]}"
			[[ -z $POST ]] || printf '%s\n' "$POST"
		} >"$file"
		first=1
		[[ -z $PRE ]] || first=$(($(wc -l <<<"$PRE") + 1))
		err=$("$HOMEGWD" --check -c "$file" 2>&1 >/dev/null) || true
		if [[ $err == *"too many errors"* ]]; then
			PROBE=broken PROBE_WHY="more errors than homegwd reports in one run; lower BATCH"
			return
		fi
		# "LINE WORD" of every unknown keyword (the file name has no ':')
		unknown=$(awk -F: -v f="$file" '
			$1 == f && match($0, /unknown keyword "[^"]*"/) {
				print $2, substr($0, RSTART + 17, RLENGTH - 18)
			}' <<<"$err")
		if ! grep -qx "$first $CANARY" <<<"$unknown"; then
			if [[ $err == *": not supported yet"* ]]; then
				PROBE=unsupported
			else
				PROBE=broken
				PROBE_WHY="\"$CANARY\" was not reported unknown: $(head -n 5 <<<"$err")"
			fi
			return
		fi
		# the words of the batch on lines without their "unknown keyword"
		mapfile -t -O "${#ACCEPTED[@]}" ACCEPTED < <(
			awk -v first="$first" 'NR == FNR { unknown[$0] = 1; next }
				FNR > 1 && !((first + FNR - 1 " " $0) in unknown)' \
				<(printf '%s\n' "$unknown") <(printf '%s\n' "${batch[@]}"))
	done
}

# Every word that could be a keyword: the string literals of the sources
# (keyword tables are), the words of the binary, and whatever the page and
# CONFIG.md call keywords. Probing decides which are.
mapfile -t page_kw < <(page_keywords)
config_md=
if [[ -f $SHARED/CONFIG.md ]]; then
	config_md=$SHARED/CONFIG.md
	mapfile -t md_kw < <(config_md_keywords "$config_md")
	((${#md_kw[@]} > 20)) || fatal "CONFIG.md's keywords are read" "only ${#md_kw[@]} from $config_md"
else
	md_kw=()
	note "no $SHARED/CONFIG.md: the sections of modules not built yet cannot be checked"
fi
((${#page_kw[@]} > 20)) || fatal "homegw.conf(5)'s keywords are read" "only ${#page_kw[@]} from $CONF_PAGE"

mapfile -t candidates < <(
	{
		cat "$HGT_ROOT"/daemon/*.[ch] "$HGT_ROOT"/modules/*/*.[ch] 2>/dev/null |
			grep -oE '"[a-z][a-z0-9-]*"' | tr -d '"' || true
		grep -aoE '[a-z][a-z0-9-]+' "$HOMEGWD" || true
		printf '%s\n' "${page_kw[@]}" "${md_kw[@]}" | cut -f2
	} | grep -E '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' | awk 'length($0) <= 32' | sort -u
)
note "probing ${#candidates[@]} candidate words in every section"

# words_of LIST SECTION: the keywords of SECTION in a "SECTION<TAB>KEYWORD" list.
words_of() {
	awk -F'\t' -v s="$2" '$1 == s { print $2 }' <<<"$1" | sort -u
}

# missing_from HAVE WANT: the words of WANT (one a line) not in HAVE.
missing_from() {
	comm -13 <(sort -u <<<"$1") <(sort -u <<<"$2") | grep -v '^$' || true
}

page_list=$(printf '%s\n' "${page_kw[@]}")
md_list=$(printf '%s\n' "${md_kw[@]}")
everywhere=$(words_of "$page_list" '*')
check_contains "homegw.conf(5) documents include under SYNTAX" "include" "$everywhere"

sections=(top interface control dhcp "dhcp host" dhcp-relay dns nat igmp-proxy)
unsupported=()
for sec in "${sections[@]}"; do
	probe "$sec" "${candidates[@]}"
	page_sec=$(words_of "$page_list" "$sec")
	case $PROBE in
	broken)
		fail "probing the parser in section \"$sec\"" "$PROBE_WHY"
		continue
		;;
	unsupported)
		unsupported+=("$sec")
		if [[ -z $config_md ]]; then
			note "section \"$sec\": its module is not built and there is no CONFIG.md: skipped"
			continue
		fi
		md_sec=$(words_of "$md_list" "$sec")
		[[ -n $md_sec ]] || fail "CONFIG.md has keywords for section \"$sec\""
		check_eq "section \"$sec\" (module not built): CONFIG.md's keywords are in homegw.conf(5)" \
			"" "$(missing_from "$page_sec" "$md_sec")"
		check_eq "section \"$sec\" (module not built): homegw.conf(5)'s keywords are CONFIG.md's" \
			"" "$(missing_from "$md_sec" "$page_sec")"
		;;
	ok)
		accepted=$(printf '%s\n' "${ACCEPTED[@]}" | sort -u)
		note "section \"$sec\": the parser accepts $(tr '\n' ' ' <<<"$accepted")"
		# include is the parser's, valid in every block: documented under SYNTAX
		documented=$(printf '%s\n%s\n' "$page_sec" "$everywhere")
		check_eq "section \"$sec\": every keyword the parser accepts is in homegw.conf(5)" "" \
			"$(missing_from "$documented" "$accepted")"
		check_eq "section \"$sec\": every keyword in homegw.conf(5) is accepted by the parser" "" \
			"$(missing_from "$accepted" "$documented")"
		;;
	esac
done

# The BUGS sentence names exactly the top-level sections whose module is
# not built (nested blocks follow their section).
probed_unbuilt=$(printf '%s\n' "${unsupported[@]}" | grep -v ' ' | sort -u || true)
check_eq "homegw.conf(5) BUGS names the sections that are \"not supported yet\"" \
	"$probed_unbuilt" "$(page_unbuilt_sections)"

# The example file loads, but for the sections of modules not built.
example=$HGT_TMP/example.conf
page_example >"$example"
[[ -s $example ]] || fail "homegw.conf(5) has an example file (the first .EX under EXAMPLES)"
rc=0
err=$("$HOMEGWD" --check -c "$example" 2>&1 >/dev/null) || rc=$?
errors=$(grep -v '^warning: ' <<<"$err" || true)
check_eq "homegw.conf(5) EXAMPLES: no error but \"not supported yet\"" "" \
	"$(grep -v ': not supported yet$' <<<"$errors" || true)"
check_eq "homegw.conf(5) EXAMPLES: homegwd --check exits 1 exactly when it reports errors" \
	"$([[ -n $errors ]] && echo 1 || echo 0)" "$rc"

# ---- 2. flags, commands and environment ----------------------------------------

# help_flags PROGRAM: every -x and --xyz its --help names.
help_flags() {
	"$1" --help | grep -oE '(^|[[:space:][])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[[:space:][]*//' | sort -u
}

# check_flags PROGRAM PAGE: each flag as a word under OPTIONS.
check_flags() {
	local prog=$1 page=$2 opts flags f name
	name=$(basename "$prog")
	opts=$(section_text "$page" OPTIONS)
	flags=$(help_flags "$prog")
	[[ -n $flags ]] || fail "$name --help names flags"
	for f in $flags; do
		if grep -qE -- "(^|[^[:alnum:]-])$f([^[:alnum:]-]|\$)" <<<"$opts"; then
			pass "$name $f is under OPTIONS of $(basename "$page")"
		else
			fail "$name $f is under OPTIONS of $(basename "$page")"
		fi
	done
}
check_flags "$HOMEGWD" "$D_PAGE"
check_flags "$HOMEGWCTL" "$CTL_PAGE"

# The commands `homegwctl --help` lists ("Commands: a, b ARG, c [ARG]."),
# as their words.
help_commands=$("$HOMEGWCTL" --help | tr '\n' ' ' | sed -n 's/.*Commands: \([^.]*\)\..*/\1/p' |
	tr ',' '\n' | sed -E 's/\[[^]]*\]//g; s/\b[A-Z]+\b//g; s/[[:space:]]+/ /g; s/^ //; s/ $//' |
	grep -v '^$' | sort -u)
[[ -n $help_commands ]] || fail "homegwctl --help lists its commands"
page_cmds=$(page_commands)
page_cmd_names=$(cut -f1 <<<"$page_cmds" | sort -u)
check_eq "homegwctl(8) COMMANDS: every command of homegwctl --help" "" \
	"$(missing_from "$page_cmd_names" "$help_commands")"
check_eq "homegwctl(8) COMMANDS: nothing homegwctl --help does not list" "" \
	"$(missing_from "$help_commands" "$page_cmd_names")"

if [[ -f $SHARED/CONTROL.md ]]; then
	# the table rows: | `command ARGS` *admin* | answer |
	# as "COMMAND<TAB>ADMIN", without the arguments
	md_cmds=$(grep -E '^\| `' "$SHARED/CONTROL.md" |
		sed -E 's/^\| `([^`]*)`( \*admin\*)? \|.*/\1\t\2/; s/ \[?[A-Z]+\]?//g' |
		sed -E 's/\t \*admin\*$/\t1/; s/\t$/\t0/')
	check_eq "homegwctl(8) COMMANDS: every command of CONTROL.md" "" \
		"$(missing_from "$page_cmd_names" "$(cut -f1 <<<"$md_cmds")")"
	check_eq "homegwctl(8): \"(admin)\" on exactly CONTROL.md's admin commands" \
		"$(awk -F'\t' '$2 == 1 { print $1 }' <<<"$md_cmds" | sort)" \
		"$(awk -F'\t' '$3 == 1 { print $1 }' <<<"$page_cmds" | sort)"
else
	note "no $SHARED/CONTROL.md: commands not compared with it"
fi

# check_env PROGRAM PAGE SOURCE...: every variable the sources getenv() is
# under ENVIRONMENT of the page.
check_env() {
	local prog=$1 page=$2 vars envtext v
	shift 2
	vars=$(cat "$@" | grep -oE 'getenv\("[A-Za-z_][A-Za-z0-9_]*"\)' | sed -E 's/getenv\("(.*)"\)/\1/' |
		sort -u || true)
	[[ -n $vars ]] || fail "$prog reads environment variables (getenv in its sources)"
	envtext=$(section_text "$page" ENVIRONMENT)
	for v in $vars; do
		check_match "$prog reads \$$v: it is under ENVIRONMENT of $(basename "$page")" \
			"(^|[^A-Z_])$v([^A-Z_]|\$)" "$envtext"
	done
}
daemon_sources=()
for f in "$HGT_ROOT"/daemon/*.c "$HGT_ROOT"/modules/*/*.c; do
	[[ -f $f && $f != */homegwctl.c ]] && daemon_sources+=("$f")
done
check_env homegwd "$D_PAGE" "${daemon_sources[@]}"
check_env homegwctl "$CTL_PAGE" "$HGT_ROOT/daemon/homegwctl.c"

# A running homegwd knows the commands of the page but those marked as of
# a module not built, and answers those "unknown command".
GW=$HGT_PREFIX-gw
hgt_netns "$GW"
hgt_config </dev/null
hgt_start "$GW"
hgt_wait_ready
while IFS=$'\t' read -r cmd unbuilt _ client; do
	# shellcheck disable=SC2086 # the command's words
	answer=$(ctl --json $cmd 2>/dev/null) || true
	if [[ $client == 1 ]]; then
		# homegwctl's own: it answers, from what the daemon answers
		check_jq "homegwctl answers \"$cmd\" itself" "$answer" '.ok == true and (.status.ok == true)'
		check_jq "homegwd itself does not know \"$cmd\" (it is homegwctl's)" "$(printf '%s\n' "$cmd" | raw_lines)" \
			'.ok == false and (.error | startswith("unknown command"))'
	elif [[ $unbuilt == 1 ]]; then
		check_jq "homegwd answers \"$cmd\" (marked not in this build) with unknown command" \
			"$answer" '.ok == false and (.error | startswith("unknown command"))'
	else
		check_jq "homegwd knows \"$cmd\"" "$answer" \
			'.ok or (.error | startswith("unknown command") | not)'
	fi
done <<<"$page_cmds"
hgt_stop TERM

# ---- 3. rendering ----------------------------------------------------------------

for page in "$CONF_PAGE" "$D_PAGE" "$CTL_PAGE"; do
	name=$(basename "$page")
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	check_eq "$name: groff -man -ww renders it without warnings" "" "$out"
	if command -v man >/dev/null; then
		# what lintian runs
		out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
			man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
		check_eq "$name: man --warnings at 80 columns is silent" "" "$out"
	fi
	if command -v mandoc >/dev/null; then
		out=$(mandoc -Tlint -W warning "$page" 2>&1)
		check_eq "$name: mandoc -Tlint finds nothing" "" "$out"
	else
		note "mandoc not installed: no mandoc -Tlint"
	fi
	title=$(awk '/^\.TH/ { print tolower($2) "." $3; exit }' "$page")
	check_eq "$name: .TH names the file" "$name" "$title"
done

hgt_done
