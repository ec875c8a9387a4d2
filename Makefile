# The two commands: `make dev` runs the shop locally, `make test` runs every check.
.PHONY: dev test bench lighthouse tools fmt clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

# Not part of `make test`: writes docs/benchmark.md and fails when a budget is missed.
bench:
	@scripts/bench.sh

# Not part of `make test` (scores vary from run to run): writes docs/lighthouse.md.
lighthouse:
	@scripts/tools.sh python node stripe moto
	@PATH="$(CURDIR)/.cache/venv/bin:$$PATH" node tests/browser/lighthouse.mjs

tools:
	@scripts/tools.sh python node stripe moto

fmt:
	cargo fmt --all

clean:
	rm -rf target .local
