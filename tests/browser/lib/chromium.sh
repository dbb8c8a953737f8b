#!/usr/bin/env bash
# The Chromium the browser tests launch (lib/browser.mjs, launch()): the
# real one (PARLEY_CHROMIUM_REAL, default /usr/bin/chromium; lib/browser.mjs
# names the headless shell or the desktop build) with the
# --disable-features switches it is given merged into one. Chromium heeds
# only the last of them, and Playwright passes its own list before ours.
feats=()
args=()
for a in "$@"; do
	case $a in
	--disable-features=*) feats+=("${a#--disable-features=}") ;;
	*) args+=("$a") ;;
	esac
done
if [ ${#feats[@]} -gt 0 ]; then
	args+=("--disable-features=$(IFS=,; echo "${feats[*]}")")
fi
exec "${PARLEY_CHROMIUM_REAL:-/usr/bin/chromium}" "${args[@]}"
