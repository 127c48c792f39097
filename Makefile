# The two commands: `make run` and `make test`. Both bootstrap whatever is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help bootstrap run test lock

help:
	@echo "make run   - bootstrap, start the local stack, print a working example (Ctrl-C stops it)"
	@echo "make test  - bootstrap, run every suite (proto, common, inference, rag, batch, gateway, cross, deploy)"
	@echo "             TIANSHU_TEST_ONLY=deploy make test checks compose, Dockerfiles, Kubernetes and Prometheus files"
	@echo "make bench-rag - RAG ingestion, search latency and HNSW recall into docs/benchmarks.md (ARGS='--chunks 20000' for a quick run)"
	@echo "                 ARGS='--scenario ingest-under-load': searches and embeddings while another tenant ingests"
	@echo "make lock  - re-resolve requirements/python.lock from requirements/python.in"

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python scripts/localstack.py run

test: bootstrap
	@scripts/test.sh

lock:
	@uv=$$(dirname $$(scripts/bootstrap-python.sh))/tools/bin/uv; \
	$$uv pip compile requirements/python.in --overrides requirements/overrides.txt \
	  --excludes requirements/excludes.txt --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements/python.lock

.PHONY: bench-inference
bench-inference: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/inference_bench.py $(ARGS)

.PHONY: bench-batch
bench-batch: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/batch_bench.py $(ARGS)

# Diagnostic, prints only: the batch lane's cost and an interactive call's wait, in one process.
.PHONY: bench-batch-lane
bench-batch-lane: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/batch_lane_probe.py $(ARGS)

.PHONY: bench-rag
bench-rag: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/rag_bench.py $(ARGS)

.PHONY: bench-gateway
bench-gateway: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/gateway_bench.py $(ARGS)

.PHONY: bench-tools
bench-tools: bootstrap
	@source build/env && PYTHONPATH=$$PYTHONPATH $$VENV/bin/python benchmarks/tools_bench.py $(ARGS)
