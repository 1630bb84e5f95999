#!/usr/bin/env bash
# Container entrypoint: put the mounted Xilinx tools on PATH, then run the command (default: hwcompress doctor).
#
# XILINX_ROOT (e.g. /tools/Xilinx) and XILINX_VERSION (e.g. 2022.2) name the tree. Both layouts are looked for:
#   <root>/Vivado/<version>/settings64.sh   (up to 2024.x; likewise Vitis_HLS/, Vitis/)
#   <root>/<version>/Vivado/settings64.sh   (2025.1 and later; likewise Vitis_HLS/, Vitis/)
set -euo pipefail

found=0
if [[ -n "${XILINX_ROOT:-}" && -n "${XILINX_VERSION:-}" ]]; then
  for tool in Vivado Vitis_HLS Vitis; do
    for settings in "${XILINX_ROOT}/${tool}/${XILINX_VERSION}/settings64.sh" \
                    "${XILINX_ROOT}/${XILINX_VERSION}/${tool}/settings64.sh"; do
      if [[ -f "${settings}" ]]; then
        # shellcheck disable=SC1090  # the path is only known at run time
        source "${settings}"
        found=$((found + 1))
      fi
    done
  done
  if [[ "${found}" -eq 0 ]]; then
    echo "entrypoint: no settings64.sh for ${XILINX_VERSION} under ${XILINX_ROOT}" \
         "(looked for <root>/Vivado/<version> and <root>/<version>/Vivado)" >&2
  fi
fi

if [[ $# -eq 0 ]]; then
  set -- hwcompress doctor
fi
exec "$@"
