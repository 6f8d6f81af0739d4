#!/usr/bin/env bash
# The Dockerfile's runtime stage without a container engine: production dependencies installed
# from the lockfile into a clean folder with the built dist/ and the files the image copies, then
# the CLI started from there with --help. Catches a runtime import of a devDependency, a missing
# file in the image, or a lockfile that no longer installs. Needs dist/ (npm run build) first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/main.js ]; then
  echo "ci-image-check: dist/main.js is missing; run \"npm run build\" first" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/s3-sync2-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Same files as the Dockerfile's runtime COPY lines.
cp package.json package-lock.json openapi.yaml "$work/"
mkdir -p "$work/scripts"
cp scripts/healthcheck.mjs "$work/scripts/"
cp -R dist "$work/dist"

cd "$work"
# Same install as the image (--prefer-offline only reuses the cache the earlier npm ci filled).
NODE_ENV=production npm ci --omit=dev --no-audit --no-fund --prefer-offline >/dev/null
for dev in typescript tsx @types/node @aws-sdk/client-ecs; do
  if [ -e "node_modules/$dev" ]; then
    echo "ci-image-check: devDependency $dev was installed with --omit=dev" >&2
    exit 1
  fi
done

if ! NODE_ENV=production node dist/main.js --help >"$work/help.txt" 2>"$work/stderr.txt"; then
  echo "ci-image-check: \"node dist/main.js --help\" failed in the production install:" >&2
  cat "$work/stderr.txt" >&2
  exit 1
fi
if [ ! -s "$work/help.txt" ]; then
  echo "ci-image-check: \"node dist/main.js --help\" printed nothing" >&2
  exit 1
fi
echo "ci-image-check: production install starts (node dist/main.js --help exit 0)"
