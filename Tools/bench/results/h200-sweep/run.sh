#!/bin/bash
# One device call: variant sweeps at two shapes, then the default grid, then PyTorch SDPA.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
gunzip -c .carry/kvpack.gz > /tmp/kvpack; chmod +x /tmp/kvpack
K=/tmp/kvpack
$K doctor > $OUT/doctor.txt 2>&1
grep -qi nvidia $OUT/doctor.txt || { export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; $K doctor > $OUT/doctor.txt 2>&1; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw --format=csv > $OUT/smi.csv 2>&1
S="--cpu-max-tokens 0 --no-mixed --iterations 40 --warmup 0.3"
ALL="--encodings f16 int8/g32 int4/g32"
sweep() { timeout 45 $K bench vulkan $2 $S $3 --json $OUT/sweep-$1.json > $OUT/sweep-$1.txt 2>&1; echo "$1 rc=$? $(date +%s)" >> $OUT/progress.txt; }
echo "start $(date +%s)" > $OUT/progress.txt
for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
  n=${shape%%:*}; a=${shape#*:}
  sweep $n-default "$a" "$ALL"
  sweep $n-nopipe "$a" "$ALL --pipelined false"
  sweep $n-f16arith "$a" "--encodings f16 --f16-arithmetic true"
  sweep $n-step4 "$a" "$ALL --tokens-per-step 4"
  sweep $n-step1 "$a" "--encodings f16 int8/g32 --tokens-per-step 1"
  sweep $n-step8 "$a" "--encodings int8/g32 int4/g32 --tokens-per-step 8"
  sweep $n-f16arith4 "$a" "--encodings f16 --f16-arithmetic true --tokens-per-step 4"
done
sweep b1n32k-default "--batch 1 --tokens 32768" "$ALL"
sweep b1n32k-nopipe "--batch 1 --tokens 32768" "$ALL --pipelined false"
timeout 150 $K bench vulkan --warmup 0.2 --json $OUT/vulkan.json > $OUT/vulkan.txt 2>&1; echo "grid rc=$? $(date +%s)" >> $OUT/progress.txt
timeout 60 python3 .carry/sdpa_reference.py > $OUT/sdpa.json 2> $OUT/sdpa.err; echo "sdpa rc=$? $(date +%s)" >> $OUT/progress.txt
