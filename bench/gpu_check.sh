#!/usr/bin/env bash
# The CUDA path, checked whenever a GPU is at hand (issue 17): every app one short epoch on CUDA
# with --amp auto, a distributed NCCL run under torchrun (one process), `ganapps score` and
# `ganapps translate` on the GPU. Each check prints PASS/FAIL and its time; the script exits 1
# if any failed. Outputs go to ${OUT:-/tmp/gpu_check}.
#
#     bash bench/gpu_check.sh                 # from the repository root, with the venv active or at .venv
#     DEVICE=cpu AMP=off bash bench/gpu_check.sh   # the same commands on CPU (checks the script itself)
set -u
OUT=${OUT:-/tmp/gpu_check}
DEVICE=${DEVICE:-cuda}
AMP=${AMP:-auto}
GANAPPS=${GANAPPS:-$( [ -x .venv/bin/ganapps ] && echo .venv/bin/ganapps || echo ganapps )}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
rm -rf "$OUT" && mkdir -p "$OUT"
failed=0

check() {  # check NAME COMMAND...: run it, log to $OUT/NAME.log, report
  local name=$1; shift
  local start=$SECONDS
  if "$@" >"$OUT/$name.log" 2>&1; then
    echo "PASS $name ($((SECONDS - start)) s)"
  else
    echo "FAIL $name ($((SECONDS - start)) s): tail of $OUT/$name.log"; tail -5 "$OUT/$name.log"; failed=1
  fi
}

if [ "$DEVICE" = cuda ]; then
  "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0), torch.__version__)" || exit 1
fi
"$PYTHON" -m torch.utils.collect_env >"$OUT/collect_env.txt" 2>&1 || true

GPU="--device $DEVICE --amp $AMP --seed 0"
check dcgan      "$GANAPPS" -q run dcgan     --epochs 1 $GPU --out "$OUT/dcgan"
check cgan       "$GANAPPS" -q run cgan      --epochs 1 $GPU --out "$OUT/cgan"
check medgan     "$GANAPPS" -q run medgan    --epochs 1 $GPU --out "$OUT/medgan"
check tabular    "$GANAPPS" -q run tabular   --epochs 1 $GPU --out "$OUT/tabular"
check ecommerce  "$GANAPPS" -q run ecommerce --epochs 1 $GPU --out "$OUT/ecommerce"
check fints      "$GANAPPS" -q run fints     --epochs 1 $GPU --out "$OUT/fints"
check fraud      "$GANAPPS" -q run fraud     --epochs 1 $GPU --out "$OUT/fraud"
check pix2pix    "$GANAPPS" -q run pix2pix   --epochs 1 $GPU --out "$OUT/pix2pix"
check cyclegan   "$GANAPPS" -q run cyclegan  --epochs 1 $GPU --out "$OUT/cyclegan"
FP16=$([ "$DEVICE" = cuda ] && echo fp16 || echo off)
# fp16 explicitly: the GradScaler path and the gradient penalty's AMP recipe (WGAN-GP apps)
check tabular-fp16 "$GANAPPS" -q run tabular --epochs 1 --device "$DEVICE" --amp $FP16 --seed 0 --out "$OUT/tabular-fp16"
check fints-fp16   "$GANAPPS" -q run fints   --epochs 1 --device "$DEVICE" --amp $FP16 --seed 0 --out "$OUT/fints-fp16"
# NCCL: the distributed path with one process (torchrun sets RANK/WORLD_SIZE; the CLI picks nccl on CUDA)
check nccl "$PYTHON" -m torch.distributed.run --standalone --nproc-per-node 1 -m ganapps \
    -q run dcgan --epochs 1 --device "$DEVICE" --seed 0 --out "$OUT/nccl"
check generate  "$GANAPPS" generate "$OUT/cgan" -n 64 --label 3 --device "$DEVICE" --out "$OUT/threes.png"
check score     "$GANAPPS" score "$OUT/fraud" --data creditcard-sample --device "$DEVICE" --out "$OUT/scores.csv"
check translate "$GANAPPS" translate "$OUT/pix2pix" --input datasets/facades/pix2pix --device "$DEVICE" --out "$OUT/translated"
exit $failed
