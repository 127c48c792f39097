"""JobsService: converts proto to and from the domain (protos.py) and calls one Jobs method per RPC."""
from __future__ import annotations

from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu.jobs.v1 import jobs_pb2_grpc as pb_grpc
from tianshu_grpc_server.errors import InvalidArgument, Unavailable

from .jobs import Jobs
from .protos import batch_proto, endpoint_path, raw_line, result_proto, transition_proto, usage_proto
from .storage.batches import Batch


class JobsServicer(pb_grpc.JobsServiceServicer):
    def __init__(self):
        self._jobs: Jobs | None = None

    def attach(self, jobs: Jobs) -> None:
        self._jobs = jobs

    @property
    def jobs(self) -> Jobs:
        if self._jobs is None:
            raise Unavailable("the batch service is starting")
        return self._jobs

    async def CreateBatch(self, request, context):
        return pb.CreateBatchResponse(batch=batch_proto(await create_from(self.jobs, request)))

    async def GetBatch(self, request, context):
        return pb.GetBatchResponse(batch=batch_proto(await self.jobs.get(request.tenant_id, request.batch_id)))

    async def ListBatches(self, request, context):
        batches, token = await self.jobs.list(request.tenant_id, request.page_size, request.page_token)
        return pb.ListBatchesResponse(batches=[batch_proto(b) for b in batches], next_page_token=token)

    async def CancelBatch(self, request, context):
        return pb.CancelBatchResponse(batch=batch_proto(await self.jobs.cancel(request.tenant_id, request.batch_id)))

    async def GetBatchResults(self, request, context):
        if request.kind == pb.RESULT_KIND_UNSPECIFIED:
            raise InvalidArgument("kind", "RESULT_KIND_OUTPUT or RESULT_KIND_ERRORS")
        lines, token = await self.jobs.results(request.tenant_id, request.batch_id,
                                               request.kind == pb.RESULT_KIND_ERRORS, request.page_size,
                                               request.page_token)
        return pb.GetBatchResultsResponse(results=[result_proto(line) for line in lines], next_page_token=token)

    async def ListBatchTransitions(self, request, context):
        made = await self.jobs.transitions(request.tenant_id, request.batch_id)
        return pb.ListBatchTransitionsResponse(transitions=[transition_proto(t) for t in made])

    async def ListUsage(self, request, context):
        records = await self.jobs.usage(request.after_sequence, request.page_size)
        return pb.ListUsageResponse(records=[usage_proto(r) for r in records])


async def create_from(jobs: Jobs, request: pb.CreateBatchRequest) -> Batch:
    """CreateBatch and BatchSubmission take the same request."""
    path = endpoint_path(request.endpoint)
    if not path:
        raise InvalidArgument("endpoint", "ENDPOINT_CHAT_COMPLETIONS or ENDPOINT_EMBEDDINGS")
    return await jobs.create(request.tenant_id, path, [raw_line(line) for line in request.lines],
                             dict(request.metadata), request.completion_window, request.idempotency_key,
                             request.webhook_url)
