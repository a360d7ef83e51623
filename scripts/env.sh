# Shared by the project's scripts: find or build a Python >= 3.14.2 and run
# commands in the project's virtual environment.
#
# Home Assistant 2026.3 and newer need Python 3.14.2 or newer. When the host
# has one, the virtual environment lives in .venv inside the checkout. When
# it does not and this is a Debian host run as root, a Debian-testing root
# with python3.14 is built once with debootstrap in a cache folder outside the
# checkout, and commands run inside it through chroot, in a private mount
# namespace that shows the checkout and /tmp at their usual paths.

# shellcheck shell=bash

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${BAJIE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bajie_charging}
# Packages of the Debian root. g++ and python3.14-dev let pip build packages
# that have no wheel for Python 3.14 (the demo's pymicro-vad and
# pyspeex-noise); Home Assistant's camera integration loads libturbojpeg0.
DEBIAN_PACKAGES=python3.14,python3.14-venv,python3.14-dev,g++,ca-certificates,libturbojpeg0
# The root's folder is named after its package list, so changing the list
# builds a new root beside the old one instead of pulling it from under
# commands that still run in it.
DEBIAN_ROOT="$CACHE_DIR/debian-testing-$(printf '%s' "$DEBIAN_PACKAGES" | sha256sum | cut -c1-12)"
DEBIAN_MIRROR=${BAJIE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MIN_PYTHON="3.14.2"

log() {
    printf '[setup] %s\n' "$*" >&2
}

# Print the first Python on PATH that is at least MIN_PYTHON, or nothing.
find_host_python() {
    local candidate
    for candidate in python3.15 python3.14 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "import sys; sys.exit(sys.version_info < (3, 14, 2))" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 0
}

# Print "host" or "chroot": where the project's Python runs.
environment_mode() {
    if [[ -n "${BAJIE_FORCE_CHROOT:-}" ]]; then
        echo chroot
    elif [[ -n "$(find_host_python)" ]]; then
        echo host
    else
        echo chroot
    fi
}

# BAJIE_HOME_ASSISTANT=oldest selects a second venv with the oldest Home
# Assistant that hacs.json declares, installed from its own requirements file.
if [[ ${BAJIE_HOME_ASSISTANT:-newest} == oldest ]]; then
    VENV_NAME=oldest
    TEST_REQUIREMENTS=requirements_test_oldest.txt
else
    VENV_NAME=default
    TEST_REQUIREMENTS=requirements_test.txt
fi

# Print the venv path as seen by the commands run inside the environment.
venv_path() {
    local name=$VENV_NAME
    if [[ "$(environment_mode)" == host ]]; then
        echo "$PROJECT_DIR/.venv/$name"
    else
        echo "/venvs/$name"
    fi
}

# Copy the host's name resolution, pip settings and extra CA certificates into
# the Debian root, so that pip inside it reaches the same package index.
sync_host_settings() {
    cp /etc/resolv.conf /etc/hosts "$DEBIAN_ROOT/etc/"
    if [[ -f /etc/pip.conf ]]; then
        cp /etc/pip.conf "$DEBIAN_ROOT/etc/pip.conf"
    fi
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        mkdir -p "$DEBIAN_ROOT/usr/local/share/ca-certificates"
        cp -r /usr/local/share/ca-certificates/. "$DEBIAN_ROOT/usr/local/share/ca-certificates/"
        chroot "$DEBIAN_ROOT" update-ca-certificates >/dev/null 2>&1
    fi
}

build_debian_root() {
    if [[ -x "$DEBIAN_ROOT/usr/bin/python3.14" ]]; then
        return 0
    fi
    if [[ $EUID -ne 0 || ! -f /etc/debian_version ]]; then
        log "no Python >= $MIN_PYTHON found, and building one needs a Debian host and root."
        log "Install Python $MIN_PYTHON or newer and run this script again."
        exit 1
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        apt-get update -qq >/dev/null
        apt-get install -y -qq debootstrap >/dev/null
    fi

    local partial="$DEBIAN_ROOT.partial"
    rm -rf "$partial"
    mkdir -p "$CACHE_DIR"
    log "building a Debian-testing root with python3.14 in $DEBIAN_ROOT (about 1 min)"
    if ! debootstrap --variant=minbase \
        --include="$DEBIAN_PACKAGES" \
        testing "$partial" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1; then
        log "debootstrap failed; see $CACHE_DIR/debootstrap.log"
        exit 1
    fi
    mv "$partial" "$DEBIAN_ROOT"
}

# Run a command inside the Debian root, in the current directory, with the
# checkout, /tmp, /dev and /proc visible at their usual paths.
run_in_debian_root() {
    local workdir=$PWD
    local env_args=(
        "HOME=/root"
        "PATH=$(venv_path)/bin:/usr/local/bin:/usr/bin:/bin"
        "LANG=C.UTF-8"
        "TERM=${TERM:-dumb}"
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
        "PIP_DISABLE_PIP_VERSION_CHECK=1"
    )
    local name
    for name in CI PYTHONHASHSEED PYTEST_ADDOPTS BAJIE_HOME_ASSISTANT; do
        if [[ -n "${!name:-}" ]]; then
            env_args+=("$name=${!name}")
        fi
    done

    # The mount namespace is private, so the bind mounts vanish with the
    # command and never show on the host.
    unshare --mount --fork --kill-child -- /bin/bash -c '
        set -e
        root=$1 project=$2 workdir=$3
        shift 3
        environment=()
        while [[ $1 != -- ]]; do
            environment+=("$1")
            shift
        done
        shift
        mount --make-rprivate /
        for path in "$project" /tmp /dev /proc; do
            mkdir -p "$root$path"
        done
        mount --rbind "$project" "$root$project"
        mount --rbind /tmp "$root/tmp"
        mount --rbind /dev "$root/dev"
        mount -t proc proc "$root/proc"
        if [[ $workdir != "$project"* && $workdir != /tmp* ]]; then
            workdir=$project
        fi
        cd "$root$workdir"
        exec chroot "$root" /usr/bin/env -i "${environment[@]}" \
            /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$workdir" "$@"
    ' bash "$DEBIAN_ROOT" "$PROJECT_DIR" "$workdir" "${env_args[@]}" -- "$@"
}

# Run a command with the project's virtual environment first on PATH.
run_in_environment() {
    if [[ "$(environment_mode)" == host ]]; then
        PATH="$(venv_path)/bin:$PATH" "$@"
    else
        run_in_debian_root "$@"
    fi
}
