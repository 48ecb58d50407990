# Shared by the scripts that build Vigil before running it (demo,
# benchmarks). Source it from a script whose working directory is the
# repository root.

# vigil_release_build DIR TARGET...: installs missing dependencies, then
# configures a Release build (no sanitizers) in DIR and builds the targets,
# showing the build log only when it fails.
vigil_release_build() {
  local build=$1 log
  shift
  scripts/install-deps.sh
  echo "==> Building Vigil (Release) into $build/"
  log=$(mktemp)
  if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIGIL_SANITIZE=OFF &&
         cmake --build "$build" -j"$(nproc)" --target "$@"; } >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    echo "$(basename "$0"): the build failed" >&2
    return 1
  fi
  rm -f "$log"
}
