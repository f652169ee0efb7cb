#!/usr/bin/env bash
# Dependency advisories, offline: cargo audit over Cargo.lock against the
# RustSec advisory database snapshot, with the ignores (and their reasons) in
# .cargo/audit.toml. Then the check's own test: the same run against a copy
# of the database holding a fabricated advisory for a crate in Cargo.lock
# must fail, or the check is not checking anything.
#
# The database: $ADVISORY_DB, else ../shared/advisory-db beside the checkout.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DB="${ADVISORY_DB:-$ROOT/../shared/advisory-db}"
if [ ! -d "$DB/crates" ]; then
  echo "advisories: no RustSec advisory database at $DB (set ADVISORY_DB)" >&2
  exit 1
fi

# A copy: cargo audit may write next to the database, and the self-test
# adds a file.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$DB" "$WORK/db"

cd "$ROOT"
echo "==> cargo audit against $(head -c 120 "$DB/SNAPSHOT" 2>/dev/null || echo "$DB")"
cargo audit --db "$WORK/db" --no-fetch

# A crate certainly in Cargo.lock, with no release that fixes it.
mkdir -p "$WORK/db/crates/axum"
cat > "$WORK/db/crates/axum/RUSTSEC-2099-0001.md" <<'ADVISORY'
```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "axum"
date = "2099-01-01"
categories = ["denial-of-service"]

[versions]
patched = [">= 99.0.0"]
```

# Fabricated advisory

The advisory check's own test: a run that passes with this is broken.
ADVISORY
if out="$(cargo audit --db "$WORK/db" --no-fetch 2>&1)"; then
  echo "advisories: a fabricated advisory for axum was not reported" >&2
  exit 1
fi
if ! grep -q "RUSTSEC-2099-0001" <<<"$out"; then
  echo "advisories: the check failed, but not on the fabricated advisory:" >&2
  echo "$out" >&2
  exit 1
fi
echo "==> a fabricated advisory for axum fails the check, as it must"
