#!/usr/bin/env bash
# Real-world check: convert every compose file in the shared corpus (crash / error / invalid
# / non-deterministic output) and compare our output with Kompose's own expected manifests.
#
# NEEDS ../shared (the shared/ folder beside this repository: shared/corpus,
# shared/peers/kompose-cases and shared/tools). It is NOT part of `cargo test` or CI: the
# project builds and tests without shared/. Results are summarised in docs/status.md.
#
# Usage: scripts/corpus.sh [--check]
#   --check  exit 1 when a corpus file crashes, is invalid or non-deterministic, or a
#            parity case fails (default: report only, exit 0)
# Creates target/kv-venv (kubernetes-validate 1.37.0 + PyYAML, from PyPI) when missing.
# Full outputs are kept in target/corpus.txt and target/parity.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[ "${1:-}" = "--check" ] && check=true

SHARED=../shared
for need in "$SHARED/tools/corpus_run.py" "$SHARED/tools/kompose_parity.py" "$SHARED/corpus" "$SHARED/peers/kompose-cases"; do
    if [ ! -e "$need" ]; then
        echo "scripts/corpus.sh needs the shared/ folder beside this repository ($need is missing)." >&2
        echo "It is a report on real-world files, not part of cargo test; nothing to do without it." >&2
        exit 2
    fi
done

VENV=target/kv-venv
if ! "$VENV/bin/python" -c 'import kubernetes_validate, yaml' 2> /dev/null; then
    echo "creating $VENV (kubernetes-validate 1.37.0, PyYAML)..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet kubernetes-validate==1.37.0 pyyaml
fi
# kompose_parity.py needs PyYAML; use the venv's python when the system one lacks it.
PARITY_PY=python3
python3 -c 'import yaml' 2> /dev/null || PARITY_PY="$VENV/bin/python"

echo "building target/release/kompile..." >&2
cargo build --release --quiet

# corpus_run.py runs the binary from each file's own folder: hand it absolute paths.
echo "== corpus: $SHARED/corpus"
python3 "$SHARED/tools/corpus_run.py" "$PWD/target/release/kompile" "$SHARED/corpus" "$PWD/$VENV/bin/python" \
    | tee target/corpus.txt
echo
echo "== Kompose parity: $SHARED/peers/kompose-cases"
parity_rc=0 # with pipefail, the tool's exit status (1 when a case fails)
"$PARITY_PY" "$SHARED/tools/kompose_parity.py" --bin "$PWD/target/release/kompile" --cases "$SHARED/peers/kompose-cases" \
    | tee target/parity.txt || parity_rc=$?

summary=$(tail -n 1 target/corpus.txt)
echo
echo "corpus:  $summary"
echo "$(tail -n 1 target/parity.txt)"
if $check; then
    bad=$(echo "$summary" | python3 -c 'import sys; d=dict(kv.split("=") for kv in sys.stdin.read().split()); print(int(d["crash"])+int(d["invalid"])+int(d["nondeterministic"]))')
    if [ "$bad" != 0 ] || [ "$parity_rc" != 0 ]; then
        exit 1
    fi
fi
