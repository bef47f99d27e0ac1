# SIM-Modem-API: build, test and run the stack. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO            ?= go
BIN           := bin
PKGS          := ./modem/... ./simulator/... ./services/relay/... ./services/api/... ./test/...
CMDS          := simulator/cmd/simulator services/relay/cmd/relay
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME      ?= 5s
CROSS_TARGETS := linux/arm/7 linux/arm64 linux/amd64

export CGO_ENABLED ?= 0

.PHONY: help build run smoke test test-go lint fmt fuzz cross bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build every binary for this machine into bin/
	@mkdir -p $(BIN)
	@for c in $(CMDS); do echo "build $$c"; $(GO) build -trimpath -o $(BIN)/ ./$$c; done

run: build ## run the whole stack against the simulator (Ctrl-C stops it)
	./scripts/run-stack

smoke: build ## start the stack as `make run` does, drive it once, stop it
	./scripts/run-stack --check

test: lint test-go fuzz cross smoke ## every check CI runs: lint, tests with -race, fuzz, cross-builds, run smoke test

test-go: ## unit and end-to-end tests with the race detector
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m $(PKGS)

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install $(STATICCHECK)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

fmt: ## rewrite the sources gofmt-clean
	gofmt -w $$(git ls-files '*.go')

fuzz: ## run every fuzz target for FUZZTIME (default 5s)
	CGO_ENABLED=1 ./scripts/fuzz-all $(FUZZTIME)

cross: ## CGO_ENABLED=0 builds of every binary for linux/arm (GOARM=7), linux/arm64, linux/amd64
	@for t in $(CROSS_TARGETS); do \
	  IFS=/ read -r os arch arm <<< "$$t"; \
	  for c in $(CMDS); do \
	    echo "cross $$os/$$arch$${arm:+ GOARM=$$arm} $$c"; \
	    GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -o $(BIN)/$$os-$$arch$${arm:+v$$arm}/ ./$$c; \
	  done; \
	done

bench: ## benchmarks (figures, not pass/fail)
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean: ## remove build output
	rm -rf $(BIN) .run
