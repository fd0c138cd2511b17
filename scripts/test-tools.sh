#!/usr/bin/env bash
# Tools the test suite runs that npm does not install: Debian's python3-feedparser, the
# independent Atom parser the feed server's tests read every page with. Installs it with
# apt-get when /usr/bin/python3 cannot import it (needs root or sudo); does nothing otherwise.
set -euo pipefail

if /usr/bin/python3 -c 'import feedparser' 2>/dev/null; then
  echo "test-tools: python3-feedparser present"
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends python3-feedparser
/usr/bin/python3 -c 'import feedparser; print("test-tools: python3-feedparser", feedparser.__version__)'
