#!/bin/bash
# One device call on a GPU machine (see Tools/bench/README.md, "Running on a GPU machine"):
# carry [".gl", ".carry"] with .carry/kvpack.gz (static, stripped, gzipped) and .carry/sdpa_reference.py
# (a copy of Tools/bench/sdpa_reference.py), run `bash Tools/bench/gpu-call.sh PHASE...`, and unpack
# the one tarball it leaves in $OUT (a call brings back at most 8 files; the tarball is rewritten
# after every phase, so a call cut short still returns what ran).
# Phases: lanes (elements per lane x f16 value sums / f16 arithmetic x steps, at B=1 N=128K and
# B=8 N=32K), split (pages per split for the defaults; bitmap and mixed at 8 and 16 elements), sdpa,
# sums (f16 value sums on/off), small (B=1 at 4K and 32K, twice), again (f16 B=8 N=32K alone),
# passes (integer dot products on/off; mixed tiers as passes vs the mixed kernel), wg (workgroup
# sizes and split-K targets), staged / sparsity / expand / wide / scatter / sharedq (bitmap: staged against per-lane loads), streams (mixed tiers' passes on several queues; reverted), dims / gqa8 / gqa8check / gqa8steps (head dims 64 / 256, GQA 8), lanesums (reverted), pagecache / pagecache2 (page-table entries in shared memory on / off), splitfloor / floor (pages per split at short contexts), pagesize (pages of 16 / 32 / 64 tokens), longsplit (splits of 32 pages per token group), tgmerge (token groups merged by every invocation, the merge pass without barriers), short (options at B=1 N=32K and B=8 N=4K), fused (split-K merged by the last workgroup of a head), chunk32 (the merge pass's loads, 32 splits at once), quads (the fused merge in runs of 4 elements, chunks of 8 / 16 / 32), mixedfused (the mixed tiers, fused against the pass), repeat8 (the final grid's slow rows again; cuDNN and f16 in turn at the two short shapes), accum (int8 / int4 value sums token by token), int4wide (int8 / int4 at 32 elements per lane), check (the final binary at two short shapes, with the CPU check) (cuDNN on the same shapes and the grid), grid (every encoding and shape with
# the defaults), coopmat (the cooperative-matrix kernels on f16, int8/g32 and int4/g32 pages: --check against the CPU, then timed against the default kernels and cuDNN at GQA 4 and 8), sessions (live sessions on the device pool, with cuDNN at the same lengths), hostfloor (the host round trip a decode call cannot go below, beside the session steps), intnow (f16 / int8 / int4 on their default kernels at GQA 4 and 8), banksab (the pool's default banks against the fewest that hold the sessions), groupab (sessions sharing their banks in groups against a bank each), ratioab (issue 18's ratio: SnapKV and dense on every placement, twice), mbgroups (1-4 session groups over shared banks, 2 and 4 calls in flight), intgroups (int8 / int4 with quantization groups of 32 and 128), freeab (session groups stepping on their own against groups waiting for each other at every step), freetarget (free-running groups with split-K aiming at 256 and 512 workgroups), freereserve (free-running groups with the decode's pages reserved), queues (the session pool's calls on 1, 2 or 4 compute queues), turnab (calls planned beside each other against one at a time, 1 and 4 queues), ratioq (issue 18's ratio on 4 queues, 4 and 6 calls in flight), queuecheck (the pool's outputs on 4 queues against the CPU), sessions2 (the same with
# the host time's parts, appends serial against parallel), model / serve / needle / fidelity / shutdown (SmolLM2 on this machine: bench model,
# the load test through --backend vulkan, the needle and fidelity sweeps, timed; a served request and SIGINT's exit status).
set -u
R=/tmp/kvpack-gpu-call; rm -rf $R; mkdir -p $R
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
# OpenBLAS (the model runtime links it) into a private prefix, not over the machine's own libraries.
blas=$(ls .carry/blas/*.deb .m1/blas/*.deb 2>/dev/null)
if [ -n "$blas" ]; then
  for f in $blas; do dpkg -x $f /opt/kvpack-blas; done
  export LD_LIBRARY_PATH=/opt/kvpack-blas/usr/lib/x86_64-linux-gnu/openblas-pthread:/opt/kvpack-blas/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# Two binaries for an A/B fit the carry as one archive (`kvpack` and `kvpack-old`, compressed together with a
# dictionary spanning both: the second costs little).
if [ -f .carry/kvpacks.tar.xz ]; then xz -dc .carry/kvpacks.tar.xz | tar xf - -C /tmp
elif [ -f .carry/kvpack.xz ]; then xz -dc .carry/kvpack.xz > /tmp/kvpack; else gunzip -c .carry/kvpack.gz > /tmp/kvpack; fi; chmod +x /tmp/kvpack
K=/tmp/kvpack
$K doctor > $R/doctor.txt 2>&1
grep -qi nvidia $R/doctor.txt || { export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; $K doctor > $R/doctor.txt 2>&1; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw --format=csv > $R/smi.csv 2>&1
S="--cpu-max-tokens 0 --iterations 40 --warmup 0.3"
pack() { tar czf $OUT/results.tgz -C $R .; }
run() { timeout ${T:-45} $K bench vulkan $2 $S $3 $([[ $3 == *--mixed* ]] || echo --no-mixed) --json $R/$1.json > $R/$1.txt 2>&1; echo "$1 rc=$? $(date +%s)" >> $R/progress.txt; }
# The first half minute of a call runs at lower clocks: a throwaway case first (`throwaway [NAME]`).
throwaway() { run ${1:-warmup-throwaway} "--batch 8 --tokens 32768" "--encodings f16 --iterations 200"; }
# The four shapes most bitmap phases run: B=1 N=128K, B=8 N=32K, B=1 N=32K, B=8 N=4K.
FOUR_SHAPES=("b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768" "b1n32k:--batch 1 --tokens 32768" "b8n4k:--batch 8 --tokens 4096")
# A/B against a previous binary carried as .carry/kvpack-old.xz: `alternate NAME ROUNDS SHAPE ARGS`
# runs it and this one in turn, ROUNDS times each (NAME-old-i, NAME-new-i).
old_binary() { [ -f .carry/kvpacks.tar.xz ] || xz -dc .carry/kvpack-old.xz > /tmp/kvpack-old; chmod +x /tmp/kvpack-old; }
# `clocks_start NAME` / `clocks_stop`: the GPU's SM and memory clocks, power, temperature, use and throttle reasons every
# CLOCKMS ms (default 100) into clocks-NAME.csv (nvidia-smi's timestamps are the machine's local time; progress.txt gets both clocks at the start).
clocks_start() {
  local f=clocks_event_reasons.active
  nvidia-smi --query-gpu=$f --format=csv > /dev/null 2>&1 || f=clocks_throttle_reasons.active
  echo "clocks-start-$1 $(date +%s.%N) $(date '+%Y/%m/%d %H:%M:%S.%N')" >> $R/progress.txt
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu,$f --format=csv -lms ${CLOCKMS:-100} > $R/clocks-$1.csv 2>&1 &
  CLOCKS=$!
}
clocks_stop() { kill ${CLOCKS:-0} 2> /dev/null; wait ${CLOCKS:-0} 2> /dev/null; pack; }
alternate() { for i in $(seq $2); do K=/tmp/kvpack-old run $1-old-$i "$3" "$4"; run $1-new-$i "$3" "$4"; done; }
# `contrast NAME ROUNDS SHAPE LABEL_A ARGS_A LABEL_B ARGS_B`: this binary with two sets of options in turn.
contrast() { for i in $(seq $2); do run $1-$4-$i "$3" "$5"; run $1-$6-$i "$3" "$7"; done; }
# `contrast_shapes ROUNDS LABEL_A ARGS_A LABEL_B ARGS_B SHAPE...`: `contrast` at each "name:args" shape, packing after each.
contrast_shapes() { local r=$1 la=$2 aa=$3 lb=$4 ab=$5; shift 5; for shape in "$@"; do contrast ${shape%%:*} $r "${shape#*:}" $la "$aa" $lb "$ab"; pack; done; }
# The SmolLM2 GGUF, too large for one call's carry, from its two parts (`model` and later phases).
M=/tmp/smollm2.gguf
model_file() {
  sha256sum -c --status .carry/smollm2.sha256 2>/dev/null && return
  cat .carry/smollm2.xz.part-a .m1/smollm2.xz.part-b | xz -dc > $M
  sha256sum -c .carry/smollm2.sha256 >> $R/progress.txt 2>&1 || echo "model parts do not match" >> $R/progress.txt
}
# `start_server POLICY PORT NAME`: `kvpack serve --backend vulkan` with SmolLM2 in a 128 MiB pool, its
# log in $R/NAME.log, pid in $spid; returns once it listens on PORT (or has exited).
start_server() {
  $K serve --model $M --policy "$1" --pool 128MiB --port $2 --backend vulkan > $R/$3.log 2>&1 &
  spid=$!
  for i in $(seq 240); do kill -0 $spid 2>/dev/null || break; (exec 3<>/dev/tcp/127.0.0.1/$2) 2>/dev/null && break; sleep 0.5; done
}
# `sdpa NAME ARGS...`: cuDNN SDPA (`sdpa_reference.py ARGS`) into $R/sdpa-NAME.json.
sdpa() { local n=$1; shift; timeout 120 python3 .carry/sdpa_reference.py "$@" > $R/sdpa-$n.json 2> $R/sdpa-$n.err; echo "sdpa-$n rc=$? $(date +%s)" >> $R/progress.txt; }
# `session NAME ARGS...`: `kvpack bench session --backend vulkan` at B = 32, N = 32K, 2 layers, serial appends within a
# group, --trace, with ARGS (steps, policy, groups, placement...), into $R/NAME.json and .txt, then packed.
session() {
  local n=$1; shift
  timeout ${T:-150} $K bench session --backend vulkan --sessions 32 --tokens 32768 --layers 2 --serial-appends --trace "$@" --out $R/$n.json > $R/$n.txt 2>&1
  echo "$n rc=$? $(date +%s)" >> $R/progress.txt
  pack
}
# `int_grid NAME "ENCODINGS"`: cuDNN at GQA 4 and 8, a throwaway case, then ENCODINGS on their default kernels at
# GQA 4 and 8 at B = 8 N = 32K, B = 32 N = 32K and B = 1 N = 128K (NAME-gG-SHAPE).
int_grid() {
  for g in 4 8; do
    sdpa $1-g$g --batch 1 8 32 --tokens 32768 131072 --query-heads $((8 * g))
  done
  throwaway $1-warmup-throwaway
  for g in 4 8; do
    for shape in "b8n32k:--batch 8 --tokens 32768" "b32n32k:--batch 32 --tokens 32768" "b1n128k:--batch 1 --tokens 131072"; do
      run $1-g$g-${shape%%:*} "${shape#*:} --query-heads $((8 * g))" "--encodings $2"
    done
    pack
  done
}
echo "start $(date +%s)" > $R/progress.txt
# A phase name defined twice runs only its first definition (the case takes the first match):
# refuse it instead (a call once ran an older `merge` phase that way).
for phase in "$@"; do
  [ "$(grep -cE "^  $phase\)( |$)" "$0")" -le 1 ] || { echo "phase $phase is defined more than once in $0" | tee -a $R/progress.txt; exit 2; }
done
for phase in "$@"; do
  case $phase in
  lanes)
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      for e in 8 16 32; do
        for sums in true false; do run $n-f16-e$e-sums$sums-s2 "$a" "--encodings f16 --lane-elements $e --f16-value-sums $sums --tokens-per-step 2"; done
        [ $e != 8 ] && run $n-f16-e$e-sumstrue-s4 "$a" "--encodings f16 --lane-elements $e --tokens-per-step 4"
        for arith in true false; do
          run $n-int-e$e-arith$arith-s2p "$a" "--encodings int8/g32 int4/g32 --lane-elements $e --f16-arithmetic $arith --tokens-per-step 2 --pipelined true"
          run $n-int-e$e-arith$arith-s4p "$a" "--encodings int8/g32 int4/g32 --lane-elements $e --f16-arithmetic $arith --tokens-per-step 4 --pipelined true"
          run $n-int-e$e-arith$arith-s4 "$a" "--encodings int8/g32 int4/g32 --lane-elements $e --f16-arithmetic $arith --tokens-per-step 4 --pipelined false"
        done
      done
      pack
    done ;;
  split)
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      for pps in 32 64 256; do
        run $n-f16-e8-s2-pps$pps "$a" "--encodings f16 --lane-elements 8 --tokens-per-step 2 --pages-per-split $pps"
        run $n-f16-e16-s4-pps$pps "$a" "--encodings f16 --pages-per-split $pps"
        run $n-int-e16-s4-pps$pps "$a" "--encodings int8/g32 int4/g32 --pages-per-split $pps"
      done
      for e in 8 16; do run $n-sparse-e$e "$a" "--encodings bitmap --mixed --lane-elements $e"; done
      pack
    done ;;
  sdpa)
    timeout 90 python3 .carry/sdpa_reference.py > $R/sdpa.json 2> $R/sdpa.err; echo "sdpa rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  grid)
    throwaway grid-warmup-throwaway
    timeout 470 $K bench vulkan --json $R/vulkan.json > $R/vulkan.txt 2>&1; echo "grid rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  sums) # f16 value sums on / off at the default (16 elements, steps of 4) and the previous default (8, steps of 2), after a throwaway warm-up case
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      for sums in true false; do
        run $n-f16-e16-s4-sums$sums "$a" "--encodings f16 --f16-value-sums $sums"
        run $n-f16-e8-s2-sums$sums "$a" "--encodings f16 --lane-elements 8 --tokens-per-step 2 --f16-value-sums $sums"
      done
    done
    pack ;;
  small) # B=1 at 4K and 32K tokens twice (the grid's B=1 N=32K row was slow in an earlier grid), bitmap and mixed at 8 elements
    for i in 1 2; do timeout 60 $K bench vulkan --batch 1 --tokens 4096 32768 --json $R/b1-small-$i.json > $R/b1-small-$i.txt 2>&1; echo "small $i rc=$? $(date +%s)" >> $R/progress.txt; done
    run b1-small-sparse-e8 "--batch 1 --tokens 4096 32768" "--encodings bitmap --mixed --lane-elements 8"
    pack ;;
  passes) # integer dot products on / off for int8 / int4 (and steps of 8 with them), and mixed tiers in one pass per kernel against the one mixed kernel, after a throwaway case
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768" "b32n4k:--batch 32 --tokens 4096"; do
      n=${shape%%:*}; a=${shape#*:}
      for dot in true false; do run $n-int-dot$dot "$a" "--encodings int8/g32 int4/g32 --integer-dot $dot"; done
      run $n-int-dottrue-s8 "$a" "--encodings int8/g32 int4/g32 --integer-dot true --tokens-per-step 8"
      run $n-int-dottrue-s2 "$a" "--encodings int8/g32 int4/g32 --integer-dot true --tokens-per-step 2"
      run $n-mixed-passes "$a" "--encodings f16 bitmap --mixed"
      run $n-mixed-kernel "$a" "--encodings f16 --mixed --kernel mixed"
      pack
    done ;;
  wg) # workgroup sizes 128-512 (larger ones bound registers lower: 512 invocations leave 128 each), split-K aiming at 256 or 132 workgroups, every encoding and the mixed tiers
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      for wg in 128 256 384 512; do run $n-wg$wg "$a" "--encodings f16 int8/g32 int4/g32 bitmap --mixed --workgroup-size $wg"; done
      for wg in 256 512; do run $n-wg$wg-t132 "$a" "--encodings f16 int8/g32 int4/g32 bitmap --mixed --workgroup-size $wg --target-workgroups 132"; done
      pack
    done ;;
  wg2) # smaller workgroups (fewer token groups to merge, finer splits; 255 registers still fit 4-8 per SM), split-K aiming at 256 or 512 workgroups
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-wg128 "$a" "--encodings f16 int8/g32 int4/g32 --mixed"
      for wg in 32 64; do for t in 256 512; do run $n-wg$wg-t$t "$a" "--encodings f16 int8/g32 int4/g32 --mixed --workgroup-size $wg --target-workgroups $t"; done; done
      pack
    done ;;
  lean) # int8 / int4 with (scale, zero) kept packed (fewer registers per row in flight): elements per lane x tokens per step x pipelining
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-int-e16-s4p "$a" "--encodings f16 int8/g32 int4/g32"
      for v in "e16-s6p:--lane-elements 16 --tokens-per-step 6 --pipelined true" "e16-s8p:--lane-elements 16 --tokens-per-step 8 --pipelined true" \
               "e16-s8:--lane-elements 16 --tokens-per-step 8 --pipelined false" "e8-s4p:--lane-elements 8 --tokens-per-step 4 --pipelined true" \
               "e8-s8p:--lane-elements 8 --tokens-per-step 8 --pipelined true"; do
        run $n-int-${v%%:*} "$a" "--encodings int8/g32 int4/g32 ${v#*:}"
      done
      pack
    done ;;
  ab) # .carry/kvpack-old.xz (a previous binary) against this one, alternating, at the defaults; this one also at steps of 6 and 8
    old_binary
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      alternate $n 2 "$a" "--encodings f16 int8/g32 int4/g32"
      for st in 6 8; do run $n-new-s$st "$a" "--encodings f16 int8/g32 int4/g32 --tokens-per-step $st"; done
      pack
    done ;;
  merge) # .carry/kvpack-old.xz against this one, alternating, where the split-K merge weighs (short calls, mixed tiers)
    old_binary
    throwaway
    for shape in "b1n4k:--batch 1 --tokens 4096" "b1n32k:--batch 1 --tokens 32768" "b1n128k:--batch 1 --tokens 131072" "b8n4k:--batch 8 --tokens 4096" "b8n32k:--batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      alternate $n 2 "$a" "--encodings f16 int4/g32 --mixed"
    done
    pack ;;
  f16alone) # f16 alone at the large shapes, after a throwaway case (in the grid f16 runs first for each shape's new cache and has read 2-4% slow)
    throwaway
    for shape in "b8n32k:--batch 8 --tokens 32768" "b8n128k:--batch 8 --tokens 131072" "b32n32k:--batch 32 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-f16-alone "$a" "--encodings f16 --iterations 100"
    done
    pack ;;
  target) # split-K aiming at 256 workgroups against the then default of 2 x multiprocessors (264 on an H200, with the split count nearest the target; reverted), alternating, at B=1 N=128K
    throwaway
    for i in 1 2; do
      run b1n128k-t256-$i "--batch 1 --tokens 131072" "--encodings f16 int8/g32 int4/g32 --mixed --target-workgroups 256"
      run b1n128k-default-$i "--batch 1 --tokens 131072" "--encodings f16 int8/g32 int4/g32 --mixed --target-workgroups 264"
    done
    pack ;;
  staged) # bitmap pages: the staged loader (a token group stages a page's header and each step's nonzeros in shared memory) against the per-lane loader; steps, lanes and workgroup sizes
    throwaway
    for shape in "${FOUR_SHAPES[@]}"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-perlane "$a" "--encodings f16 bitmap --staged-bitmap false"
      run $n-staged-s2 "$a" "--encodings bitmap --staged-bitmap true"
      run $n-staged-s4 "$a" "--encodings bitmap --staged-bitmap true --tokens-per-step 4"
      run $n-staged-s4-e8 "$a" "--encodings bitmap --staged-bitmap true --tokens-per-step 4 --lane-elements 8"
      run $n-staged-s4-wg64 "$a" "--encodings bitmap --staged-bitmap true --tokens-per-step 4 --workgroup-size 64"
      run $n-staged-s8-wg64 "$a" "--encodings bitmap --staged-bitmap true --tokens-per-step 8 --workgroup-size 64"
      pack
    done ;;
  sparsity) # bitmap pages at sparsities 0-0.99, staged (steps 1, 2, 4) and per-lane, at B=1 N=128K: what scales with the nonzeros and what with the rows
    throwaway
    for sp in 0.0 0.5 0.7 0.9 0.99; do
      run b1n128k-sp$sp-perlane "--batch 1 --tokens 131072" "--encodings bitmap --sparsity $sp --staged-bitmap false"
      for st in 1 2 4; do run b1n128k-sp$sp-staged-s$st "--batch 1 --tokens 131072" "--encodings bitmap --sparsity $sp --staged-bitmap true --tokens-per-step $st"; done
    done
    pack ;;
  expand) # staged bitmap rows expanded to f16 words (f16 arithmetic on / off, steps 2 and 4) against per-lane loads, at sparsities 0.7 and 0.0 (the record of a variant since reverted: today's staged kernel has no f16 arithmetic, so --f16-arithmetic is ignored for it)
    throwaway
    for shape in "${FOUR_SHAPES[@]}"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-f16-perlane "$a" "--encodings f16 bitmap --staged-bitmap false"
      for st in 2 4; do
        run $n-staged-s$st "$a" "--encodings bitmap --tokens-per-step $st"
        run $n-staged-s$st-fp32 "$a" "--encodings bitmap --tokens-per-step $st --f16-arithmetic false"
      done
      run $n-staged-s4-sp0 "$a" "--encodings bitmap --tokens-per-step 4 --sparsity 0.0"
      pack
    done ;;
  wide) # staged bitmap with its nonzeros widened to a word per half in shared memory, at four shapes and sparsities 0.0 / 0.7 / 0.9, and per-lane loads
    throwaway
    for shape in "${FOUR_SHAPES[@]}"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-f16-perlane "$a" "--encodings f16 bitmap --staged-bitmap false"
      for sp in 0.7 0.0 0.9; do run $n-staged-sp$sp "$a" "--encodings bitmap --sparsity $sp"; done
      pack
    done ;;
  streams) # mixed tiers: passes as concurrent streams over the compute queues against one command buffer, alternating, at six shapes (the record of an experiment since reverted: today's kvpack has no --concurrent-passes)
    throwaway
    for shape in "b1n4k:--batch 1 --tokens 4096" "b1n32k:--batch 1 --tokens 32768" "b1n128k:--batch 1 --tokens 131072" "b8n4k:--batch 8 --tokens 4096" "b8n32k:--batch 8 --tokens 32768" "b32n4k:--batch 32 --tokens 4096"; do
      n=${shape%%:*}; a=${shape#*:}
      contrast $n 2 "$a" streams "--encodings f16 --mixed --concurrent-passes true" onebuffer "--encodings f16 --mixed --concurrent-passes false"
      pack
    done ;;
  review) # .carry/kvpack-old.xz (0540bc0, before the review's shared prepareCodeQueries) against this one, alternating three times, int8/int4 at B=1 N=128K, B=8 N=32K, B=1 N=32K
    old_binary
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072" "b8n32k:--batch 8 --tokens 32768" "b1n32k:--batch 1 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      alternate $n 3 "$a" "--encodings f16 int8/g32 int4/g32"
      pack
    done ;;
  scatter) # staged bitmap in f16 arithmetic (each lane scatters its nonzeros into a dense f16 slice, then a dense f16 step) against the fp32 staged kernel, alternating, at four shapes; sparsities 0.0 / 0.9 at B=1 N=128K (the record of a variant since reverted: today's staged kernel has no f16 arithmetic)
    throwaway
    for shape in "${FOUR_SHAPES[@]}"; do
      n=${shape%%:*}; a=${shape#*:}
      contrast $n 2 "$a" f16math "--encodings f16 bitmap" fp32 "--encodings bitmap --f16-arithmetic false"
      run $n-f16math-s4 "$a" "--encodings bitmap --tokens-per-step 4"
      pack
    done
    for sp in 0.0 0.9; do run b1n128k-f16math-sp$sp "--batch 1 --tokens 131072" "--encodings bitmap --sparsity $sp"; done
    pack ;;
  sharedq) # .carry/kvpack-old.xz (the staged bitmap kernel with the queries in registers) against this one (queries once per workgroup in shared memory; since reverted), alternating, bitmap at four shapes
    old_binary
    throwaway
    for shape in "${FOUR_SHAPES[@]}"; do
      n=${shape%%:*}; a=${shape#*:}
      alternate $n 2 "$a" "--encodings bitmap"
      pack
    done ;;
  dims) # every encoding at head dims 64 and 256 (GQA 4 and 8), against the CPU where it runs: the staged bitmap kernel's 8 / 2 token groups per subgroup
    throwaway
    for d in 64 256; do
      run d$d-g4 "--batch 1 8 --tokens 4096 32768" "--head-dim $d --cpu-max-tokens 32768 --mixed"
      run d$d-g8-p64 "--batch 1 --tokens 4096 32768" "--head-dim $d --query-heads 64 --page-size 64 --cpu-max-tokens 32768 --mixed"
      pack
    done ;;
  gqa8) # GQA 8 (64 query heads over 8 KV heads): the new default of 8 elements per lane against 16 (the previous default, which spilled), alternating, head dims 128 and 64
    throwaway
    for shape in "d128-b1n128k:--head-dim 128 --batch 1 --tokens 131072" "d128-b8n32k:--head-dim 128 --batch 8 --tokens 32768" "d128-b1n32k:--head-dim 128 --batch 1 --tokens 32768" "d64-b8n32k:--head-dim 64 --batch 8 --tokens 32768"; do
      n=${shape%%:*}; a=${shape#*:}
      contrast $n 2 "$a --query-heads 64" e8 "--mixed" e16 "--mixed --lane-elements 16"
      pack
    done ;;
  gqa8check) # GQA 8 at the new default (8 elements per lane) against the CPU, head dims 64 / 128 / 256 (256: 32 lanes a token), B = 1 and 8 at 4K / 32K tokens
    throwaway
    for d in 64 128 256; do
      run d$d-g8 "--batch 1 8 --tokens 4096 32768" "--head-dim $d --query-heads 64 --cpu-max-tokens 32768 --mixed"
      pack
    done ;;
  gqa8steps) # GQA 8: cuDNN SDPA on the same shapes, and int8 / int4 at 8 elements per lane with steps of 2 / 4 / 6 / 8
    timeout 120 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 32768 131072 --query-heads 64 > $R/sdpa-g8.json 2> $R/sdpa-g8.err; echo "sdpa-g8 rc=$? $(date +%s)" >> $R/progress.txt
    throwaway
    for shape in "b1n128k:--batch 1 --tokens 131072 --query-heads 64" "b8n32k:--batch 8 --tokens 32768 --query-heads 64"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-f16 "$a" "--encodings f16"
      for st in 2 4 6 8; do run $n-int-s$st "$a" "--encodings int8/g32 int4/g32 --tokens-per-step $st"; done
      pack
    done ;;
  lanesums) # .carry/kvpack-old.xz (butterfly lane sums) against this one (recursive halving and doubling where the step's scores divide over the lanes; since reverted), alternating, GQA 4 and 8
    old_binary
    throwaway
    for shape in "g4-b1n128k:--batch 1 --tokens 131072" "g4-b8n32k:--batch 8 --tokens 32768" "g8-b1n128k:--batch 1 --tokens 131072 --query-heads 64" "g8-b8n32k:--batch 8 --tokens 32768 --query-heads 64"; do
      n=${shape%%:*}; a=${shape#*:}
      alternate $n 2 "$a" "--encodings f16 int8/g32 int4/g32 bitmap"
      pack
    done ;;
  pagecache) # page-table entries of a split in shared memory (the default) against none (--page-cache 0), alternating twice, f16 / int8 / int4 / mixed tiers at five shapes
    throwaway
    contrast_shapes 2 cache "--encodings f16 int8/g32 int4/g32 --mixed" nocache "--encodings f16 int8/g32 int4/g32 --mixed --page-cache 0" \
      "b1n4k:--batch 1 --tokens 4096" "b1n32k:--batch 1 --tokens 32768" "b8n4k:--batch 8 --tokens 4096" "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}" ;;
  splitfloor) # short contexts: pages per split below the automatic rule's floor of 4 pages per token group (64 pages at 16 token groups), every encoding but bitmap
    throwaway
    for shape in "b1n4k:--batch 1 --tokens 4096" "b1n32k:--batch 1 --tokens 32768" "b8n4k:--batch 8 --tokens 4096"; do
      n=${shape%%:*}; a=${shape#*:}
      for pps in 64 32 16 8; do run $n-pps$pps "$a" "--encodings f16 int8/g32 int4/g32 --mixed --pages-per-split $pps"; done
      pack
    done ;;
  floor) # the split rule's floor of pages per token group, 1 (the new default for one kernel) against 4 (--pages-per-split 64 at these shapes), alternating twice, where it changes the split
    throwaway
    contrast_shapes 2 floor1 "--encodings f16 int8/g32 int4/g32" floor4 "--encodings f16 int8/g32 int4/g32 --pages-per-split 64" \
      "b1n4k:--batch 1 --tokens 4096" "b1n8k:--batch 1 --tokens 8192" "b1n16k:--batch 1 --tokens 16384" "b2n4k:--batch 2 --tokens 4096" "b4n4k:--batch 4 --tokens 4096" ;;
  pagecache2) # page-table cache on / off again where the first pagecache call left doubt: mixed tiers and int4 alone, alternating three times
    for shape in "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[0]}" "b1n4k:--batch 1 --tokens 4096"; do
      n=${shape%%:*}; a=${shape#*:}
      contrast $n-mixed 3 "$a" cache "--encodings f16 --mixed" nocache "--encodings f16 --mixed --page-cache 0"
      contrast $n-int4 3 "$a" cache "--encodings int4/g32" nocache "--encodings int4/g32 --page-cache 0"
      pack
    done ;;
  pagesize) # pages of 16 / 32 / 64 tokens (fewer page changes, longer runs of contiguous rows), f16 / int8 / int4 at B=1 N=128K and B=8 N=32K, twice
    throwaway
    for shape in "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}"; do
      n=${shape%%:*}; a=${shape#*:}
      for i in 1 2; do for ps in 16 32 64; do run $n-page$ps-$i "$a" "--encodings f16 int8/g32 int4/g32 --page-size $ps"; done; done
      pack
    done ;;
  longsplit) # splits twice as long as the rule's (its cap of 16 pages per token group against 32: half the workgroups, one wave instead of two at B=8 N=32K), f16 / int8 / int4
    throwaway
    T=120 contrast_shapes 2 rule "--encodings f16 int8/g32 int4/g32" pps512 "--encodings f16 int8/g32 int4/g32 --pages-per-split 512" \
      "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[0]}" "b8n128k:--batch 8 --tokens 131072" "b32n32k:--batch 32 --tokens 32768" ;;
  tgmerge) # the merge of token groups by every invocation, the merge pass without barriers, queries loaded first (this binary) against b4dcdfd's (.carry/kvpack-old.xz), alternating twice, f16 / int8 / int4; B=1 N=16 (one page: the fixed cost); cuDNN at the short shapes first
    old_binary
    timeout 90 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 4096 32768 > $R/sdpa-short.json 2> $R/sdpa-short.err; echo "sdpa-short rc=$? $(date +%s)" >> $R/progress.txt
    throwaway
    for shape in "b1n16:--batch 1 --tokens 16" "b1n4k:--batch 1 --tokens 4096" "${FOUR_SHAPES[2]}" "${FOUR_SHAPES[3]}" "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[0]}"; do
      alternate ${shape%%:*} 2 "${shape#*:}" "--encodings f16 int8/g32 int4/g32"
      pack
    done ;;
  short) # the two shapes f16 misses cuDNN at (B=1 N=32K, B=8 N=4K): no page cache, workgroups of 64 / 256, pages per split halved / doubled, steps of 2
    throwaway
    for shape in "${FOUR_SHAPES[2]}" "${FOUR_SHAPES[3]}"; do
      n=${shape%%:*}; a=${shape#*:}
      run $n-default "$a" "--encodings f16 int8/g32"
      run $n-nocache "$a" "--encodings f16 int8/g32 --page-cache 0"
      for wg in 64 256; do run $n-wg$wg "$a" "--encodings f16 int8/g32 --workgroup-size $wg"; done
      run $n-step2 "$a" "--encodings f16 int8/g32 --tokens-per-step 2"
      pack
    done
    run b1n32k-pps32 "--batch 1 --tokens 32768" "--encodings f16 int8/g32 --pages-per-split 32"
    run b1n32k-pps128 "--batch 1 --tokens 32768" "--encodings f16 int8/g32 --pages-per-split 128"
    run b8n4k-pps128 "--batch 8 --tokens 4096" "--encodings f16 int8/g32 --pages-per-split 128"
    run b8n4k-pps32 "--batch 8 --tokens 4096" "--encodings f16 int8/g32 --pages-per-split 32"
    pack ;;
  fused) # split-K merged by the last workgroup of each head (the default) against the merge pass (--fused-merge false), alternating twice, f16 / int8 / int4 and the mixed tiers
    throwaway
    contrast_shapes 2 fused "--encodings f16 int8/g32 int4/g32 --mixed" pass "--encodings f16 int8/g32 int4/g32 --mixed --fused-merge false" \
      "b1n4k:--batch 1 --tokens 4096" "${FOUR_SHAPES[2]}" "${FOUR_SHAPES[3]}" "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[0]}" ;;
  chunk32) # the merge pass loading 32 splits at once (this binary) against 16 (.carry/kvpack-old.xz, d808972), both with the merge pass (--fused-merge false), alternating twice, where calls have 16-32 splits
    old_binary
    throwaway
    for shape in "${FOUR_SHAPES[2]}" "${FOUR_SHAPES[0]}" "b1n4k:--batch 1 --tokens 4096"; do
      alternate ${shape%%:*} 2 "${shape#*:}" "--encodings f16 int8/g32 int4/g32 --fused-merge false"
      pack
    done ;;
  check) # the final binary (the fused merge's chunk a spec constant since cb26fca) twice at the short shapes where the fused merge (B=8 N=4K) or the merge pass (B=1 N=32K) runs, with the CPU check
    throwaway
    for i in 1 2; do
      for shape in "${FOUR_SHAPES[3]}" "${FOUR_SHAPES[2]}"; do run ${shape%%:*}-$i "${shape#*:}" "--encodings f16 int8/g32 int4/g32 --mixed --cpu-max-tokens 32768"; done
      pack
    done ;;
  quads) # the fused merge in runs of 4 elements (this binary, chunks of 8 / 16 / 32 splits) against the previous fused merge (.carry/kvpack-old.xz, 8db7eb7: a float of 4 heads per invocation, chunks of 8) and both binaries' merge pass, in turn twice, f16 / int8 / int4; cuDNN at the short shapes first
    old_binary
    timeout 90 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 4096 32768 > $R/sdpa-short.json 2> $R/sdpa-short.err; echo "sdpa-short rc=$? $(date +%s)" >> $R/progress.txt
    throwaway
    for shape in "${FOUR_SHAPES[2]}" "${FOUR_SHAPES[3]}" "b1n4k:--batch 1 --tokens 4096" "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}"; do
      n=${shape%%:*}; a=${shape#*:}; e="--encodings f16 int8/g32 int4/g32"
      for i in 1 2; do
        K=/tmp/kvpack-old run $n-oldfused-$i "$a" "$e --fused-merge true"
        K=/tmp/kvpack-old run $n-oldpass-$i "$a" "$e --fused-merge false"
        for c in 8 16 32; do run $n-fused$c-$i "$a" "$e --fused-merge true --merge-split-chunk $c"; done
        run $n-pass-$i "$a" "$e --fused-merge false"
      done
      pack
    done ;;
  mixedfused) # the mixed tiers (three passes: more splits than one kernel's 32) with the fused merge (the new default everywhere, chunks by the rule) against the merge pass, in turn twice, at B=1 N=128K, B=8 N=32K, B=1 N=32K, f16 beside them
    throwaway
    contrast_shapes 2 fused "--encodings f16 --mixed" pass "--encodings f16 --mixed --fused-merge false" "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[2]}" ;;
  repeat8) # after the 5bc22f1 grid: its one-off slow rows again (f16 B=8 N=32K, int8 B=1 N=128K); cuDNN and f16 in turn three times at the two shapes nearest the 0.9x line (B=1 N=32K, B=8 N=4K); B=1 N=32K with 16 and 64 splits (pages per split 128 / 32) under the fused merge
    throwaway
    run b8n32k-f16-again "--batch 8 --tokens 32768" "--encodings f16"
    run b1n128k-int8-again "--batch 1 --tokens 131072" "--encodings int8/g32"
    pack
    for i in 1 2 3; do
      timeout 90 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 4096 32768 > $R/sdpa-short-$i.json 2> $R/sdpa-short-$i.err; echo "sdpa-short-$i rc=$? $(date +%s)" >> $R/progress.txt
      run b1n32k-f16-$i "--batch 1 --tokens 32768" "--encodings f16"
      run b8n4k-f16-$i "--batch 8 --tokens 4096" "--encodings f16"
      pack
    done
    for pps in 128 32; do run b1n32k-pps$pps "--batch 1 --tokens 32768" "--encodings f16 int8/g32 int4/g32 --pages-per-split $pps"; done
    run b1n32k-rule "--batch 1 --tokens 32768" "--encodings f16 int8/g32 int4/g32"
    pack ;;
  accum) # int8 / int4 value sums token by token (each row's codes converted to f16 pairs once for the G queries; this binary) against query by query (.carry/kvpack-old.xz, 5bc22f1), alternating twice at four shapes
    old_binary
    throwaway
    for shape in "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}" "${FOUR_SHAPES[2]}" "b32n32k:--batch 32 --tokens 32768"; do
      alternate ${shape%%:*} 2 "${shape#*:}" "--encodings int8/g32 int4/g32"
      pack
    done ;;
  int4wide) # int8 / int4 at 32 elements per lane (4 lanes a token: half the lane sums; spilled in the lanes phase, before packed parameters and integer dot products) with steps of 2 / 4, pipelined or not, against the default (16), at B=1 N=128K and B=8 N=32K
    for shape in "${FOUR_SHAPES[0]}" "${FOUR_SHAPES[1]}"; do
      n=${shape%%:*}; a=${shape#*:}; e="--encodings int8/g32 int4/g32"
      run $n-e16 "$a" "$e"
      for u in 2 4; do for p in true false; do run $n-e32-s$u-p$p "$a" "$e --lane-elements 32 --tokens-per-step $u --pipelined $p"; done; done
      run $n-e16-again "$a" "$e"
      pack
    done ;;
  sessions) # live sessions (`bench session --backend vulkan`): B = 8 and 32 sequences of N = 32K, 2 layers, dense / snapkv(keep=0.25) / int8, 16 decode steps; cuDNN at the dense (32K) and kept (8K) lengths first
    timeout 120 python3 .carry/sdpa_reference.py --batch 8 32 --tokens 8192 32768 > $R/sdpa-sessions.json 2> $R/sdpa-sessions.err; echo "sdpa rc=$? $(date +%s)" >> $R/progress.txt
    pack
    for b in 8 32; do
      timeout ${T:-280} $K bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --policy dense --policy "snapkv(keep=0.25)" --policy "quant(bits=8)" --out $R/session-b$b.json > $R/session-b$b.txt 2>&1
      echo "session-b$b rc=$? $(date +%s)" >> $R/progress.txt
      pack
    done ;;
  sessions2) # `sessions` with the host time's parts (prepare / record / finish, appends) and appends made on one thread against in parallel, at B = 8 and 32
    timeout 120 python3 .carry/sdpa_reference.py --batch 8 32 --tokens 8192 32768 > $R/sdpa-sessions.json 2> $R/sdpa-sessions.err; echo "sdpa rc=$? $(date +%s)" >> $R/progress.txt
    pack
    for b in 8 32; do
      for mode in parallel serial; do
        timeout ${T:-280} $K bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --policy dense --policy "snapkv(keep=0.25)" --policy "quant(bits=8)" $([ $mode = serial ] && echo --serial-appends) --out $R/session-b$b-$mode.json > $R/session-b$b-$mode.txt 2>&1
        echo "session-b$b-$mode rc=$? $(date +%s)" >> $R/progress.txt
        pack
      done
    done ;;
  sessionsab) # live sessions' host path: .carry/kvpack-old.xz against this binary, alternating twice, B = 8 and 32 at N = 32K, dense and SnapKV, serial appends; cuDNN at the same shapes first. SPIN0=1 adds this binary without fence polling (--fence-spin-microseconds 0: sessionsab-bB-nospin-i), DEVSTAGE=1 with its uploads staged in device-local memory (--staging device: sessionsab-bB-devstage-i)
    [ -n "${QUICK:-}" ] || timeout 120 python3 .carry/sdpa_reference.py --batch 8 32 --tokens 8192 32768 > $R/sdpa-sessionsab.json 2> $R/sdpa-sessionsab.err; echo "sdpa rc=$? $(date +%s)" >> $R/progress.txt
    old_binary
    for i in $(seq ${ROUNDS:-2}); do
      for b in ${BS:-32 8}; do
        for which in old new ${SPIN0:+nospin} ${DEVSTAGE:+devstage}; do
          bin=$K; [ $which = old ] && bin=/tmp/kvpack-old
          extra=""; [ $which = nospin ] && extra="--fence-spin-microseconds 0"; [ $which = devstage ] && extra="--staging device"
          timeout ${T:-150} $bin bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --policy "snapkv(keep=0.25)" $extra --out $R/sessionsab-b$b-$which-$i.json > $R/sessionsab-b$b-$which-$i.txt 2>&1
          echo "sessionsab-b$b-$which-$i rc=$? $(date +%s)" >> $R/progress.txt
          pack
        done
      done
    done ;;
  microab) # live sessions in session groups stepping in their own tasks (--microbatches), MB counts (default "1 2 4") in turn over the same prefilled sessions, MROUNDS rounds (default 2), B = 32 at N = 32K, dense and SnapKV, serial appends within a group, EXTRA more bench options (microab-b32.json: a row per policy, round and count); cuDNN at the same shapes first
    timeout 120 python3 .carry/sdpa_reference.py --batch 32 --tokens 32768 > $R/sdpa-microab.json 2> $R/sdpa-microab.err; echo "sdpa-microab rc=$? $(date +%s)" >> $R/progress.txt
    timeout ${T:-240} $K bench session --backend vulkan --sessions ${BS:-32} --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --policy "snapkv(keep=0.25)" --microbatches ${MB:-1 2 4} --rounds ${MROUNDS:-2} ${EXTRA:-} --out $R/microab-b32.json > $R/microab-b32.txt 2>&1
    echo "microab-b32 rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  hostfloor) # issue 18: the least a host-driven decode call costs (`bench roundtrip`: B = 0 / 1 / 8 / 16 / 32 query blocks of 32 x 128 floats up and back through a pre-recorded submission, the fence polled), before and after the session bench's one-group steps at B = 8 and 32 (N = 32K, 2 layers, 16 steps, dense and SnapKV, one group and two, serial appends within a group, --trace); cuDNN at the dense and kept lengths first
    throwaway hostfloor-warmup-throwaway
    timeout 120 python3 .carry/sdpa_reference.py --batch 8 32 --tokens 8192 32768 > $R/sdpa-floor.json 2> $R/sdpa-floor.err; echo "sdpa-floor rc=$? $(date +%s)" >> $R/progress.txt
    timeout 60 $K bench roundtrip --batch 0 1 8 16 32 --iterations 2000 --json $R/roundtrip-1.json > $R/roundtrip-1.txt 2>&1; echo "roundtrip-1 rc=$? $(date +%s)" >> $R/progress.txt
    pack
    for b in ${BS:-8 32}; do
      timeout ${T:-150} $K bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --policy "snapkv(keep=0.25)" --microbatches 1 2 --trace --out $R/floor-session-b$b.json > $R/floor-session-b$b.txt 2>&1
      echo "floor-session-b$b rc=$? $(date +%s)" >> $R/progress.txt
      pack
    done
    timeout 60 $K bench roundtrip --batch 0 1 8 16 32 --iterations 2000 --json $R/roundtrip-2.json > $R/roundtrip-2.txt 2>&1; echo "roundtrip-2 rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  banksab) # issue 18: the pool's banks. The session bench at B = 32, N = 32K, 2 layers, 16 steps, one group and two, serial appends within a group, --trace: SnapKV on the default banks (as many as the device holds: each session's layers start at a bank of their own, so a call runs a decode per bank) against one bank (--banks 1), dense on the default against 3 (--banks 3, the fewest that hold it), alternating BROUNDS times (default 2) (banksab-POLICY-banksN-i)
    for i in $(seq ${BROUNDS:-2}); do
      for v in "snapkv:snapkv(keep=0.25):default" "snapkv:snapkv(keep=0.25):1" "dense:dense:default" "dense:dense:3"; do
        name=${v%%:*}; rest=${v#*:}; pol=${rest%:*}; nb=${rest##*:}
        session banksab-$name-banks$nb-$i --steps 16 --policy "$pol" --microbatches 1 2 $([ $nb = default ] || echo --banks $nb)
      done
    done ;;
  groupab) # issue 18: sessions opened together sharing their banks (--sessions-per-bank-group) against each session a bank of its own (the default), B = 32, N = 32K, 2 layers, 16 steps, one group and two, serial appends within a group, --trace: SnapKV with groups of 32, dense with groups of 16 (the most whose layer one 4 GiB bank holds) (groupab-POLICY-gN)
    for v in "snapkv:snapkv(keep=0.25):1" "snapkv:snapkv(keep=0.25):32" "dense:dense:1" "dense:dense:16"; do
      name=${v%%:*}; rest=${v#*:}; pol=${rest%:*}; n=${rest##*:}
      session groupab-$name-g$n --steps 16 --policy "$pol" --microbatches 1 2 --sessions-per-bank-group $n
    done ;;
  ratioab) # issue 18's ratio in one call: cuDNN SDPA and the f16 kernel alone at B = 32 N = 32K first and last; then RROUNDS rounds (default 2) of the session bench at B = 32, N = 32K, 2 layers, 16 steps, one group and two, serial appends within a group, --trace: SnapKV in bank groups of 32, dense on the default placement, on 3 banks, in bank groups of 16 (ratioab-POLICY-PLACEMENT-i)
    sdpa ratioab --batch 32 --tokens 8192 32768
    run ratioab-kernel-f16-1 "--batch 32 --tokens 32768" "--encodings f16"
    pack
    for i in $(seq ${RROUNDS:-2}); do
      for v in "snapkv:snapkv(keep=0.25):g32:--sessions-per-bank-group 32" "dense:dense:default:" "dense:dense:banks3:--banks 3" "dense:dense:g16:--sessions-per-bank-group 16"; do
        IFS=: read -r name pol place extra <<< "$v"
        session ratioab-$name-$place-$i --steps 16 --policy "$pol" --microbatches 1 2 $extra
      done
    done
    run ratioab-kernel-f16-2 "--batch 32 --tokens 32768" "--encodings f16"
    pack ;;
  mbgroups) # issue 18: session groups (--microbatches 1 2 3 4, MROUNDS rounds, default 2) over sessions sharing their banks, calls in flight 2 and 4, B = 32, N = 32K, 2 layers, 16 steps, serial appends within a group, --trace: SnapKV in bank groups of 32, dense in bank groups of 16 (mbgroups-POLICY-cifN); cuDNN at B = 32 N = 32K first
    sdpa mbgroups --batch 32 --tokens 8192 32768
    for v in "snapkv:snapkv(keep=0.25):32" "dense:dense:16"; do
      IFS=: read -r name pol g <<< "$v"
      for cif in 2 4; do
        session mbgroups-$name-cif$cif --steps 16 --policy "$pol" --microbatches ${MB:-1 2 3 4} --rounds ${MROUNDS:-2} --calls-in-flight $cif --sessions-per-bank-group $g
      done
    done ;;
  freeab) # issue 18: session groups stepping on their own (--free-running-groups) against groups that wait for each other at every step, B = 32, N = 32K, 2 layers, 24 steps, --microbatches 1 2 3 4 over the same prefilled sessions, 4 calls in flight, serial appends within a group, --trace: SnapKV in bank groups of 32, dense in bank groups of 16, FROUNDS rounds (default 1) (freeab-POLICY-MODE-i); cuDNN at B = 32 N = 32K first
    sdpa freeab --batch 32 --tokens 8192 32768
    for i in $(seq ${FROUNDS:-1}); do
      for v in "snapkv:snapkv(keep=0.25):32" "dense:dense:16"; do
        IFS=: read -r name pol g <<< "$v"
        for mode in free barrier; do
          session freeab-$name-$mode-$i --steps 24 --policy "$pol" --microbatches 1 2 3 4 --calls-in-flight 4 --sessions-per-bank-group $g $([ $mode = free ] && echo --free-running-groups)
        done
      done
    done ;;
  freetarget) # issue 18: free-running session groups (--free-running-groups), B = 32, N = 32K, 2 layers, 24 steps, 4 calls in flight, serial appends within a group, --trace: dense in bank groups of 16 at 2 groups, SnapKV in bank groups of 32 at 2 and 3 groups with split-K aiming at 256 (the default) and 512 workgroups, TROUNDS rounds (default 2), after a throwaway case (freetarget-POLICY-tN-i); cuDNN at B = 32 N = 32K first
    sdpa freetarget --batch 32 --tokens 8192 32768
    throwaway freetarget-warmup-throwaway
    session freetarget-dense-t256 --steps 24 --policy dense --microbatches 2 --rounds ${TROUNDS:-2} --calls-in-flight 4 --sessions-per-bank-group 16 --free-running-groups
    for i in $(seq ${TROUNDS:-2}); do
      for t in 256 512; do
        session freetarget-snapkv-t$t-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 2 3 --calls-in-flight 4 --sessions-per-bank-group 32 --free-running-groups --target-workgroups $t
      done
    done ;;
  freereserve) # issue 18: free-running session groups (--free-running-groups) with the decode's pages reserved after the prefill (--reserve, as a server reserves its pool) against not, B = 32, N = 32K, 2 layers, 24 steps, 4 calls in flight, serial appends within a group, --trace: dense in bank groups of 16 at 2 groups (reserved), SnapKV in bank groups of 32 at 2 and 3 groups, reserved and not, RVROUNDS rounds (default 2), after a throwaway case (freereserve-POLICY-MODE-i); cuDNN at B = 32 N = 32K first
    sdpa freereserve --batch 32 --tokens 8192 32768
    throwaway freereserve-warmup-throwaway
    for i in $(seq ${RVROUNDS:-2}); do
      for v in "dense:dense:16:2:reserve" "snapkv:snapkv(keep=0.25):32:2 3:reserve" "snapkv:snapkv(keep=0.25):32:2 3:plain"; do
        IFS=: read -r name pol g mb mode <<< "$v"
        session freereserve-$name-$mode-$i --steps 24 --policy "$pol" --microbatches $mb --calls-in-flight 4 --sessions-per-bank-group $g --free-running-groups $([ $mode = reserve ] && echo --reserve)
      done
    done ;;
  queues) # issue 18: the device pool's calls spread over 1, 2 or 4 compute queues (--queues; with more than one, each call's uploads are chained to the previous call's by semaphore and no barrier waits for the queue's earlier work), free-running session groups, B = 32, N = 32K, 2 layers, 24 steps, 4 calls in flight, serial appends within a group, --trace: SnapKV in bank groups of 32 at 2, 3 and 4 groups, dense in bank groups of 16 at 2 groups, QROUNDS rounds (default 2), after a throwaway case (queues-POLICY-qN-i); cuDNN at B = 32 N = 32K first
    sdpa queues --batch 32 --tokens 8192 32768
    throwaway queues-warmup-throwaway
    for i in $(seq ${QROUNDS:-2}); do
      for q in 1 2 4; do
        session queues-snapkv-q$q-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 2 3 4 --calls-in-flight 4 --sessions-per-bank-group 32 --free-running-groups --queues $q
      done
      for q in 1 2; do
        session queues-dense-q$q-$i --steps 24 --policy dense --microbatches 2 --calls-in-flight 4 --sessions-per-bank-group 16 --free-running-groups --queues $q
      done
    done ;;
  turnab) # issue 18: calls that plan, stage and (chained) record beside each other, submitting in the order they read, against calls one at a time from their reads to their submission (--calls-one-at-a-time, as e95ea7b ran them), alternating, TRROUNDS rounds (default 2), free-running session groups, B = 32, N = 32K, 2 layers, 24 steps, serial appends within a group, --trace: SnapKV in bank groups of 32 at 2, 3 and 4 groups on 1 and 4 queues with 4 calls in flight (turnab-snapkv-MODE-qN-i, MODE alone / beside), at 4 and 8 groups with 8 calls in flight on 4 queues (turnab-snapkv-beside-q4c8-i), dense in bank groups of 16 at 2 groups on 1 queue and at 2 and 4 groups on 4 (turnab-dense-beside-qN-i); cuDNN at B = 32 N = 32K first
    sdpa turnab --batch 32 --tokens 8192 32768
    throwaway turnab-warmup-throwaway
    for i in $(seq ${TRROUNDS:-2}); do
      for q in 1 4; do
        for mode in alone beside; do
          session turnab-snapkv-$mode-q$q-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 2 3 4 --calls-in-flight 4 --sessions-per-bank-group 32 --free-running-groups --queues $q $([ $mode = alone ] && echo --calls-one-at-a-time)
        done
      done
      session turnab-snapkv-beside-q4c8-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 4 8 --calls-in-flight 8 --sessions-per-bank-group 32 --free-running-groups --queues 4
      session turnab-dense-beside-q1-$i --steps 24 --policy dense --microbatches 2 --calls-in-flight 4 --sessions-per-bank-group 16 --free-running-groups --queues 1
      session turnab-dense-beside-q4-$i --steps 24 --policy dense --microbatches 2 4 --calls-in-flight 4 --sessions-per-bank-group 16 --free-running-groups --queues 4
    done ;;
  ratioq) # issue 18's ratio with calls on 4 queues (fences resolved in any order), free-running session groups, B = 32, N = 32K, 2 layers, 24 steps, serial appends within a group, --trace, RQROUNDS rounds (default 3): SnapKV in bank groups of 32 at 4 groups with 4 calls in flight (ratioq-snapkv-c4-i) and at 3, 4 and 6 groups with 6 (ratioq-snapkv-c6-i); dense in bank groups of 16 likewise at 4 groups (ratioq-dense-c4-i) and at 2, 4 and 6 groups with 6 (ratioq-dense-c6-i); cuDNN at B = 32 N = 32K first
    sdpa ratioq --batch 32 --tokens 8192 32768
    throwaway ratioq-warmup-throwaway
    for i in $(seq ${RQROUNDS:-3}); do
      for v in "snapkv:snapkv(keep=0.25):32:3 4 6" "dense:dense:16:2 4 6"; do
        IFS=: read -r name pol g mb <<< "$v"
        session ratioq-$name-c4-$i --steps 24 --policy "$pol" --microbatches 4 --calls-in-flight 4 --sessions-per-bank-group $g --free-running-groups --queues 4
        session ratioq-$name-c6-$i --steps 24 --policy "$pol" --microbatches $mb --calls-in-flight 6 --sessions-per-bank-group $g --free-running-groups --queues 4
      done
    done ;;
  queuecheck) # issue 18: the device pool's outputs on 4 queues against the CPU's (--check: one more step of 4 groups at once after the timed ones, no policy stage in between; exits 1 over 2e-2), SnapKV and dense, B = 32, N = 32K, 2 layers, 8 steps, free-running groups, 4 calls in flight (queuecheck-POLICY)
    for v in "snapkv:snapkv(keep=0.25):32" "dense:dense:16"; do
      IFS=: read -r name pol g <<< "$v"
      session queuecheck-$name --steps 8 --policy "$pol" --microbatches 4 --calls-in-flight 4 --sessions-per-bank-group $g --free-running-groups --queues 4 --check
    done ;;
  aimq) # issue 18: split-K aims for the session pool's small calls (8-16 sessions a layer at 8K kept tokens). cuDNN at B = 8, 16, 32, N = 8K; the f16 kernel alone at B = 8 and 16, N = 8K, aiming at 128 / 256 / 512 workgroups (aimq-kernel-bB-tT); then AQROUNDS rounds (default 2) of SnapKV in bank groups of 32 at 2, 3 and 4 groups, 6 calls in flight, 4 queues, aiming at 128 / 256 / 384 in turn (aimq-snapkv-tT-i), and dense in bank groups of 16 at 4 groups (aimq-dense-i), B = 32, N = 32K, 2 layers, 24 steps, free-running groups, serial appends within a group, --trace
    sdpa aimq --batch 8 16 32 --tokens 8192 32768
    throwaway aimq-warmup-throwaway
    for b in 8 16; do for t in 128 256 512; do run aimq-kernel-b$b-t$t "--batch $b --tokens 8192" "--encodings f16 --target-workgroups $t"; done; pack; done
    for i in $(seq ${AQROUNDS:-2}); do
      for t in 128 256 384; do
        session aimq-snapkv-t$t-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 2 3 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4 --target-workgroups $t
      done
      session aimq-dense-$i --steps 24 --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
    done ;;
  ratiobusy) # issue 18's ratio again with the device's busy time (the union of the calls' timestamped spans): cuDNN at B = 32, N = 8K and 32K first, a throwaway case, then RBROUNDS rounds (default 3) of dense in bank groups of 16 and SnapKV in bank groups of 32, in turn, each at 4 groups with 6 calls in flight on 4 queues, B = 32, N = 32K, 2 layers, 24 steps, free-running groups, serial appends within a group, --trace (ratiobusy-POLICY-i)
    sdpa ratiobusy --batch 32 --tokens 8192 32768
    throwaway ratiobusy-warmup-throwaway
    for i in $(seq ${RBROUNDS:-3}); do
      session ratiobusy-dense-$i --steps 24 --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
      session ratiobusy-snapkv-$i --steps 24 --policy "snapkv(keep=0.25)" --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4
    done ;;
  steady) # issue 18's ratio with every group's warm-up steps (WARMUP, default 1) finished before the timed steps (a binary with warmupSecondsByGroup; WARMUP needs --warmup-steps): cuDNN at B = 32, N = 8K and 32K first, a throwaway case, then STROUNDS rounds (default 3) of dense in bank groups of 16 and SnapKV in bank groups of 32, in turn, each at 4 groups with 6 calls in flight on 4 queues, B = 32, N = 32K, 2 layers, 40 steps, free-running groups, serial appends within a group, --trace (steady-POLICY-i)
    sdpa steady --batch 32 --tokens 8192 32768
    throwaway steady-warmup-throwaway
    for i in $(seq ${STROUNDS:-3}); do
      session steady-dense-$i --steps 40 --warmup-steps ${WARMUP:-1} --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
      session steady-snapkv-$i --steps 40 --warmup-steps ${WARMUP:-1} --policy "snapkv(keep=0.25)" --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4
    done ;;
  plansab) # issue 18: this binary (a lane's buffers made at their size on first use, plans kept across page counts, planning and buffer-creation times) against .carry/kvpack-old.xz (a previous one), one warm-up step (WARMUP), alternating PBROUNDS times (default 2), dense in bank groups of 16 and SnapKV in bank groups of 32 as `steady` (plansab-POLICY-WHICH-i); the GPU's clocks, power and throttle reasons sampled every 100 ms throughout (clocks-plansab.csv); cuDNN at B = 32, N = 8K and 32K first
    old_binary
    clocks_start plansab
    sdpa plansab --batch 32 --tokens 8192 32768
    throwaway plansab-warmup-throwaway
    for i in $(seq ${PBROUNDS:-2}); do
      for which in old new; do
        bin=$K; [ $which = old ] && bin=/tmp/kvpack-old
        K=$bin session plansab-dense-$which-$i --steps 40 --warmup-steps ${WARMUP:-1} --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
      done
      for which in old new; do
        bin=$K; [ $which = old ] && bin=/tmp/kvpack-old
        K=$bin session plansab-snapkv-$which-$i --steps 40 --warmup-steps ${WARMUP:-1} --policy "snapkv(keep=0.25)" --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4
      done
    done
    clocks_stop ;;
  steadyclock) # issue 18's ratio with the GPU's clocks up as under a server's steady load: WSTEPS warm-up steps (default 200; the first calls after a prefill find the SM clock lowered by idleness), then TSTEPS timed steps (default 200), CROUNDS rounds (default 2) of dense in bank groups of 16 and SnapKV in bank groups of 32 as `steady` (steadyclock-POLICY-i); clocks sampled every 50 ms (clocks-steadyclock.csv); cuDNN at B = 32, N = 8K and 32K first
    CLOCKMS=50 clocks_start steadyclock
    sdpa steadyclock --batch 32 --tokens 8192 32768
    throwaway steadyclock-warmup-throwaway
    for i in $(seq ${CROUNDS:-2}); do
      session steadyclock-dense-$i --steps ${TSTEPS:-200} --warmup-steps ${WSTEPS:-200} --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
      session steadyclock-snapkv-$i --steps ${TSTEPS:-200} --warmup-steps ${WSTEPS:-200} --policy "snapkv(keep=0.25)" --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4
    done
    clocks_stop ;;
  steadyab) # issue 18: .carry's kvpack-old against this binary at steadyclock's configuration (4 groups, 6 calls in flight, 4 queues, free-running, 200 warm-up and 200 timed steps), SnapKV in bank groups of 32 alternating SROUNDS times (default 2) (steadyab-snapkv-old-i / -new-i), dense in bank groups of 16 once with this binary (steadyab-dense); clocks every 50 ms; cuDNN at B = 32, N = 8K and 32K first
    old_binary
    CLOCKMS=50 clocks_start steadyab
    sdpa steadyab --batch 32 --tokens 8192 32768
    throwaway steadyab-warmup-throwaway
    g="--steps 200 --warmup-steps 200 --microbatches 4 --calls-in-flight 6 --free-running-groups --queues 4"
    session steadyab-dense $g --policy dense --sessions-per-bank-group 16
    for i in $(seq ${SROUNDS:-2}); do
      K=/tmp/kvpack-old session steadyab-snapkv-old-$i $g --policy "snapkv(keep=0.25)" --sessions-per-bank-group 32
      session steadyab-snapkv-new-$i $g --policy "snapkv(keep=0.25)" --sessions-per-bank-group 32
    done
    clocks_stop ;;
  groupsweep) # issue 18: SnapKV's session groups and calls in flight at steady clocks (200 warm-up steps, 200 timed): "GROUPS:CALLS" in SWEEP (default "4:6 3:6 4:8 6:8 8:8"), then dense at 4 groups and 6 calls once, B = 32, N = 32K, 2 layers, free-running groups on 4 queues, serial appends (groupsweep-POLICY-gG-cC); clocks every 50 ms (clocks-groupsweep.csv); cuDNN at B = 32, N = 8K and 32K first
    CLOCKMS=50 clocks_start groupsweep
    sdpa groupsweep --batch 32 --tokens 8192 32768
    throwaway groupsweep-warmup-throwaway
    for gc in ${SWEEP:-4:6 3:6 4:8 6:8 8:8}; do
      g=${gc%%:*}; c=${gc#*:}
      session groupsweep-snapkv-g$g-c$c --steps 200 --warmup-steps 200 --policy "snapkv(keep=0.25)" --microbatches $g --calls-in-flight $c --sessions-per-bank-group 32 --free-running-groups --queues 4
    done
    session groupsweep-dense-g4-c6 --steps 200 --warmup-steps 200 --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4
    clocks_stop ;;
  slowsteps) # issue 18: which steps are slow (the p99s): every timed step's time per group and the pipelines created during the timed steps (a binary of 6896b6e or later), dense in bank groups of 16 and SnapKV in bank groups of 32 at 4 groups with 6 calls in flight on 4 queues, B = 32, N = 32K, 2 layers, 40 steps (a page rollover at steps 16 and 32), free-running groups, serial appends within a group, --trace; then, unless NORESERVE=1, both with the decode's pages reserved after the prefill (--reserve) (slowsteps-POLICY[-reserve]); cuDNN at B = 32 N = 8K and 32K first
    sdpa slowsteps --batch 32 --tokens 8192 32768
    throwaway slowsteps-warmup-throwaway
    for res in "" $([ -n "${NORESERVE:-}" ] || echo -reserve); do
      session slowsteps-dense$res --steps 40 --policy dense --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 16 --free-running-groups --queues 4 ${res:+--reserve}
      session slowsteps-snapkv$res --steps 40 --policy "snapkv(keep=0.25)" --microbatches 4 --calls-in-flight 6 --sessions-per-bank-group 32 --free-running-groups --queues 4 ${res:+--reserve}
    done ;;
  intgroups) # issue 21: int8 and int4 pages with quantization groups of 32 and of 128 (one group a row at head dim 128), against f16, on their default kernels at GQA 4 and 8 (B = 8 N = 32K, B = 32 N = 32K, B = 1 N = 128K; intgroups-gG-SHAPE), after a throwaway case; cuDNN at both groups first
    int_grid intgroups "f16 int8/g32 int8/g128 int4/g32 int4/g128" ;;
  intnow) # issue 21: f16, int8/g32 and int4/g32 pages on their default kernels with this binary at GQA 4 and 8 (B = 8 N = 32K, B = 32 N = 32K, B = 1 N = 128K; intnow-gG-SHAPE), after a throwaway case; cuDNN at both groups first
    int_grid intnow "f16 int8/g32 int4/g32" ;;
  prepab) # this binary against .carry/kvpack-old.xz (a previous one), alternating PROUNDS times (default 2), session groups MB (default "1 2") over the same prefilled sessions, B = 32 at N = 32K, dense and SnapKV, serial appends within a group, the last step's timeline (--trace), RESERVE=1 adds this binary with the decode's pages reserved (--reserve: prepab-newres-i), EXTRA more bench options, TAG a name suffix (prepabTAG-which-i.json); cuDNN at the same shapes first
    timeout 120 python3 .carry/sdpa_reference.py --batch 32 --tokens 32768 > $R/sdpa-prepab.json 2> $R/sdpa-prepab.err; echo "sdpa-prepab rc=$? $(date +%s)" >> $R/progress.txt
    old_binary
    for i in $(seq ${PROUNDS:-2}); do
      for which in old new ${RESERVE:+newres}; do
        bin=$K; [ $which = old ] && bin=/tmp/kvpack-old
        res=""; [ $which = newres ] && res=--reserve
        timeout ${T:-150} $bin bench session --backend vulkan --sessions ${BS:-32} --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --policy "snapkv(keep=0.25)" --microbatches ${MB:-1 2} --trace $res ${EXTRA:-} --out $R/prepab${TAG:-}-$which-$i.json > $R/prepab${TAG:-}-$which-$i.txt 2>&1
        echo "prepab${TAG:-}-$which-$i rc=$? $(date +%s)" >> $R/progress.txt
        pack
      done
    done ;;
  stagingab) # live sessions' uploads staged in host memory (the default) against device-local host-visible memory (--staging device), this binary, alternating SROUNDS times (default 2), B = 32 at N = 32K, dense and SnapKV, serial appends (stagingab-b32-host-i / -device-i); cuDNN at the same shapes first
    timeout 120 python3 .carry/sdpa_reference.py --batch 32 --tokens 32768 > $R/sdpa-stagingab.json 2> $R/sdpa-stagingab.err; echo "sdpa-stagingab rc=$? $(date +%s)" >> $R/progress.txt
    for i in $(seq ${SROUNDS:-2}); do
      for which in host device; do
        timeout ${T:-150} $K bench session --backend vulkan --sessions 32 --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --policy "snapkv(keep=0.25)" --staging $which --out $R/stagingab-b32-$which-$i.json > $R/stagingab-b32-$which-$i.txt 2>&1
        echo "stagingab-b32-$which-$i rc=$? $(date +%s)" >> $R/progress.txt
        pack
      done
    done ;;
  sessionsint8) # int8 sessions: one pass per class against the mixed kernel, B = 8 and 32, alternating twice; dense once per B
    for b in 8 32; do
      timeout ${T:-200} $K bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --serial-appends --policy dense --out $R/int8-b$b-dense.json > $R/int8-b$b-dense.txt 2>&1
      for i in 1 2; do
        for k in automatic mixed; do
          timeout ${T:-200} $K bench session --backend vulkan --sessions $b --tokens 32768 --layers 2 --steps 16 --serial-appends --policy "quant(bits=8)" --kernel $k --out $R/int8-b$b-$k-$i.json > $R/int8-b$b-$k-$i.txt 2>&1
          echo "int8-b$b-$k-$i rc=$? $(date +%s)" >> $R/progress.txt
          pack
        done
      done
    done ;;
  model) # SmolLM2 from parts carried over two calls (an xz stream cut in two: .carry/smollm2.xz.part-a, .m1/smollm2.xz.part-b; checked against .carry/smollm2.sha256, a line "HASH  /tmp/smollm2.gguf"): `bench model` on this machine's cores
    model_file
    timeout ${T:-200} $K bench model --model $M --prompt 512 --decode 32 --json > $R/bench-model-smollm2.json 2> $R/bench-model-smollm2.err
    echo "bench-model rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  serve) # `kvpack serve --backend vulkan` + `kvpack loadtest` with SmolLM2: dense against snapkv(keep=0.25) at the 2-core run's pool and load (128 MiB, 16 clients, 24 requests of 1200 words, 128 tokens)
    model_file
    port=18091
    for p in dense "snapkv(keep=0.25)"; do
      l=${p%%(*}
      start_server "$p" $port serve-$l
      /usr/bin/time -v timeout ${T:-240} $K loadtest --url http://127.0.0.1:$port --clients 16 --requests 24 --duration ${D:-230} --max-tokens 128 --prompt-words 1200 \
        --text .carry/GPL-3 --label "$p" --out $R/loadtest-$l.json --metrics-out $R/metrics-$l.txt > $R/loadtest-$l.txt 2>&1
      echo "loadtest-$l rc=$? $(date +%s)" >> $R/progress.txt
      kill -INT $spid; wait $spid; echo "serve-$l rc=$? $(date +%s)" >> $R/progress.txt
      port=$((port + 1))
      pack
    done ;;
  shutdown) # `kvpack serve --backend vulkan`: one completion, then SIGINT; the exit status (0 once the device is torn down on the releasing thread; 139 before). SmolLM2, or .carry/tiny.gguf where carried (a random Llama of head dim 64 written by Tests/KVPackDatasetsTests/python/tiny_gguf.py, so the check needs no model parts)
    if [ -f .carry/tiny.gguf ]; then M=.carry/tiny.gguf; else model_file; fi
    start_server "snapkv(keep=0.25)" 18099 shutdown-serve
    curl -s http://127.0.0.1:18099/v1/completions -H 'content-type: application/json' -d '{"prompt": "The quick brown fox", "max_tokens": 8, "temperature": 0}' > $R/shutdown-completion.json 2>&1
    kill -INT $spid; wait $spid; echo "shutdown-serve rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  needle) # the README's SmolLM2 needle sweep (1K-8K, depths 0-100, dense and the 32 default runs) on this machine's cores, timed
    model_file
    /usr/bin/time -v timeout ${T:-420} $K eval --model $M --needle --contexts 1K,2K,4K,8K --depths 0,25,50,75,100 --samples 1 --text .carry/GPL-3 \
      --out $R/needle-smollm2 > $R/needle-smollm2.txt 2>&1
    echo "needle rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  fidelity) # the default `kvpack eval --model` sweep with SmolLM2 (every seed policy and baseline, three budgets) on this machine's cores, timed
    model_file
    /usr/bin/time -v timeout ${T:-300} $K eval --model $M --text .carry/GPL-3 --out $R/fidelity-smollm2 > $R/fidelity-smollm2.txt 2>&1
    echo "fidelity rc=$? $(date +%s)" >> $R/progress.txt
    pack ;;
  coopmat) # issue 21: the cooperative-matrix kernels (decode_f16_coopmat, decode_int8_coopmat, decode_int4_coopmat). cuDNN SDPA at GQA 4 and 8 first; `bench vulkan --check` (each encoding's own kernel and the coopmat kernel against the CPU: f16, int8/g32 and int4/g32 pages, head dims 64 / 128 / 256, GQA 4 / 8, with and without a position mask, one split / split-K fused / merge pass), one process per encoding at once (coopmat-check-f16 / -int8 / -int4 .txt and .json, and int8/g64 at head dim 64, whose codes load 4 bytes at a time: coopmat-check-int8g64-d64); then head dim 128 at B=1 N=32K / 128K and B=8 N=32K, GQA 4 (32 query heads over 8) and GQA 8 (64 over 8), in turn ROUNDS times (default 2): f16 pages on the f16 kernel (--kernel f16: SHAPE-f16-i), int8/g32 and int4/g32 pages on their default kernels (SHAPE-int-i), and f16, int8/g32 and int4/g32 pages on the coopmat kernel (--kernel coopmat: SHAPE-coopmat-i); once, int8/g32 and int4/g32 on coopmat with split-K aiming at 1024 workgroups (SHAPE-coopmat-t1024); without QUICK also coopmat with workgroups of 64 (SHAPE-coopmat-wg64). With QUICK=1 ROUNDS=1 about 3 minutes on an H100. A device without the tile says so (coopmat-available.txt, progress.txt) and the rest still runs (its coopmat runs fail with the typed error)
    timeout 120 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 32768 131072 > $R/sdpa-coopmat-g4.json 2> $R/sdpa-coopmat-g4.err; echo "sdpa-coopmat-g4 rc=$? $(date +%s)" >> $R/progress.txt
    timeout 120 python3 .carry/sdpa_reference.py --batch 1 8 --tokens 32768 131072 --query-heads 64 > $R/sdpa-coopmat-g8.json 2> $R/sdpa-coopmat-g8.err; echo "sdpa-coopmat-g8 rc=$? $(date +%s)" >> $R/progress.txt
    pack
    if grep -q "decode tile 16x16x16 f16->f32: yes" $R/doctor.txt; then grep -i "cooperative" $R/doctor.txt > $R/coopmat-available.txt
    else echo "no 16x16x16 f16->f32 cooperative-matrix tile on this device (doctor.txt): coopmat cases report it unavailable" | tee $R/coopmat-available.txt >> $R/progress.txt; fi
    # The check's time is mostly the driver compiling pipelines (CPU): the three encodings at once.
    coopmat_check() { timeout 240 $K bench vulkan --check --check-encodings $2 --json $R/coopmat-check-$1.json > $R/coopmat-check-$1.txt 2>&1; echo "coopmat-check-$1 rc=$? $(date +%s)" >> $R/progress.txt; }
    # int8/g64 at head dim 64: pages of 5 tokens leave offsets 4 bytes off 8, so the codes load 4 bytes at a time (LOAD_WORDS 1;
    # g32 pages at d = 64 load 8 bytes, at 128 / 256 16 bytes).
    coopmat_check f16 f16 & c1=$!; coopmat_check int8 int8/g32 & c2=$!; coopmat_check int4 int4/g32 & c3=$!
    coopmat_check int8g64-d64 "int8/g64 --check-head-dims 64" & c4=$!; wait $c1 $c2 $c3 $c4
    pack
    throwaway coopmat-warmup-throwaway
    for shape in "g4-b1n32k:--batch 1 --tokens 32768" "g4-b1n128k:--batch 1 --tokens 131072" "g4-b8n32k:--batch 8 --tokens 32768" \
                 "g8-b1n32k:--batch 1 --tokens 32768 --query-heads 64" "g8-b1n128k:--batch 1 --tokens 131072 --query-heads 64" "g8-b8n32k:--batch 8 --tokens 32768 --query-heads 64"; do
      n=${shape%%:*}; a=${shape#*:}
      for i in $(seq ${ROUNDS:-2}); do
        run $n-f16-$i "$a" "--encodings f16 --kernel f16"
        run $n-int-$i "$a" "--encodings int8/g32 int4/g32"
        run $n-coopmat-$i "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat"
      done
      # More workgroups in flight for the int pages (fewer bytes a step than f16): split-K aiming at 1024.
      run $n-coopmat-t1024 "$a" "--encodings int8/g32 int4/g32 --kernel coopmat --target-workgroups 1024"
      [ -n "${QUICK:-}" ] || run $n-coopmat-wg64 "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat --workgroup-size 64"
      pack
    done ;;
  coopg8) # issue 21: what bounds the GQA 8 coopmat kernels (f16 at 0.81-0.88x cuDNN): f16 / int8/g32 / int4/g32 pages on --kernel coopmat at B=8 N=32K and B=1 N=128K, 64 query heads over 8, with the defaults and with one option changed each: no pipelining (the next step's words not held in registers: fewer registers), workgroups of 32 / 64 invocations, pages of 32 / 64 tokens, split-K aiming at 512 workgroups (coopg8-SHAPE-VARIANT); the f16 kernel beside them; cuDNN at GQA 8 first
    sdpa coopg8 --batch 1 8 --tokens 32768 131072 --query-heads 64
    throwaway coopg8-warmup-throwaway
    for shape in "b8n32k:--batch 8 --tokens 32768 --query-heads 64" "b1n128k:--batch 1 --tokens 131072 --query-heads 64"; do
      n=${shape%%:*}; a=${shape#*:}
      run coopg8-$n-f16kernel "$a" "--encodings f16 --kernel f16"
      for v in "default:" "nopipe:--pipelined false" "wg32:--workgroup-size 32" "wg64:--workgroup-size 64" "page32:--page-size 32" "page64:--page-size 64" "t512:--target-workgroups 512"; do
        run coopg8-$n-${v%%:*} "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat ${v#*:}"
      done
      pack
    done ;;
  coopsplits) # issue 21: the coopmat kernels' split count at GQA 8 (coopchunk: 32 splits at B=1 N=128K beat the rule's 86 by 13-19%, a smaller merge chunk alone did nothing): f16 / int8/g32 / int4/g32 on --kernel coopmat at pages per split PS (coopsplits-SHAPE-pPS; the rule's default as -default), the f16 kernel beside (coopsplits-SHAPE-f16kernel), at B=8 N=32K, B=1 N=128K, B=1 N=32K; cuDNN first
    sdpa coopsplits --batch 1 8 --tokens 32768 131072 --query-heads 64
    throwaway coopsplits-warmup-throwaway
    for shape in "b8n32k:--batch 8 --tokens 32768:64 128 186 256 512" "b1n128k:--batch 1 --tokens 131072:128 256 512 1024" "b1n32k:--batch 1 --tokens 32768:64 128 256"; do
      n=${shape%%:*}; rest=${shape#*:}; a="${rest%%:*} --query-heads 64"
      run coopsplits-$n-f16kernel "$a" "--encodings f16 --kernel f16"
      run coopsplits-$n-default "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat"
      for ps in ${rest#*:}; do run coopsplits-$n-p$ps "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat --pages-per-split $ps"; done
      pack
    done ;;
  coopsplitcheck) # issue 21: the coopmat kernels' outputs against the CPU at the split counts of SplitLimits.coopmat (as --pages-per-split, for binaries before 39569ad): GQA 8, f16 / int8/g32 / int4/g32, B=8 N=4K (4 splits), B=1 N=32K (32), B=8 N=32K (4) (coopsplitcheck-SHAPE)
    # `run`'s options come first, so the later --iterations and --cpu-max-tokens (the CPU check on) take effect.
    for shape in "b8n4k:--batch 8 --tokens 4096:64" "b1n32k:--batch 1 --tokens 32768:64" "b8n32k:--batch 8 --tokens 32768:512"; do
      n=${shape%%:*}; rest=${shape#*:}
      T=60 run coopsplitcheck-$n "${rest%%:*} --query-heads 64" "--encodings f16 int8/g32 int4/g32 --kernel coopmat --pages-per-split ${rest#*:} --iterations 5 --cpu-max-tokens 262144"
    done
    pack ;;
  coopchunk) # issue 21: the coopmat kernels' registers and waves: the fused merge's chunk (SPLIT_CHUNK 32 took 246-252 registers a thread, 16 took 159-186 in coopg8) and the split count (the one-kernel cap of 32 pages a token group gave 86 splits, 2.6 waves, at B=1 N=128K), f16 / int8/g32 / int4/g32 pages on --kernel coopmat at GQA 8 and 4 (coopchunk-gG-SHAPE-VARIANT: cC the chunk, pP pages per split, np without pipelining: the next step's rows not held in registers); the f16 kernel and the int pages' default kernels beside them; cuDNN at GQA 4 and 8 first
    sdpa coopchunk-g8 --batch 1 8 --tokens 32768 131072 --query-heads 64
    sdpa coopchunk-g4 --batch 1 8 --tokens 32768 131072
    throwaway coopchunk-warmup-throwaway
    # QUICK=1: the chunk of 16 at the default splits and at one wave of splits, only (a short call).
    if [ -n "${QUICK:-}" ]; then
      G8=("b8n32k:--batch 8 --tokens 32768:default c16 c16-np" "b1n128k:--batch 1 --tokens 131072:default c16 c16-p256 c16-p256-np")
      G4=("b8n32k:--batch 8 --tokens 32768:c16" "b1n128k:--batch 1 --tokens 131072:c16-p256")
    else
      G8=("b8n32k:--batch 8 --tokens 32768:default c16 c8 c16-p128 c16-p186 c16-np" "b1n128k:--batch 1 --tokens 131072:default c16 c16-p256 c16-p171 c32-p256 c16-p256-np" "b1n32k:--batch 1 --tokens 32768:default c16 c16-p64")
      G4=("b8n32k:--batch 8 --tokens 32768:c16 c16-p186" "b1n128k:--batch 1 --tokens 131072:c16-p256 c16-p171" "b1n32k:--batch 1 --tokens 32768:c16")
    fi
    for g in 8 4; do
      [ $g = 8 ] && shapes=("${G8[@]}") || shapes=("${G4[@]}")
      for shape in "${shapes[@]}"; do
        n=${shape%%:*}; rest=${shape#*:}; a="${rest%%:*} --query-heads $((8 * g))"
        run coopchunk-g$g-$n-f16kernel "$a" "--encodings f16 --kernel f16"
        run coopchunk-g$g-$n-intdefault "$a" "--encodings int8/g32 int4/g32"
        for v in ${rest#*:}; do
          [ $v = default ] && { run coopchunk-g$g-$n-default "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat"; continue; }
          c=${v%%-*}; w=${v%-np}; p=$([[ $w == *-p* ]] && echo "--pages-per-split ${w#*-p}")
          np=$([[ $v == *-np ]] && echo "--pipelined false")
          run coopchunk-g$g-$n-$v "$a" "--encodings f16 int8/g32 int4/g32 --kernel coopmat --merge-split-chunk ${c#c} $p $np"
        done
        pack
      done
    done ;;
  again) # the grid's f16 B=8 N=32K on its own (the grid has shown one-off slow medians there)
    run b8n32k-f16-again "--batch 8 --tokens 32768" "--encodings f16"
    pack ;;
  esac
done
pack
tail -3 $R/progress.txt
