#!/usr/bin/env bash
# Installs the Debian packages the stack and the tests use, when missing:
#   stack/install-deps.sh [package ...]   (default: all of them)
# Needs root for apt-get; as another user it says what to install instead.
set -euo pipefail

declare -A provides=(
  [kcat]=kcat
  [postgresql]=initdb
  [chromium]=chromium             # the dashboard's browser test
  [chromium-driver]=chromedriver  # drives it (WebDriver)
)

wanted=("$@")
((${#wanted[@]})) || wanted=("${!provides[@]}")

have() {
  case $1 in
  postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ;;
  *) command -v "${provides[$1]}" >/dev/null ;;
  esac
}

missing=()
for pkg in "${wanted[@]}"; do
  [[ -n ${provides[$pkg]:-} ]] || { echo "install-deps: unknown package $pkg" >&2; exit 2; }
  have "$pkg" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if ((EUID != 0)); then
  echo "install-deps: missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a new machine: refresh them
# only when an install cannot find what it needs.
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
