#!/usr/bin/env bash
# Spark resource discovery script for GPUs: prints the GPUs of this machine the way Spark expects,
#   {"name":"gpu","addresses":["0","1"]}
# Point spark.executor.resource.gpu.discoveryScript (and spark.driver.resource.gpu.discoveryScript,
# if the driver needs GPUs) at this file; it must be executable on every worker. Spark then hands
# each task its GPU index, and a training worker binds to it. No nvidia-smi: no GPUs.
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo '{"name":"gpu","addresses":[]}'
  exit 0
fi
addresses=""
while read -r index; do
  index=${index//[[:space:]]/}
  [[ -z $index ]] && continue
  addresses+="${addresses:+,}\"$index\""
done < <(nvidia-smi --query-gpu=index --format=csv,noheader)
echo "{\"name\":\"gpu\",\"addresses\":[$addresses]}"
