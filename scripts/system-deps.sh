#!/usr/bin/env bash
# The system packages `make test` needs beyond .venv (Debian's): the store's tests start a real PostgreSQL server,
# the queue's a real redis-server, and the web page's test drives Chromium through Playwright (never
# `playwright install`: it downloads a browser). Run by `make test` (and so by .ci/run) before anything else.
#
# Nothing missing: silent, exit 0. Something missing and root (CI, a container): installs it with apt-get.
# Otherwise: one line with the one command that installs it, exit 1, before .venv is built or a test starts.
#
# Where each is looked for is where the tests look: redis-server on PATH, PostgreSQL's initdb under
# /usr/lib/postgresql/*/bin, /usr/bin/chromium. SYSTEM_DEPS_INITDB (a glob) and SYSTEM_DEPS_CHROMIUM (a path)
# move the last two, for the tests of this script (tests/worker/test_deploy.py).
set -euo pipefail

initdb=${SYSTEM_DEPS_INITDB:-/usr/lib/postgresql/*/bin/initdb}
chromium=${SYSTEM_DEPS_CHROMIUM:-/usr/bin/chromium}

missing=()
check() {
    missing=()
    compgen -G "$initdb" >/dev/null || missing+=(postgresql)
    command -v redis-server >/dev/null || missing+=(redis-server)
    [[ -x $chromium ]] || missing+=(chromium)
}

check
((${#missing[@]})) || exit 0

packages=("${missing[@]}")
# The fonts are a Recommends of chromium's, which --no-install-recommends skips; the page's test needs them.
[[ " ${missing[*]} " == *" chromium "* ]] && packages+=(fonts-liberation)

if ((EUID == 0)) && command -v apt-get >/dev/null; then
    echo "make test needs ${missing[*]}: installing ${packages[*]} with apt-get (a minute or two)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    check
    if ((${#missing[@]})); then
        echo "make test needs ${missing[*]}: apt-get installed ${packages[*]}, but they are still not where the tests look" >&2
        exit 1
    fi
    exit 0
fi

if command -v apt-get >/dev/null; then
    echo "make test needs ${missing[*]}: run  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
else
    echo "make test needs ${missing[*]} (Debian's packages ${packages[*]}): install them with your system's package manager, then run make test again" >&2
fi
exit 1
