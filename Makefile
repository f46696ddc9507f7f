# ganapps — the two set-up commands of the README, plus helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# two install flavours, one stamp each: `make demo` installs ganapps alone, `make test` adds the
# test extras (pytest, ruff, pyspark, ...); the test install includes the base one, so it marks both
BASE_STAMP := $(VENV)/.installed-base
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo demo-run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@ $(BASE_STAMP)

## demo: create the environment (no test tools), then run the demo below
demo: $(BASE_STAMP)
	@$(MAKE) --no-print-directory demo-run

# The demo, in an environment that exists: medGAN on the shipped MIMIC-III demo diagnoses
# (defaults) and 1,000 synthetic patients from the bundle, then the class-conditional GAN on the
# shipped digits and 64 threes. The cgan settings fit in about a minute on 2 CPU cores: half-width
# nets (--ngf/--ndf 32, ~2x faster), 12 epochs at lr 6e-4 with generator EMA; its judge reads
# ~0.92 of the generated digits as the class asked for (the defaults' 3 epochs: 0.67).
# Measured in bench/RESULTS.md (issue 17). `make demo-run DEMO_SEED=1` tries another seed.
DEMO := runs/demo
DEMO_SEED ?= 0
CGAN_DEMO := --epochs 12 --ngf 32 --ndf 32 --lr generator=6e-4 --lr discriminator=6e-4 --ema 0.999

define DEMO_SUMMARY
import json
med = json.load(open("$(DEMO)/medgan/metrics.json"))["metrics"]
dwp = med["dimension_wise_probability"]
dig = json.load(open("$(DEMO)/cgan/metrics.json"))["metrics"]
print()
print(f"medgan: code prevalences of the synthetic patients vs held-out real ones: r = {dwp['pearson_r_holdout']:.3f} "
      f"(real vs real: {dwp['pearson_r_real_train_vs_holdout']:.3f}); vs the training patients: {dwp['pearson_r']:.3f}")
print(f"cgan:   the judge reads {dig['class_accuracy']:.0%} of the generated digits as the class asked for "
      f"({dig['judge_accuracy_real']:.0%} of real ones; chance {dig['chance_accuracy']:.0%})")
print()
print("open $(DEMO)/medgan/report.html   medGAN: metrics, privacy, diagnostics, loss curves")
print("     $(DEMO)/synthetic-patients.csv   1,000 synthetic patients (subject_id, icd9_code)")
print("     $(DEMO)/cgan/report.html     cGAN: metrics, sample grids per epoch, loss curves")
print("     $(DEMO)/threes.png           64 generated threes")
endef
export DEMO_SUMMARY

demo-run:
	rm -rf $(DEMO)
	$(BIN)/ganapps run medgan --seed $(DEMO_SEED) --out $(DEMO)/medgan
	$(BIN)/ganapps generate $(DEMO)/medgan -n 1000 --seed $(DEMO_SEED) --out $(DEMO)/synthetic-patients.csv
	$(BIN)/ganapps run cgan $(CGAN_DEMO) --seed $(DEMO_SEED) --out $(DEMO)/cgan
	$(BIN)/ganapps generate $(DEMO)/cgan -n 64 --label 3 --seed $(DEMO_SEED) --out $(DEMO)/threes.png
	@$(BIN)/python -c "$$DEMO_SUMMARY"

## test: create the environment with the test tools and run linters and the test suite (CPU, ~minutes)
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: engine-overhead benchmark (results go to bench/RESULTS.md by hand, with the command)
bench: $(BASE_STAMP)
	$(BIN)/python bench/engine_overhead.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
