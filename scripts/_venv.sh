# Sourced by scripts/serve, scripts/test and scripts/bench: makes .venv and installs the
# project (with the extras named in $1) when it is missing or pyproject.toml changed.
ensure_venv() {
  local extras="$1"
  local python="${PYTHON:-python3}"
  if ! command -v "$python" >/dev/null; then
    echo "error: $python not found; gitserver needs Python 3.11 or newer" >&2
    return 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: gitserver needs Python 3.11 or newer ($("$python" --version))" >&2
    return 1
  fi
  if ! command -v git >/dev/null; then
    echo "error: the git binary (2.38 or newer) is required on the server host" >&2
    return 1
  fi
  local stamp
  stamp="$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
  if [ -x .venv/bin/python ] && [ -f .venv/.gitserver-installed ] \
      && grep -qx "$stamp" .venv/.gitserver-installed; then
    return 0
  fi
  echo "Setting up .venv (first run or dependencies changed)..." >&2
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet -e ".[$extras]" >&2
  else
    .venv/bin/python -m pip install --quiet -e . >&2
  fi
  echo "$stamp" > .venv/.gitserver-installed
}
