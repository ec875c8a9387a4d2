# The two commands: `make dev` runs the shop locally, `make test` runs every check.
.PHONY: dev test tools fmt clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

tools:
	@scripts/tools.sh python node

fmt:
	cargo fmt --all

clean:
	rm -rf target .local
