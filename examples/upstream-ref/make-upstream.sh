#!/bin/sh
# Create the upstream repository this example refers to: a git repository holding a copy of
# examples/greeting under greeting/, committed and tagged v1.0.0.
#   usage: make-upstream.sh [TARGET]   (default /tmp/choreo-greeting-upstream; replaced if present)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-/tmp/choreo-greeting-upstream}
rm -rf "$target"
mkdir -p "$target/greeting"
for folder in crds in reconcilers; do
    cp -R "$here/../greeting/$folder" "$target/greeting/$folder"
done
git() { command git -C "$target" -c user.name=choreo-example -c user.email=example@choreo.invalid \
    -c commit.gpgsign=false -c tag.gpgsign=false "$@"; }
git init --quiet
git add --all
git commit --quiet --message "greeting v1.0.0"
git tag v1.0.0
echo "created $target (tag v1.0.0 = $(git rev-parse HEAD))"
