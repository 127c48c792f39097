"""The suite's fixtures, over the shared ones (tianshu_testing: a real embedded PostgreSQL 18
+ pgvector, a real inference server started in-process, vLLM on CPU + the real embedding model,
60-120 s; a channel and `stub` on the server under test; a fresh tenant per test). Unit tests
use none of the servers. Integration tests get, once per session, the RAG server on free ports
wired to both; tests that must know which server runs their ingest jobs get a RAG server on a
database of their own (servers on one database share its queue of jobs)."""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import grpc
import psycopg
import pytest
import pytest_asyncio
from tianshu.inference.v1 import inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc
from tianshu_testing.service import ServiceUnderTest

from tianshu_pg import migrations as pg_migrations
from tianshu_rag.server import RagServer
from tianshu_rag.settings import RagSettings
from tianshu_rag.storage import migrations

pytest_plugins = ["tianshu_testing.plugin"]

EMBED_MODEL = "all-minilm-l6-v2"


@pytest.fixture
def database_at(fresh_database, tmp_path, monkeypatch):
    """database_at(version) -> URL of a fresh database with the migrations up to version, as a
    release of that time left it (and recorded them)."""
    def migrate_to(version: int) -> str:
        url = fresh_database()
        package = f"rag_until_{version:04d}"
        folder = tmp_path / package / "migrations"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        for migration in migrations.available():
            if migration.version <= version:
                (folder / f"{migration.version:04d}_{migration.name}.sql").write_text(migration.sql)
        monkeypatch.syspath_prepend(str(tmp_path))
        assert pg_migrations.migrate(url, package, lock_key=1) == list(range(1, version + 1))
        return url
    return migrate_to


def rag_settings(pg_url: str, inference_port: int, **overrides) -> RagSettings:
    return RagSettings(port=0, metrics_port=0, database_url=pg_url, inference_target=f"127.0.0.1:{inference_port}",
                       shutdown_grace_seconds=1, **overrides)


@pytest.fixture(scope="session")
def make_rag_settings():
    return rag_settings


class EmbedGate(grpc.aio.ServerInterceptor):
    """Lets `allowed` Embed calls through, then holds each next one until let_through()
    (or until its server stops): the test decides exactly when embedding progresses.
    waiting counts the calls held now."""

    def __init__(self, allowed: int):
        self._permits = asyncio.Semaphore(allowed)
        self.held = asyncio.Event()
        self.waiting = 0
        self._waiting_changed = asyncio.Condition()

    async def intercept_service(self, continuation, details):
        if details.method.endswith("/Embed"):
            if self._permits.locked():
                self.held.set()
            await self._count_waiting(+1)
            try:
                await self._permits.acquire()
            finally:
                await self._count_waiting(-1)
        return await continuation(details)

    def let_through(self, calls: int = 1) -> None:
        self.held.clear()
        for _ in range(calls):
            self._permits.release()

    async def until_waiting(self, calls: int) -> None:
        """Returns once `calls` Embed calls are held at the same time."""
        async with self._waiting_changed:
            await self._waiting_changed.wait_for(lambda: self.waiting >= calls)

    async def _count_waiting(self, change: int) -> None:
        async with self._waiting_changed:
            self.waiting += change
            self._waiting_changed.notify_all()


@pytest_asyncio.fixture
async def gated_backend(inference_server):
    """start(allowed) -> (gate, server, port): the session's real inference servicer (models
    and all) on its own port behind an EmbedGate."""
    servers = []

    async def start(allowed: int):
        gate = EmbedGate(allowed)
        server = grpc.aio.server(interceptors=[gate])
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(inference_server.servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        return gate, server, port

    yield start
    for server in servers:
        await server.stop(0)


@dataclass
class GatedRag:
    server: RagServer
    stub: pb_grpc.RagServiceStub
    gate: EmbedGate
    backend: grpc.aio.Server
    url: str  # its database, its own

    async def start_ingest(self, tenant_id: str, documents: list[pb.Document], collection: str = "c") -> pb.IngestJob:
        """Creates the collection, starts an ingest of documents and returns its job."""
        await self.stub.CreateCollection(pb.CreateCollectionRequest(tenant_id=tenant_id, collection_id=collection))
        return (await self.stub.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=tenant_id, collection_id=collection, documents=documents))).job


@pytest.fixture
def gated_rag(fresh_database, gated_backend):
    """run(allowed=0, url=None, **settings): a RAG server of its own on the gated backend, as a
    context; on a fresh database unless url names one (a restart on the same database)."""
    @contextlib.asynccontextmanager
    async def run(allowed: int = 0, url: str | None = None, **overrides):
        gate, backend, port = await gated_backend(allowed)
        url = url or fresh_database()
        server = RagServer(rag_settings(url, port, **overrides))
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                yield GatedRag(server, pb_grpc.RagServiceStub(channel), gate, backend, url)
        finally:
            await server.stop()
    return run


@pytest_asyncio.fixture(scope="session")
async def rag_server(pg_url, inference_server):
    server = RagServer(rag_settings(pg_url, inference_server.port))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def service_under_test(rag_server) -> ServiceUnderTest:
    return ServiceUnderTest(rag_server.port, pb_grpc.RagServiceStub)


@pytest.fixture
def new_collection(stub, tenant):
    async def create(name: str = "docs", tenant_id: str | None = None) -> pb.Collection:
        response = await stub.CreateCollection(pb.CreateCollectionRequest(
            tenant_id=tenant_id or tenant, collection_id=name))
        return response.collection
    return create


async def wait_for_job(stub: pb_grpc.RagServiceStub, tenant_id: str, job_id: str) -> pb.IngestJob:
    last = None
    async for update in stub.WatchIngestJob(pb.WatchIngestJobRequest(tenant_id=tenant_id, job_id=job_id)):
        last = update.job
    return last


@pytest.fixture
def watch_job():
    return wait_for_job


@pytest.fixture
def ingest(stub, tenant):
    """Ingests documents [(id, text or bytes, content_type, metadata)] and waits for the job."""
    async def run(collection: str, docs, tenant_id: str | None = None, any_stub=None) -> pb.IngestJob:
        client = any_stub or stub
        owner = tenant_id or tenant
        documents = []
        for doc_id, content, content_type, *rest in docs:
            document = pb.Document(document_id=doc_id, content_type=content_type,
                                   content=content.encode() if isinstance(content, str) else content)
            if rest and rest[0]:
                document.metadata.update(rest[0])
            documents.append(document)
        started = await client.IngestDocuments(pb.IngestDocumentsRequest(
            tenant_id=owner, collection_id=collection, documents=documents))
        return await wait_for_job(client, owner, started.job.job_id)
    return run


@pytest.fixture
def search(stub, tenant):
    async def run(collection: str, query: str, mode=pb.RETRIEVAL_MODE_HYBRID, top_k: int = 5,
                  metadata_filter: dict | None = None, tenant_id: str | None = None, **options) -> list[pb.Hit]:
        request = pb.SearchRequest(tenant_id=tenant_id or tenant, collection_id=collection, query=query,
                                   options=pb.RetrievalOptions(mode=mode, top_k=top_k, **options))
        if metadata_filter:
            request.options.metadata_filter.update(metadata_filter)
        return list((await stub.Search(request)).hits)
    return run


@dataclass
class Pause:
    """Holds every call of a patched coroutine function at its start: `reached` is set when
    one arrives, and calls go on once `release` is set."""
    reached: asyncio.Event
    release: asyncio.Event


@pytest.fixture
def pause(monkeypatch):
    """pause(owner, name) -> Pause: patches owner.name (a module's function, or a class's
    method or static method) for this test, so the test decides when a step of the service
    runs relative to another call."""
    def hold(owner, name: str) -> Pause:
        original = getattr(owner, name)
        held = Pause(asyncio.Event(), asyncio.Event())

        async def paused(*args, **kwargs):
            held.reached.set()
            await held.release.wait()
            return await original(*args, **kwargs)

        monkeypatch.setattr(owner, name, paused)
        return held
    return hold


async def stored_inputs(url: str, job_id: str) -> int:
    """Rows of a job's documents kept for its run (ingest_job_inputs)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*) FROM ingest_job_inputs WHERE job_id = %s", (job_id,))
        return (await cur.fetchone())[0]


async def wait_for_lock_wait(url: str, statement_like: str, timeout: float = 60) -> None:
    """Returns once a backend whose current statement is LIKE statement_like waits for a
    lock: the proof that a call has reached the point where another transaction holds it up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            cur = await conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                     "AND query LIKE %s", (statement_like,))
            if (await cur.fetchone())[0]:
                return
            assert loop.time() < deadline, f"no statement like {statement_like!r} waited for a lock"
            await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def minimal_pdf():
    """A hand-written one-page PDF (Helvetica text lines) with a correct xref table."""
    def build(lines: list[str]) -> bytes:
        text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {text} ET"
        objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            "/Resources << /Font << /F1 5 0 R >> >> >>",
            f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        out, offsets = b"%PDF-1.4\n", []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n{body}\nendobj\n".encode()
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
        out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        return out
    return build


@pytest.fixture(scope="session")
def tokens():
    from tianshu_rag.ingestion.tokens import TokenCounter
    return TokenCounter()
