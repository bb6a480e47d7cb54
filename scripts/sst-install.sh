#!/usr/bin/env bash
# Installs SST's platform (.sst/platform: the component types and Pulumi SDKs that sst.config.ts
# and infra/ typecheck against) with only the npm registry, and keeps a copy outside the checkout
# so that later runs and fresh checkouts restore it in seconds instead of installing ~300 MB again.
#
# Cache: ${SWITCHYARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}/sst/<sst version>/
set -euo pipefail
cd "$(dirname "$0")/.."

# Without these, every sst command first downloads pulumi and bun from GitHub and posts telemetry;
# `install` needs neither (npm installs the platform).
export SST_SKIP_DEPENDENCY_CHECK=1 SST_NO_BUN=1 SST_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

version=$(node -p 'JSON.parse(require("node:fs").readFileSync("node_modules/sst/package.json", "utf8")).version')
cache="${SWITCHYARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}/sst/$version"

# Copies a platform folder. node_modules (34k files) is hard-linked when both sides share a
# filesystem: npm replaces package folders instead of writing into them, so later installs on
# one side never change the other. Its hidden lockfile and everything outside node_modules
# (sst rewrites config.d.ts and friends in place) are real copies.
clone_platform() {
  local from=$1 to=$2
  mkdir -p "$to"
  cp -al "$from/node_modules" "$to/node_modules" 2>/dev/null || {
    rm -rf "$to/node_modules"
    cp -a "$from/node_modules" "$to/node_modules"
  }
  if [[ -f "$from/node_modules/.package-lock.json" ]]; then
    rm -f "$to/node_modules/.package-lock.json"
    cp -p "$from/node_modules/.package-lock.json" "$to/node_modules/.package-lock.json"
  fi
  find "$from" -mindepth 1 -maxdepth 1 ! -name node_modules -exec cp -a {} "$to/" \;
}

installed=$(cat .sst/platform/version 2>/dev/null || true)
if [[ "$installed" != "$version" && -f "$cache/provider-lock.json" ]]; then
  echo "sst-install: restoring .sst/platform $version from $cache" >&2
  rm -rf .sst/platform
  clone_platform "$cache/platform" .sst/platform
  cp "$cache/provider-lock.json" .sst/provider-lock.json
fi

# A no-op (about two seconds) when the platform matches sst.config.ts; installs what differs
# otherwise (about 70 s and 300 MB from npm the first time), with a line every 15 s meanwhile.
start=$SECONDS
if [[ "$(cat .sst/platform/version 2>/dev/null || true)" != "$version" ]]; then
  echo "sst-install: installing SST's platform $version from npm (first run: about 70 s)" >&2
fi
( while sleep 15; do echo "sst-install: still installing ($((SECONDS - start)) s)" >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
npx sst install --stage ci
kill $ticker 2>/dev/null || true
echo "sst-install: platform ready in $((SECONDS - start)) s" >&2

# Save when the cache is missing or the providers changed; staged and renamed, so an interrupted
# save never leaves a half-written cache that a later run would trust.
if ! cmp -s .sst/provider-lock.json "$cache/provider-lock.json"; then
  echo "sst-install: caching .sst/platform in $cache" >&2
  staging="$cache.partial.$$"
  rm -rf "$staging"
  clone_platform .sst/platform "$staging/platform"
  # Written last: its presence marks a complete entry.
  cp .sst/provider-lock.json "$staging/provider-lock.json"
  rm -rf "$cache"
  mv "$staging" "$cache"
fi
