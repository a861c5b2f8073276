#!/usr/bin/env bash
# The one list of Debian packages cloister needs, and the check that installs what is missing.
# Used by `make demo`, `make check`, `make bench` and `make fuzz`: each system adds its packages
# here, nowhere else. As root the missing ones are installed with apt-get; otherwise we stop and
# print the exact command to run.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config      # toolchain
  clang libclang-rt-14-dev               # libFuzzer targets (make fuzz)
  libssl-dev                             # OpenSSL 3: crypto, TLS, X.509
  libcmocka-dev                          # unit tests
  libjansson-dev                         # JSON: --json output, test vectors
  libseccomp-dev                         # enclave sandbox
  liblua5.4-dev                          # Lua 5.4 (static liblua5.4.a): the trusted Lua sandbox
  wamerican                              # English words for `mapreduce gen text` (a fallback is built in)
  libzmq3-dev                            # ZeroMQ: SCBR router and clients, as the original used
  libmicrohttpd-dev libcurl4-openssl-dev # HTTP+JSON daemons and clients; libcurl: A-Sky's S3 store
  libsqlite3-dev                         # SQLite: the search engine (FTS5), A-Sky's membership store
  libpq-dev postgresql                   # PostgreSQL: A-Sky's replicated membership store (tests: initdb, pg_ctl)
  curl                                   # the HTTP examples of the docs (docs/search.md)
  chromium                               # headless browser: X-Search's search page (test_xsearch_proxy)
  wordnet-base                           # WordNet 3.0: Cyclosa's sensitive-topic dictionary
  nats-server libnats-dev                # NATS JetStream: the multi-node data plane (src/bus)
  gnuplot-nox                            # benchmark plots
  valgrind                               # constant-time check of the pairing code (memcheck)
  clang-format                           # the style check (tests/style, .clang-format)
)

# node and npm run the HPKE/pairing interop checks; an existing node (any source) is enough.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "cloister: missing Debian packages; run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "cloister: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
