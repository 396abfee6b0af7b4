#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# type.sh BLOCK TRANSCRIPT [LINE_TIMEOUT]: type the shell block BLOCK, line
# by line, into an interactive bash on a pseudo-terminal, as a person at a
# terminal would: each line only once the shell has prompted for it, with
# job control, so `cmd &` runs in a background process group. The session
# (prompts, echoed input, everything printed) goes to TRANSCRIPT; the
# caller (tests/readme/readme.py) reads it.
#
# The prompts carry the last exit status: "@@ps1 STATUS@@ " (PS2:
# "@@ps2@@ "). After the block the driver types `wait` (background jobs
# get LINE_TIMEOUT seconds to end; bash reports how each ended) and
# `exit`. TRANSCRIPT.result says how it went: "done", or "timeout N"
# when line N (0: the first prompt, "wait": the jobs) got no prompt
# within LINE_TIMEOUT seconds (default 300), followed by a line
# "stopped: NAME[PID] ..." naming the session's stopped processes (a job
# stopped by SIGTTOU/SIGTTIN, say); the driver then ends the session's
# processes.
#
# Runs here and inside the emulated host of tests/e2e/x86_64.sh (with
# bash, script(1) and their libraries in its initramfs). Exit status 0
# once the session is over, 2 on a usage error.
set -u

block=${1:?usage: type.sh BLOCK TRANSCRIPT [LINE_TIMEOUT]}
transcript=${2:?usage: type.sh BLOCK TRANSCRIPT [LINE_TIMEOUT]}
limit=${3:-300}
# a person's pause between seeing the prompt and typing the next line
readonly THINK=0.5

dir=$(mktemp -d "${TMPDIR:-/tmp}/readme-type.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/in"
: >"$transcript"
result="done"

# script(1) gives bash a pty and a session of its own; its stdin (the
# FIFO) is what we type. TERM=dumb: no escape sequences; --noediting: no
# readline, the tty echoes what we type.
PS1='@@ps1 $?@@ ' PS2='@@ps2@@ ' TERM=dumb SHELL=/bin/sh \
	script -q -f -e -c 'exec bash --norc --noprofile --noediting -i' "$transcript" \
	<"$dir/in" >/dev/null 2>&1 &
script_pid=$!
exec 3>"$dir/in"

prompts() { grep -o '@@ps[12][^@]*@@' "$transcript" | wc -l; }

# Wait until the transcript has $1 prompts; 1 on timeout or a gone shell.
await() {
	local n=$1 ticks=0
	while (($(prompts) < n)); do
		kill -0 "$script_pid" 2>/dev/null || return 1
		((ticks++ < limit * 10)) || return 1
		sleep 0.1
	done
}

# The session's processes: those in the session of script's child (the
# shell), found by their session id.
session_pids() {
	local sid=$1 p stat rest f
	for p in /proc/[0-9]*; do
		read -r stat 2>/dev/null <"$p/stat" || continue
		rest=${stat##*) }
		# fields after "(comm) ": state ppid pgrp session ...
		read -r -a f <<<"$rest"
		[[ ${f[3]:-} == "$sid" ]] && echo "${p#/proc/}"
	done
}

# The shell: script's child, which leads the pty's session.
shell_pid() {
	local p stat rest f
	for p in /proc/[0-9]*; do
		read -r stat 2>/dev/null <"$p/stat" || continue
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		[[ ${f[1]:-} == "$script_pid" ]] && { echo "${p#/proc/}"; return; }
	done
}

# "NAME[PID]" of each stopped process of the session.
stopped_pids() {
	local p stat rest
	for p in $(session_pids "$sid"); do
		read -r stat 2>/dev/null <"/proc/$p/stat" || continue
		rest=${stat##*) }
		[[ ${rest%% *} == T ]] || continue
		stat=${stat#*(}
		printf '%s[%s] ' "${stat%%)*}" "$p"
	done
}

end_session() {
	local pids
	if [[ $result == timeout* && -n $sid ]]; then
		result+=$'\n'"stopped: $(stopped_pids)"
	fi
	if [[ -n $sid ]]; then
		pids=$(session_pids "$sid")
		# shellcheck disable=SC2086 # a list of pids
		[[ -z $pids ]] || kill -KILL $pids 2>/dev/null
	fi
	kill "$script_pid" 2>/dev/null
}

mapfile -t lines <"$block"
typed=1
ok=1
sid=
if await 1; then
	sid=$(shell_pid)
else
	result="timeout 0"
	ok=0
fi
for ((i = 0; ok && i < ${#lines[@]}; i++)); do
	sleep "$THINK"
	printf '%s\n' "${lines[i]}" >&3
	typed=$((typed + 1))
	if ! await "$typed"; then
		result="timeout $((i + 1))"
		ok=0
	fi
done

if ((ok)); then
	printf 'wait\n' >&3
	typed=$((typed + 1))
	if ! await "$typed"; then
		result="timeout wait"
		ok=0
	fi
fi
if ((ok)); then
	# (a second exit if bash objects to stopped jobs)
	printf 'exit\n' >&3
	sleep 1
	kill -0 "$script_pid" 2>/dev/null && printf 'exit\n' >&3
	for _ in $(seq 50); do
		kill -0 "$script_pid" 2>/dev/null || break
		sleep 0.1
	done
fi
end_session
exec 3>&-
wait "$script_pid" 2>/dev/null
echo "$result" >"$transcript.result"
exit 0
