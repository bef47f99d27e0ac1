# SIM-Modem-API: build, test and run the stack. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO            ?= go
BIN           := bin
PKGS          := ./modem/... ./simulator/... ./services/relay/... ./services/api/... ./test/...
PG_PKGS       := ./services/api/internal/store/... ./services/api/internal/lease/... ./services/api/internal/fleet/... ./test/e2e/...
CMDS          := simulator/cmd/simulator services/relay/cmd/relay services/api/cmd/api
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

run: build ## run the whole stack against the simulator (Ctrl-C stops it); MODEMS=2 (up to 4) for several simulated modems
	./scripts/run-stack

smoke: build ## start the stack as `make run` does (one modem, then two), drive it once, stop it
	MODEMS=1 ./scripts/run-stack --check
	MODEMS=2 ./scripts/run-stack --check

test: lint test-go fuzz cross smoke ## every check CI runs: lint, tests with -race, fuzz, cross-builds, run smoke test

test-go: ## unit and end-to-end tests with the race detector, then those with API_TEST_DATABASE again on PostgreSQL
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m $(PKGS)
	API_TEST_DATABASE=postgres CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m $(PG_PKGS)

lint: ## repository hygiene, gofmt, go vet and staticcheck
	./scripts/check-repo
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install $(STATICCHECK)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

fmt: ## rewrite the sources gofmt-clean
	gofmt -w $$(git ls-files '*.go')

fuzz: ## run every fuzz target for FUZZTIME (default 5s), FUZZ_JOBS (default: the CPUs) at a time
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

.PHONY: bench-relay
bench-relay: ## the relay against ser2net and socat on the simulator: latency, CPU, throughput, memory (installs them)
	./scripts/bench-relay

clean: ## remove build output
	rm -rf $(BIN) .run

# ---- deployment (issue #5): images, compose and qemu tests, install -------
.PHONY: images compose-test compose-cluster-test qemu-test install

PLATFORMS        ?= linux/amd64 linux/arm/v7 linux/arm64
PREFIX           ?= /usr/local
DESTDIR          ?=
SYSTEMD_UNIT_DIR ?= /etc/systemd/system
UDEV_RULES_DIR   ?= /etc/udev/rules.d
CONF_DIR         ?= /etc/sim-modem-api

images: ## container images from static binaries, no registry needed (PLATFORMS="linux/amd64 linux/arm/v7 linux/arm64")
	./scripts/images $(PLATFORMS)

compose-test: ## the compose stacks on the simulator on a real Docker engine: one api (SMS end to end, health, metrics, Prometheus checks), then two on PostgreSQL
	./scripts/compose-e2e
	./scripts/compose-cluster-e2e

compose-cluster-test: ## the cluster's compose stack alone: two api instances on PostgreSQL, two simulated modems, one instance killed
	./scripts/compose-cluster-e2e

qemu-test: ## the linux/arm/v7 binaries under qemu-arm-static: one SMS end to end, resident memory
	./scripts/qemu-arm

install: ## relay + api, systemd units, udev rule under $(DESTDIR) (PREFIX=/usr/local; for a Pi 2 from elsewhere: GOARCH=arm GOARM=7)
	@rm -rf dist/install && mkdir -p dist/install
	@for c in services/relay/cmd/relay services/api/cmd/api; do \
	  if ls $$c/*.go >/dev/null 2>&1; then echo "build $$c"; $(GO) build -trimpath -ldflags='-s -w' -o dist/install/ ./$$c; \
	  else echo "install: $$c has no Go files yet: skipped"; fi; \
	done
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(UDEV_RULES_DIR) $(DESTDIR)$(CONF_DIR)
	install -m 0755 dist/install/* $(DESTDIR)$(PREFIX)/bin/
	@for u in deploy/systemd/*.service; do \
	  sed -e 's#@BINDIR@#$(PREFIX)/bin#g' -e 's#@CONFDIR@#$(CONF_DIR)#g' $$u > dist/install/$${u##*/}; \
	  install -m 0644 dist/install/$${u##*/} $(DESTDIR)$(SYSTEMD_UNIT_DIR)/; \
	done
	install -m 0644 deploy/udev/76-sim-modem-api.rules $(DESTDIR)$(UDEV_RULES_DIR)/
	@for e in relay api; do \
	  if [ -e $(DESTDIR)$(CONF_DIR)/$$e.env ]; then echo "install: keeping $(DESTDIR)$(CONF_DIR)/$$e.env"; \
	  else install -m 0640 deploy/systemd/$$e.env $(DESTDIR)$(CONF_DIR)/; fi; \
	done
	@echo "installed under $(DESTDIR)/. On the Pi: systemctl daemon-reload; udevadm control --reload; udevadm trigger;"
	@echo "  systemctl enable --now sim-modem-relay sim-modem-api   (deploy/README.md, 'Without Docker')"
