#!/usr/bin/env bash
# Tools the test suite runs that npm does not install, from Debian's packages:
# - python3-feedparser, the independent Atom parser the feed server's tests read every page with;
# - chromium, the real browser the audit report's tests open the HTML report in (driven by the
#   playwright-core devDependency, which brings no browser of its own).
# Installs what is absent with apt-get (needs root or sudo); does nothing when all are present.
set -euo pipefail

missing=()
if ! /usr/bin/python3 -c 'import feedparser' 2>/dev/null; then missing+=(python3-feedparser); fi
if [[ ! -x /usr/bin/chromium ]]; then missing+=(chromium); fi

if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

/usr/bin/python3 -c 'import feedparser; print("test-tools: python3-feedparser", feedparser.__version__)'
echo "test-tools: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: not runnable')"
/usr/bin/chromium --version >/dev/null
