#!/usr/bin/env bash
# The demo: a model (trained once), a worker, and the simulator feeding it
# live. Ctrl-C stops the worker and the simulator; the stack keeps running
# until `make stack-down`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAUST=$ROOT/.venv/bin/faust
RATE=${DEMO_RATE:-200}
USERS=${DEMO_USERS:-2000}
USERS_SEED=1 # the model is trained on these users, and the demo simulates them

set -a
eval "$("$ROOT/stack/stack.sh" env)"
set +a
export TXWATCH_MODEL_PATH=${TXWATCH_MODEL_PATH:-$ROOT/var/model/txwatch-model.npz}
mkdir -p "$ROOT/var"
cd "$ROOT/var"

# Trained once, and again when this version cannot use the file (an older format).
if ! "$(dirname "$FAUST")/python" -c 'import sys; from models.artifact import ModelArtifact
ModelArtifact.load(sys.argv[1])' "$TXWATCH_MODEL_PATH" 2>/dev/null; then
  echo "demo: training the model (missing or of an older format; about a minute)"
  "$FAUST" -A app train --users "$USERS" --count 100000 --seed "$USERS_SEED"
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT

"$FAUST" -A app worker -l info &
pids+=($!)
until curl -fs "http://127.0.0.1:${WEB_PORT:-6066}/stats" >/dev/null 2>&1; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "demo: the worker exited" >&2; exit 1; }
  sleep 1
done
echo "demo: worker on http://127.0.0.1:${WEB_PORT:-6066}/ ; simulating $RATE transactions/s for $USERS users"
# Every run simulates the same users (those the model was trained on, same
# ids, same habits), so the profiles the worker keeps stay theirs; their
# clocks go on from the day after the newest transaction already sent (today
# at the earliest, so event times look live). The transactions are new each
# run: ids are unique per seed, and a repeated one would be taken for a
# duplicate of an alert an earlier demo stored.
"$FAUST" -A app produce --users "$USERS" --rate "$RATE" --count 100000000 --fraud-rate 0.01 \
  --users-seed "$USERS_SEED" --seed "$(date +%s)" --start continue &
pids+=($!)
wait -n "${pids[@]}"
