#!/usr/bin/env bash
# Fetch Apache ECharts from the npm registry into static/vendor/echarts and check it (no CDN at run time).
set -euo pipefail
VERSION=6.1.0
dest="$(cd "$(dirname "$0")/.." && pwd)/static/vendor/echarts"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$VERSION" >/dev/null && tar xzf "echarts-$VERSION.tgz")
cp "$tmp/package/dist/echarts.min.js" "$tmp/package/i18n/langZH.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$dest/"
(cd "$dest" && sha256sum -c SHA256SUMS)
