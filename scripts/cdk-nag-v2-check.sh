#!/usr/bin/env bash
# Installs cdk-nag 2.x into a temporary directory (without peers: it uses this project's aws-cdk-lib) and runs
# scripts/cdk-nag-v2-check.ts against it. Needs the npm registry; not part of the build.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --legacy-peer-deps cdk-nag@^2 >/dev/null)
CDK_NAG_V2="$tmp/node_modules/cdk-nag" NODE_PATH="$PWD/node_modules" npx ts-node --transpile-only --project test/tsconfig.json scripts/cdk-nag-v2-check.ts
