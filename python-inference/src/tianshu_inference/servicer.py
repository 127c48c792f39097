"""gRPC servicer: converts proto <-> engine-neutral types and calls one engine method."""
from __future__ import annotations


from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc
from tianshu_grpc_server.errors import InvalidArgument, NotFound, Unavailable

from . import metrics, validation
from .embedder import Embedder
from .engine import Engine
from .generation import Delta, FinishReason, GenerationJob, ModelCard, ToolCall
from .reranker import CrossEncoderReranker, bi_encoder_scores
from .tool_calls import Mode, Piece, ToolUse

_FINISH = {FinishReason.STOP: pb.FINISH_REASON_STOP, FinishReason.LENGTH: pb.FINISH_REASON_LENGTH,
           FinishReason.ABORT: pb.FINISH_REASON_ABORT, FinishReason.TOOL_CALLS: pb.FINISH_REASON_TOOL_CALLS}
_KIND = {"generate": pb.MODEL_KIND_GENERATE, "embed": pb.MODEL_KIND_EMBED, "rerank": pb.MODEL_KIND_RERANK}


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    def __init__(self, limits: validation.Limits):
        self._limits = limits
        self._engine: Engine | None = None
        self._embedders: list[Embedder] = []
        self._reranker: CrossEncoderReranker | None = None

    def attach_reranker(self, reranker: CrossEncoderReranker) -> None:
        """A cross-encoder, where the deployment has one; called before attach()."""
        self._reranker = reranker

    def attach(self, engine: Engine, embedders: list[Embedder]) -> None:
        """Called by serve() once the models have loaded; until then calls get UNAVAILABLE.
        The first embedder answers Embed calls that name no model."""
        self._engine, self._embedders = engine, embedders

    async def Generate(self, request: pb.GenerateRequest, context) -> pb.GenerateResponse:
        engine, job, tools = await self._prepare(request.generation)
        texts = [""] * job.sampling.n
        logprobs: list[list] = [[] for _ in range(job.sampling.n)]
        finish = [FinishReason.ABORT] * job.sampling.n
        completion_tokens = 0
        with metrics.GenerationTimer(engine.card.id, len(job.prompt_token_ids), job.priority) as timer:
            async for deltas in engine.generate(job):
                for delta in deltas:
                    timer.tokens(delta.token_count)
                    completion_tokens += delta.token_count
                    texts[delta.index] += delta.text
                    logprobs[delta.index].extend(_logprobs(delta))
                    if delta.finish_reason:
                        finish[delta.index] = delta.finish_reason
        choices = []
        for i in range(job.sampling.n):
            text, calls = texts[i], []
            if reader := engine.tool_reader(tools):
                text, calls = reader.whole(text, cut=finish[i] is FinishReason.LENGTH)
            choices.append(pb.Choice(index=i, text=text, finish_reason=_FINISH[_finish(finish[i], calls)],
                                     logprobs=logprobs[i], tool_calls=[_call(c) for c in calls]))
        return pb.GenerateResponse(model=engine.card.id, request_id=job.request_id, choices=choices,
                                   usage=_usage(len(job.prompt_token_ids), completion_tokens))

    async def GenerateStream(self, request: pb.GenerateStreamRequest, context):
        engine, job, tools = await self._prepare(request.generation)
        completion_tokens = 0
        unfinished = job.sampling.n
        readers = [engine.tool_reader(tools) for _ in range(job.sampling.n)]
        called = [False] * job.sampling.n
        with metrics.GenerationTimer(engine.card.id, len(job.prompt_token_ids), job.priority) as timer:
            async for deltas in engine.generate(job):
                for delta in deltas:
                    timer.tokens(delta.token_count)
                    completion_tokens += delta.token_count
                    text, pieces = delta.text, []
                    if reader := readers[delta.index]:
                        text, pieces = reader.feed(delta.text)
                        if delta.finish_reason:
                            rest, more = reader.finish(cut=delta.finish_reason is FinishReason.LENGTH)
                            text, pieces = text + rest, pieces + more
                        called[delta.index] = called[delta.index] or bool(pieces)
                    message = pb.GenerateStreamResponse(
                        model=engine.card.id, request_id=job.request_id, index=delta.index, text=text,
                        logprobs=_logprobs(delta), tool_calls=[_piece(p) for p in pieces])
                    if delta.finish_reason:
                        message.finish_reason = _FINISH[_finish(delta.finish_reason, called[delta.index])]
                        unfinished -= 1
                        if unfinished == 0:
                            # The delta that ends the last choice is the stream's last message.
                            message.usage.CopyFrom(_usage(len(job.prompt_token_ids), completion_tokens))
                    yield message
        if unfinished:
            yield pb.GenerateStreamResponse(model=engine.card.id, request_id=job.request_id,
                                            usage=_usage(len(job.prompt_token_ids), completion_tokens))

    async def ListModels(self, request: pb.ListModelsRequest, context) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[_model(card) for card in self._cards()])

    async def Embed(self, request: pb.EmbedRequest, context) -> pb.EmbedResponse:
        embedder = self._embedder_for(request.model)
        texts = list(request.texts)
        if not texts:
            raise InvalidArgument("texts", "must not be empty")
        if len(texts) > embedder.card.max_batch_size:
            raise InvalidArgument("texts", f"{len(texts)} texts; at most {embedder.card.max_batch_size} per call")
        for i, text in enumerate(texts):
            if not text:
                raise InvalidArgument(f"texts[{i}]", "must not be empty")
            if len(text) > self._limits.max_embed_chars:
                raise InvalidArgument(f"texts[{i}]", f"{len(text)} characters; the limit is "
                                                      f"{self._limits.max_embed_chars}")
        vectors, tokens = await embedder.embed(texts, validation.embed_priority(request.priority), request.tenant_id)
        return pb.EmbedResponse(model=embedder.card.id, dimension=embedder.card.dimension,
                                embeddings=[pb.Embedding(values=v) for v in vectors], usage=_usage(tokens, 0))

    async def Rerank(self, request: pb.RerankRequest, context) -> pb.RerankResponse:
        reranker, embedder = self._scorer_for(request.model)
        card = reranker.card if reranker else embedder.card
        documents = list(request.documents)
        validation.rerank_input(request.query, documents, request.top_n, card, self._limits)
        priority = validation.embed_priority(request.priority)
        if reranker:
            scores, tokens = await reranker.scores(request.query, documents)
        else:
            scores, tokens = await bi_encoder_scores(embedder, request.query, documents, priority, request.tenant_id)
        metrics.RERANKED_DOCUMENTS.labels(card.id, priority.value).inc(len(documents))
        # sorted() is stable: equal scores keep the order the caller gave.
        ranked = sorted(range(len(documents)), key=lambda i: -scores[i])[:request.top_n or None]
        return pb.RerankResponse(model=card.id, usage=_usage(tokens, 0),
                                 results=[pb.RerankResult(index=i, relevance_score=scores[i]) for i in ranked])

    async def Tokenize(self, request: pb.TokenizeRequest, context) -> pb.TokenizeResponse:
        engine = self._generator_for(request.model)
        given = validation.generation_input(request.messages, request.prompt, self._limits)
        tools = validation.tool_list(request.tools)
        if tools and given.messages is None:
            raise InvalidArgument("tools", "tools are rendered into a chat; a raw prompt cannot have them")
        ids = await engine.tokenize(given.messages, given.prompt, ToolUse(tools, Mode.NONE) if tools else None)
        return pb.TokenizeResponse(token_count=len(ids), context_length=engine.card.context_length,
                                   token_ids=ids if request.return_token_ids else [])

    async def GetTokenizer(self, request: pb.GetTokenizerRequest, context) -> pb.GetTokenizerResponse:
        engine = self._generator_for(request.model)
        definition = engine.tokenizer_definition()
        return pb.GetTokenizerResponse(
            model=engine.card.id, tokenizer_json=definition.tokenizer_json, chat_template=definition.chat_template,
            template_variables=definition.template_variables, context_length=engine.card.context_length)

    async def GetLoad(self, request: pb.GetLoadRequest, context) -> pb.GetLoadResponse:
        if self._engine is None:
            return pb.GetLoadResponse(max_waiting_requests=self._limits.max_waiting, serving=False)
        load = self._engine.load()
        return pb.GetLoadResponse(running_requests=load.running, waiting_requests=load.waiting,
                                  max_waiting_requests=self._limits.max_waiting,
                                  kv_cache_usage=load.kv_cache_usage, serving=True)

    async def _prepare(self, generation: pb.Generation) -> tuple[Engine, GenerationJob, ToolUse | None]:
        engine = self._generator_for(generation.model)
        tools = validation.tool_use(generation, engine.card.tool_parser)
        if tools is not None and generation.prompt:
            raise InvalidArgument("tools", "tools are rendered into a chat; a raw prompt cannot have them")
        request_id = validation.request_id(generation.request_id)
        prompt_ids = validation.prompt_token_ids(generation.prompt_token_ids, generation.messages, generation.prompt,
                                                 engine.card.vocab_size, engine.card.context_length)
        given = None if prompt_ids else validation.generation_input(generation.messages, generation.prompt,
                                                                     self._limits)
        requested = validation.sampling(generation.sampling, self._limits)
        constraint = validation.constraint(generation.structured_output)
        if tools is not None and constraint is None:
            constraint = engine.tool_constraint(tools)
        priority = validation.priority(generation.priority)
        if given is not None:
            prompt_ids = await engine.tokenize(given.messages, given.prompt, tools)
        sampling = validation.resolve_sampling(requested, len(prompt_ids), engine.card.context_length)
        return engine, GenerationJob(request_id=request_id, prompt_token_ids=prompt_ids, sampling=sampling,
                                     constraint=constraint, priority=priority), tools

    def _cards(self) -> list[ModelCard]:
        if self._engine is None:
            raise Unavailable("models are still loading")
        return [self._engine.card] + [e.card for e in self._embedders] \
            + ([self._reranker.card] if self._reranker else [])

    def _generator_for(self, model: str) -> Engine:
        cards = self._cards()
        if model and model != self._engine.card.id:
            if any(c.id == model for c in cards):
                raise InvalidArgument("model", f"model {model!r} is an embedding model; it cannot generate")
            raise NotFound("model", model, f"model {model!r} is not served here; served: {[c.id for c in cards]}")
        return self._engine

    def _scorer_for(self, model: str) -> tuple[CrossEncoderReranker | None, Embedder | None]:
        """Rerank's model: the cross-encoder (also when none is named and there is one), else an
        embedding model."""
        self._cards()  # UNAVAILABLE while the models load
        if self._reranker and model in ("", self._reranker.card.id):
            return self._reranker, None
        if model and model == self._engine.card.id:
            raise InvalidArgument("model", f"model {model!r} is a generation model; it cannot rerank")
        return None, self._embedder_for(model)

    def _embedder_for(self, model: str) -> Embedder:
        cards = self._cards()
        found = next((e for e in self._embedders if e.card.id == model or not model), None)
        if found is None:
            if any(c.id == model for c in cards):
                raise InvalidArgument("model", f"model {model!r} is a generation model; it cannot embed")
            raise NotFound("model", model,
                           f"embedding model {model!r} is not served here; served: {[c.id for c in cards]}")
        return found


def _finish(reason: FinishReason, called) -> FinishReason:
    """A choice that ended by itself after calling tools ends for them (OpenAI's tool_calls)."""
    return FinishReason.TOOL_CALLS if reason is FinishReason.STOP and called else reason


def _call(call: ToolCall) -> pb.ToolCall:
    return pb.ToolCall(id=call.id, name=call.name, arguments=call.arguments)


def _piece(piece: Piece) -> pb.ToolCallDelta:
    return pb.ToolCallDelta(index=piece.index, id=piece.id, name=piece.name, arguments=piece.arguments)


def _usage(prompt: int, completion: int) -> pb.Usage:
    return pb.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _logprobs(delta: Delta) -> list[pb.TokenLogprob]:
    return [pb.TokenLogprob(token=lp.token, token_id=lp.token_id, logprob=lp.logprob,
                            top_logprobs=[pb.TopLogprob(token=t, token_id=i, logprob=p) for t, i, p in lp.top])
            for lp in delta.logprobs]


def _model(card: ModelCard) -> pb.Model:
    return pb.Model(id=card.id, kind=_KIND[card.kind], context_length=card.context_length, dimension=card.dimension,
                    max_batch_size=card.max_batch_size, max_choices=card.max_choices, max_logprobs=card.max_logprobs,
                    dtype=card.dtype, tool_parser=card.tool_parser)
