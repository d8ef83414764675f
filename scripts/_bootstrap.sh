# Sourced by the scripts in this folder: makes sure .venv exists and holds Meseta
# (editable) with the extras named in MESETA_EXTRAS. Reinstalls only when setup.cfg or
# pyproject.toml changed since the last install.
set -euo pipefail
MESETA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MESETA_VENV:-$MESETA_ROOT/.venv}"
PY="$VENV/bin/python"
extras="${MESETA_EXTRAS:-}"

if [ ! -x "$PY" ]; then
  echo "meseta: creating virtualenv in $VENV" >&2
  python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --upgrade pip setuptools wheel >&2
fi

stamp="$VENV/.meseta-installed${extras:+-$extras}"
want="$(cat "$MESETA_ROOT/setup.cfg" "$MESETA_ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "meseta: installing the project into $VENV${extras:+ (extras: $extras)}" >&2
  spec="$MESETA_ROOT"
  [ -n "$extras" ] && spec="$MESETA_ROOT[$extras]"
  "$PY" -m pip install --quiet -e "$spec" >&2
  echo "$want" >"$stamp"
fi

# Debian packages some commands need; installed once, only when missing.
_install_deb() {  # _install_deb <package>
  echo "meseta: installing Debian package $1" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1" >&2
}
need_deb() {  # need_deb <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  _install_deb "$2"
}
need_deb_file() {  # need_deb_file <file> <package>: for packages that ship no command
  [ -e "$1" ] && return 0
  _install_deb "$2"
}
