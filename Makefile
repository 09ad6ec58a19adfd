# Earshot: the two commands that matter are `make run` and `make test`.
GO     ?= go
BIN    := bin/earshot
CONFIG ?= earshot.example.yaml
export PATH := $(PATH):/usr/local/go/bin
# What `earshot --version` prints: the git tag or commit, else "dev".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test test-short bench bench-score bench-scale faults fuzz eval model lint clickhouse clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/earshot

# Build, make sure a ClickHouse exists, migrate, run one collection pass over
# every source of $(CONFIG) (the example's bundled demo site works offline),
# and print the trend report. With EARSHOT_CLICKHOUSE set, that server is
# used; otherwise earshot runs a private clickhouse-server under var/.
run: build clickhouse
	$(BIN) --config $(CONFIG) config validate
	$(BIN) --config $(CONFIG) migrate
	$(BIN) --config $(CONFIG) collect
	$(BIN) --config $(CONFIG) report --since 30d

# Every test, integration tests included: they start their own
# clickhouse-server (skipped with a message when it is not installed,
# a failure under CI=true).
test:
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

# Speed and memory figures; each benchmark reports against a baseline
# measured in the same run where there is one.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Whole-product figures on generated stores of 1M and 10M mentions
# against an empty store (cached under var/bench-scale; several GB).
bench-scale: build
	$(GO) run ./internal/benchscale -bin $(BIN)

bench-score:
	$(GO) test -run '^$$' -bench 'Score|Govader' -benchmem ./scoring

# The long versions of the fault tests (internal/faults): kill -9 at 80
# points, ClickHouse stopped 30 s under the daemon, receiver chaos. The short
# versions run in `make test`.
faults:
	EARSHOT_FAULTS_LONG=1 $(GO) test -count=1 -timeout 30m -v ./internal/faults

# A short run of every fuzz target; the corpus lives in testdata/fuzz.
fuzz:
	$(GO) test ./importer -run '^$$' -fuzz FuzzRead -fuzztime 30s
	$(GO) test ./collectors/schemaorg -run '^$$' -fuzz FuzzExtractJSONLD -fuzztime 30s
	$(GO) test ./collectors/schemaorg -run '^$$' -fuzz FuzzExtractHTML -fuzztime 30s
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./collectors/selector -run '^$$' -fuzz FuzzParseRating -fuzztime 30s
	$(GO) test ./collectors/selector -run '^$$' -fuzz FuzzParseDate -fuzztime 30s
	$(GO) test ./mention -run '^$$' -fuzz FuzzNormalize -fuzztime 30s
	$(GO) test ./scoring -run '^$$' -fuzz FuzzScore -fuzztime 30s

# Scorer quality: precision, recall and F1 of the negative class per
# language on the labelled dev sets (read in place: several are licensed for
# evaluation only and must not be copied here) and on our own hr/bs/sr set.
# Then the learned scorer, every dev item held out once: five models, each
# trained on four fifths of the dev sets and scored on the fifth it did not
# see, three ways (lexicons only, model only, combined), per language and per
# source (about 25 s on two cores; `train --compare 0.3` is the quick 70/30
# split).
EVAL_DATA ?= ../shared/data/sentiment/dev
eval: build
	$(BIN) eval --model none --sources $(EVAL_DATA) scoring/testdata/hbs.jsonl
	$(BIN) train --cross 5 --sources $(EVAL_DATA)

# The model built into the binary (scoring/model/default.model), trained
# only on the sets whose terms allow shipping derived weights (CC BY, MPL,
# CC BY-SA; see scoring/lexicons/SOURCES.md). Same data and seed, same
# bytes: the files are read in place and sorted, never copied here.
MODEL_SOURCES := uci-yelp,uci-amazon,shopee-tl-stars,indonlu-smsa
model: build
	$(BIN) train --name default --only $(MODEL_SOURCES) --seed 13 \
		--out scoring/model/default.model $(EVAL_DATA)/en.jsonl $(EVAL_DATA)/tl.jsonl $(EVAL_DATA)/id.jsonl
	$(GO) build -o $(BIN) ./cmd/earshot

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Installs Debian's clickhouse-server when no ClickHouse is configured or
# installed and this user may install packages.
clickhouse:
	@scripts/ensure-clickhouse.sh

clean:
	rm -rf bin
