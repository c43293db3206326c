#!/usr/bin/env bash
# Builds the checks of docs/implementations.md and runs each natively and under the
# implementations it concerns: every deviation of examples/baselines/*.json shows here
# without forkspec. Usage: examples/baselines/checks/run.sh [valgrind|proot|strace]...
set -u
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O1 -o "$out/valgrind_checks" valgrind_checks.c || exit 2
cc -O1 -o "$out/vfork_parent_fatal_signal" vfork_parent_fatal_signal.c || exit 2
cc -O1 -o "$out/nsinit_fault" nsinit_fault.c || exit 2
cc -O1 -o "$out/clone3_fs" clone3_fs.c || exit 2
cc -O1 -pthread -o "$out/thread_exec" thread_exec.c || exit 2
cc -O1 -o "$out/stop_child" stop_child.c || exit 2
run() { # run LABEL PREFIX... -- PROGRAM ARGS...
  echo "== $1"; shift
  (cd "$out" && "$@") 2>&1 | grep -v '^==[0-9]*== \|^--[0-9]*-- \|talloc\|Tracee'
}
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(valgrind proot strace)
for t in "${tools[@]}"; do
  case $t in
    valgrind)
      run "native" ./valgrind_checks
      run "native" ./valgrind_checks clone_files
      run "valgrind" valgrind -q --trace-children=yes ./valgrind_checks
      run "valgrind (aborts)" valgrind -q --trace-children=yes ./valgrind_checks clone_files ;;
    proot)
      for p in "" proot; do
        for c in vfork_parent_fatal_signal nsinit_fault clone3_fs thread_exec stop_child; do
          run "${p:-native}: $c" $p ./$c
        done
      done ;;
    strace)
      for c in vfork_parent_fatal_signal nsinit_fault; do
        run "native: $c" ./$c
        run "strace -f: $c" strace -f -o /dev/null ./$c
      done ;;
    *) echo "unknown implementation $t" >&2; exit 2 ;;
  esac
done
