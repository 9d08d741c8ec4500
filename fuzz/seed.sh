#!/usr/bin/env bash
# Copy the repository's compose files into fuzz/corpus/<target>/ as seeds.
# The corpora grow while fuzzing and are not committed (see .gitignore).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
for target in load convert yaml; do
    mkdir -p "$here/corpus/$target"
done
n=0
while IFS= read -r -d '' file; do
    # One seed per file, named after its path so reruns overwrite rather than duplicate.
    rel="${file#"$root"/}"
    name="seed-$(printf '%s' "$rel" | tr '/' '_')"
    for target in load convert yaml; do
        cp "$file" "$here/corpus/$target/$name"
    done
    n=$((n + 1))
done < <(find "$root/testdata/cases" "$root/examples" -name 'compose.yaml' -print0 | sort -z)
echo "seeded $n files into $here/corpus/{load,convert,yaml}"
