# histogan-gpu: the two set-up commands (README) and helpers.
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: test build release bench devices clean

## Build and run every test (OpenCL tests run on PoCL or any OpenCL device present; skipped with a message otherwise).
test:
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product histogan-gpu

devices: release
	.build/release/histogan-gpu devices

bench: release
	.build/release/histogan-gpu bench

clean:
	rm -rf .build

DEMO ?= demo
DEMO_STEPS ?= 900
BIN = .build/release/histogan-gpu
DEBS = ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libpng-dev libturbojpeg0-dev openmpi-bin libopenmpi-dev dataset-fashion-mnist

.PHONY: deps demo demo-recolor

## Install the Debian packages that are missing (needs root or sudo).
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" -ne 0 ] && echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; fi

## The first thing to run: demo data, a few minutes of training on the `auto` device, a grid whose rows follow
## six held-out target images, and the colour-control metrics of `evaluate`.
demo: deps release
	$(BIN) devices
	$(BIN) demo-data --output $(DEMO)/data --count 512 --resolution 32
	rm -rf $(DEMO)/targets && $(BIN) demo-data --output $(DEMO)/targets --count 6 --resolution 32 --seed 7
	rm -rf $(DEMO)/run
	$(BIN) train --data $(DEMO)/data --output $(DEMO)/run --resolution 32 --capacity 0.125 --latent 128 \
	    --mapping-layers 4 --bins 32 --batch 8 --steps $(DEMO_STEPS) --log-every 50 --sample-every 200 --checkpoint-every 200
	$(BIN) histogram $(DEMO)/targets/*.png --bins 32 --output $(DEMO)/targets.npy --plot $(DEMO)/targets.png
	$(BIN) generate --checkpoint $(DEMO)/run/checkpoint.safetensors --target $(DEMO)/targets/*.png \
	    --seeds 0-7 --truncation 1 --output $(DEMO)/grid.png
	$(BIN) evaluate --checkpoint $(DEMO)/run/checkpoint.safetensors --targets $(DEMO)/targets --per-target 8 \
	    --json $(DEMO)/evaluate.json
	@echo "demo: $(DEMO)/grid.png (rows: held-out targets, columns: seeds), $(DEMO)/targets.png (their histograms), $(DEMO)/run/samples/"

RECOLOR_STEPS ?= 500

## Recolouring on its own data in a few minutes: ReHistoGAN trained on 32 px demo images, then held-out 128 px demo
## images recoloured toward held-out targets at full size (pyramid up-sampling), and the evaluate-recolor metrics.
demo-recolor: deps release
	$(BIN) demo-data --output $(DEMO)/data --count 512 --resolution 32
	rm -rf $(DEMO)/targets && $(BIN) demo-data --output $(DEMO)/targets --count 6 --resolution 32 --seed 7
	rm -rf $(DEMO)/recolor-inputs && $(BIN) demo-data --output $(DEMO)/recolor-inputs --count 4 --resolution 128 --seed 11
	rm -rf $(DEMO)/rehisto $(DEMO)/recolored
	$(BIN) recolor-train --data $(DEMO)/data --output $(DEMO)/rehisto --resolution 32 --capacity 0.125 --latent 128 \
	    --mapping-layers 4 --bins 32 --batch 8 --steps $(RECOLOR_STEPS) --log-every 50 --sample-every 250 --checkpoint-every 250
	$(BIN) recolor --checkpoint $(DEMO)/rehisto/checkpoint.safetensors --input $(DEMO)/recolor-inputs \
	    --target $(DEMO)/targets --output $(DEMO)/recolored
	$(BIN) evaluate-recolor --checkpoint $(DEMO)/rehisto/checkpoint.safetensors --inputs $(DEMO)/recolor-inputs \
	    --targets $(DEMO)/targets --json $(DEMO)/evaluate-recolor.json
	@echo "demo-recolor: $(DEMO)/recolored/ (INPUT-TARGET.png at full size), $(DEMO)/rehisto/samples/ (top row: targets; rows: inputs)"
