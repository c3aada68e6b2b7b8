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
