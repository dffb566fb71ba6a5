# Sourced (not run) by scripts/run.sh and scripts/test.sh: `source scripts/bootstrap.sh REQUIREMENTS_FILE`.
# Installs into a virtual environment .venv in the repo root, because the system Python of Debian 12 / Ubuntu 24.04
# refuses `pip install` (PEP 668, "externally-managed-environment"). Base interpreter: $PYTHON (default python3).
# Exports VENV_PYTHON, the venv's interpreter (absolute path). Safe under `set -euo pipefail`.

_bootstrap() {
  local root venv req name stamp sum out
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv"
  req="${1:?usage: source scripts/bootstrap.sh REQUIREMENTS_FILE}"

  # A venv is usable when its Python runs and has pip; a half-made one (failed creation, base Python removed or
  # upgraded away) is recreated with --clear.
  if ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
    echo "Creating the virtual environment .venv..." >&2
    if ! out="$("${PYTHON:-python3}" -m venv --clear "$venv" 2>&1)"; then
      # Debian/Ubuntu ship the venv module's ensurepip separately, in python3-venv.
      if ! grep -q ensurepip <<<"$out"; then echo "$out" >&2; exit 1; fi
      if [ "$(id -u)" != "0" ]; then
        echo "Python's venv module is missing: run 'sudo apt-get install -y python3-venv', then run this again." >&2
        exit 1
      fi
      echo "Installing Debian's python3-venv..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
      "${PYTHON:-python3}" -m venv --clear "$venv"
    fi
  fi

  # Skip pip when the requirements did not change since the last install, so later runs start at once. The stamp
  # holds the sha256 of the file and of every file it pulls in with -r (requirements-dev.txt -> requirements.txt);
  # pip resolves those relative to the including file.
  _bootstrap_files() {
    local f="$1" inc
    echo "$f"
    while read -r inc; do _bootstrap_files "$(dirname "$f")/$inc"; done \
      < <(sed -n -E 's/^[[:space:]]*(-r|--requirement)[[:space:]=]+([^[:space:]#]+).*/\2/p' "$f")
  }
  name="$(basename "$req" .txt)"
  stamp="$venv/.installed-$name.sha256"
  sum="$(cd "$root" && _bootstrap_files "$req" | xargs sha256sum)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "Installing $req into .venv..." >&2
    (cd "$root" && "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req") || exit 1
    echo "$sum" >"$stamp"   # written only after pip succeeded
  fi
  export VENV_PYTHON="$venv/bin/python"
}
_bootstrap "$@"
unset -f _bootstrap _bootstrap_files
