#!/usr/bin/env bash
# Screenshots of the built documentation in headless Chromium, one PNG per page, and a check
# that every gallery page shows figures that exist.
#
#   sphinx-build -W -b html docs docs/_build/html     # build the site first
#   apt-get install -y chromium                       # Debian's package, once
#   bash tools/docs_screenshots.sh [OUTDIR]           # default: docs/_build/screenshots
#
# Environment: CHROMIUM (the browser command, default chromium), WIDTH (default 1280),
# HEIGHT (default 3000 pixels, the part of each page captured).
set -euo pipefail
cd "$(dirname "$0")/.."

html=docs/_build/html
out=${1:-docs/_build/screenshots}
browser=${CHROMIUM:-chromium}
width=${WIDTH:-1280}
height=${HEIGHT:-3000}

if [ ! -f "$html/index.html" ]; then
    echo "docs_screenshots: no $html/index.html; build the site first:" >&2
    echo "    sphinx-build -W -b html docs docs/_build/html" >&2
    exit 2
fi
if ! command -v "$browser" > /dev/null; then
    echo "docs_screenshots: '$browser' not found; apt-get install -y chromium" >&2
    exit 2
fi
mkdir -p "$out"

# Every gallery page must show at least one figure, and every figure it shows must exist.
status=0
for page in "$html"/auto_examples/plot_*.html; do
    figures=$(grep -o 'src="[^"]*_images/sphx_glr_[^"]*\.png"' "$page" | sed 's/^src="//; s/"$//' \
              | sort -u)
    if [ -z "$figures" ]; then
        echo "docs_screenshots: $page shows no figure" >&2
        status=1
    fi
    for figure in $figures; do
        if [ ! -f "$(dirname "$page")/$figure" ]; then
            echo "docs_screenshots: $page shows a missing figure $figure" >&2
            status=1
        fi
    done
done

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
count=0
while IFS= read -r page; do
    name=${page#"$html"/}
    name=${name%.html}
    png="$out/${name//\//__}.png"
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size="$width,$height" \
        --screenshot="$png" "file://$PWD/$page" > /dev/null 2>&1
    count=$((count + 1))
done < <(find "$html" -path "$html/_*" -prune -o -name '*.html' -not -name 'genindex.html' \
         -not -name 'search.html' -not -name 'py-modindex.html' -print | sort)
echo "docs_screenshots: $count pages in $out"
exit "$status"
