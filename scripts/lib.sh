# Sourced by test.sh and bench.sh: a work directory and background processes that are removed and
# stopped on every exit path. Set `work` after sourcing; append background pids to `pids`.
pids=()
work=""
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n $work ]] && rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
