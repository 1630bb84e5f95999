#!/usr/bin/env bash
# Run an hwcompress command in the container, with the Xilinx tools mounted read-only from the host.
#
#   docker/run.sh --xilinx /tools/Xilinx --version 2022.2 hwcompress run flows/quickstart.yaml
#   docker/run.sh --build hwcompress doctor          # build the image first (docker build -f docker/Dockerfile)
#
# The current directory is mounted read-write at the same path and is the working directory, so flows, runs
# and datasets relative to it work as outside. docker is used where installed, else podman (or set
# HWCOMPRESS_ENGINE). The image name is HWCOMPRESS_IMAGE (default hwcompress).
set -euo pipefail

engine="${HWCOMPRESS_ENGINE:-}"
if [[ -z "${engine}" ]]; then
  if command -v docker >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null 2>&1; then engine=podman
  else echo "run.sh: neither docker nor podman is installed" >&2; exit 1
  fi
fi
image="${HWCOMPRESS_IMAGE:-hwcompress}"
xilinx="${XILINX_ROOT:-}"
version="${XILINX_VERSION:-}"
build=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --xilinx) xilinx="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --build) build=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

if [[ "${build}" -eq 1 ]]; then
  "${engine}" build -f "$(dirname "$0")/Dockerfile" -t "${image}" "$(dirname "$0")/.."
fi

args=(run --rm -v "${PWD}:${PWD}" -w "${PWD}")
if [[ -t 0 && -t 1 ]]; then args+=(-it); fi
if [[ "${engine}" == docker ]]; then args+=(--user "$(id -u):$(id -g)" -e HOME=/tmp); fi
if [[ -n "${xilinx}" ]]; then
  if [[ -z "${version}" ]]; then echo "run.sh: --xilinx needs --version (e.g. 2022.2)" >&2; exit 1; fi
  args+=(-v "${xilinx}:${xilinx}:ro" -e "XILINX_ROOT=${xilinx}" -e "XILINX_VERSION=${version}")
fi
for name in HWCOMPRESS_DATA HWCOMPRESS_CACHE; do
  if [[ -n "${!name:-}" ]]; then args+=(-e "${name}=${!name}" -v "${!name}:${!name}"); fi
done
exec "${engine}" "${args[@]}" "${image}" "$@"
