#!/usr/bin/env bash
# Build the web console (web/ → web/dist) when its sources or lock file changed since the last build.
#   scripts/build_console.sh            strict: fails if Node.js/npm are missing or the build fails
#   scripts/build_console.sh --if-able  for `make run`: says what to install and returns 0, so the
#                                       API still starts (the console page then says how to build it)
set -euo pipefail
cd "$(dirname "$0")/../web"
lenient=false
[[ "${1:-}" == "--if-able" ]] && lenient=true

give_up() {
  echo "web console: $1" >&2
  if $lenient; then
    echo "web console: not built; the API starts anyway (http://.../api/v1). $2" >&2
    exit 0
  fi
  echo "$2" >&2
  exit 1
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  give_up "Node.js and npm are not installed." \
    "Install Node.js 20 and npm (Debian/Ubuntu: apt-get install -y nodejs npm), then run 'make console'."
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if (( major < 20 )); then
  give_up "Node.js $(node --version) is too old." "Install Node.js 20 or newer, then run 'make console'."
fi

# The stamp: a hash of everything the build reads. Same hash and a build present → nothing to do.
stamp=$( (cat package.json package-lock.json index.html vite.config.ts tsconfig.json; \
          find src -type f ! -name '*.test.ts' ! -name '*.d.ts' | LC_ALL=C sort | xargs cat) | sha256sum | cut -d' ' -f1)
if [[ -f dist/index.html && -f .build-stamp && "$(cat .build-stamp)" == "$stamp" ]]; then
  exit 0
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f node_modules/.lock-hash || "$(cat node_modules/.lock-hash)" != "$lock_hash" ]]; then
  echo "web console: npm ci"
  npm ci --no-audit --no-fund --loglevel=error || give_up "npm ci failed." "See the npm output above."
  echo "$lock_hash" > node_modules/.lock-hash
fi
echo "web console: building web/dist"
npm run --silent build >/dev/null || give_up "the build failed." "Run 'cd web && npm run build' to see why."
echo "$stamp" > .build-stamp
