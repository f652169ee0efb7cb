# The two commands of the README: `make run` and `make test`. Each installs
# what it needs first (scripts/tools.sh skips what is present).

SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export LEPTOS_SITE_ROOT ?= target/site

.PHONY: test-advisories run test bench bench-ui tools-run tools-test build-release build-debug test-rust test-e2e test-production lint fmt clean-data

## make run: build the release console and serve it on http://127.0.0.1:3000
run: tools-run build-release
	./target/release/server --demo

## make test: every test, Rust then Playwright in Debian's Chromium, then the
## production build of the server (last: it rebuilds target/debug/server
## without the emulator the end-to-end tests run on)
test: tools-test test-advisories build-debug test-rust test-e2e test-production

tools-run:
	scripts/tools.sh release

tools-test:
	scripts/tools.sh test

build-release:
	cargo leptos build --release
	node scripts/precompress.mjs $(LEPTOS_SITE_ROOT)/pkg

build-debug:
	cargo leptos build

# Against SQLite, and PostgreSQL too (a throwaway server when TEST_POSTGRES_URL is unset).
test-rust:
	scripts/with-postgres.sh cargo test --workspace --exclude frontend

# cargo audit against the RustSec snapshot, offline (.cargo/audit.toml holds
# the ignores and why), and proof that a fabricated advisory fails it.
test-advisories:
	scripts/advisories.sh

# The server as the image builds it: no embedded emulator.
test-production:
	cargo test -p server --no-default-features --test without_emulator

test-e2e:
	cd end2end && CONSOLE_SERVER_BIN=$(CURDIR)/target/debug/server \
		LEPTOS_SITE_ROOT=$(CURDIR)/target/site npx playwright test

## make bench: benchmarks (release build), each writing a report under bench/,
## then bench/REPORT.md with every figure and the command behind it
bench: tools-run tools-test build-release
	scripts/with-postgres.sh cargo bench -p backend --bench audit_log
	cargo bench -p backend --bench releases
	cargo bench -p kube-emulator --bench throughput
	cargo bench -p server --bench runtime
	cargo bench -p server --bench load
	cargo bench -p server --bench api
	$(MAKE) bench-ui
	scripts/bench-report.sh

## The UI's budget (bundle, page time, interactive, event to green) in Chromium: bench/ui.md
bench-ui:
	cd end2end && CONSOLE_SERVER_BIN=$(CURDIR)/target/release/server \
		LEPTOS_SITE_ROOT=$(CURDIR)/target/site npx playwright test -c bench.config.ts

lint:
	cargo fmt --all -- --check
	python3 scripts/import-cycles.py --check
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
	cargo clippy -p server --no-default-features --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all
