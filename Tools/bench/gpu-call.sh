#!/bin/bash
# One device call on the lent GPU (see ../shared/GPU.md and Tools/bench/results/h200-runs.md):
# carry [".gl", ".carry"] with .carry/kvpack.gz (static, stripped, gzipped) and .carry/sdpa_reference.py
# (a copy of Tools/bench/sdpa_reference.py), run `bash Tools/bench/gpu-call.sh`, and unpack the one
# tarball it leaves in $OUT (a call brings back at most 8 files).
# Order: what decides the defaults first (the sweeps), then the grid with the defaults, then SDPA.
set -u
R=/tmp/kvpack-gpu-call; rm -rf $R; mkdir -p $R
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
gunzip -c .carry/kvpack.gz > /tmp/kvpack; chmod +x /tmp/kvpack
K=/tmp/kvpack
$K doctor > $R/doctor.txt 2>&1
grep -qi nvidia $R/doctor.txt || { export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; $K doctor > $R/doctor.txt 2>&1; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw --format=csv > $R/smi.csv 2>&1
S="--cpu-max-tokens 0 --no-mixed --iterations 40 --warmup 0.3"
INT="--encodings int8/g32 int4/g32"
sweep() { timeout 45 $K bench vulkan $2 $S $3 --json $R/sweep-$1.json > $R/sweep-$1.txt 2>&1; echo "$1 rc=$? $(date +%s)" >> $R/progress.txt; }
echo "start $(date +%s)" > $R/progress.txt
for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
  n=${shape%%:*}; a=${shape#*:}
  sweep $n-default "$a" "--encodings f16 int8/g32 int4/g32"
  for step in 2 4 8; do
    sweep $n-int-f16arith-step$step "$a" "$INT --f16-arithmetic true --tokens-per-step $step"
    sweep $n-int-f16arith-step$step-pipe "$a" "$INT --f16-arithmetic true --tokens-per-step $step --pipelined true"
  done
done
timeout 150 $K bench vulkan --warmup 0.2 --json $R/vulkan.json > $R/vulkan.txt 2>&1; echo "grid rc=$? $(date +%s)" >> $R/progress.txt
timeout 60 python3 .carry/sdpa_reference.py > $R/sdpa.json 2> $R/sdpa.err; echo "sdpa rc=$? $(date +%s)" >> $R/progress.txt
tar czf $OUT/results.tgz -C $R .
tail -3 $R/progress.txt
