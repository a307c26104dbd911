#!/usr/bin/env bash
# Install Debian's Slurm daemons and client plus munge, for the single-node test cluster
# (scripts/slurm_cluster.sh). Idempotent and quiet: with everything installed it only asks
# dpkg; otherwise one `apt-get update` and one `apt-get install`. Needs root or sudo -n.
#
#   bash scripts/install_slurm.sh
set -euo pipefail
PACKAGES=(munge slurmctld slurmd slurm-client)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm.sh: no apt-get here; install ${missing[*]} by hand" >&2
    exit 1
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "install_slurm.sh: need root (or passwordless sudo) to install ${missing[*]}" >&2
        exit 1
    fi
fi
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# The packages' maintainer scripts try to start the daemons through the init system; the
# harness starts them itself, so a refusal there (containers without systemd) is harmless.
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_slurm.sh: installed ${missing[*]} in $((SECONDS - start)) s"
