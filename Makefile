# The two commands: `make dev` runs the shop locally, `make test` runs every check.
.PHONY: dev test bench tools fmt clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

# Not part of `make test`: writes docs/benchmark.md and fails when a budget is missed.
bench:
	@scripts/bench.sh

tools:
	@scripts/tools.sh python node stripe moto

fmt:
	cargo fmt --all

clean:
	rm -rf target .local
