#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine,
# then runs the formatting and lint checks and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the end-to-end tests drive: a real OpenSSH sshd and the sftp
# client for the sFTP source, gpg for encrypted files.
needed=(openssh-server openssh-client gnupg chromium chromium-driver)
if [ ${#needed[@]} -gt 0 ]; then
  missing=()
  for pkg in "${needed[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
INSTA_UPDATE=no cargo test --workspace
