package io.tianshu.gateway.support;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tianshu.inference.v1.Choice;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.EmbedResponse;
import io.tianshu.inference.v1.Embedding;
import io.tianshu.inference.v1.RerankRequest;
import io.tianshu.inference.v1.RerankResponse;
import io.tianshu.inference.v1.RerankResult;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateRequest;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.GenerateStreamRequest;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.GetLoadRequest;
import io.tianshu.inference.v1.GetLoadResponse;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import io.tianshu.inference.v1.ListModelsRequest;
import io.tianshu.inference.v1.ListModelsResponse;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.ModelKind;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.TokenizeResponse;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.inference.v1.ToolCallDelta;
import io.tianshu.inference.v1.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * InferenceService with canned replies. What it does is chosen by the last message's
 * content, so each test states the scenario in its own request.
 */
public class FakeInferenceService extends InferenceServiceGrpc.InferenceServiceImplBase {

    /** A generation model without a tool parser: it serves tool_choice none, required and named functions only. */
    public static final String CHAT_MODEL = "tiny-chat";
    /** A generation model with a tool parser, which also serves tool_choice auto. */
    public static final String TOOLS_MODEL = "tiny-tools";
    public static final String TOOL_PARSER = "hermes";
    public static final String EMBED_MODEL = "tiny-embed";
    /** A cross-encoder that scores at most 3 documents per call. */
    public static final String RERANK_MODEL = "tiny-reranker";
    /** Stream one delta, then never finish: only a cancellation ends the call. */
    public static final String HANG = "hang";
    /** Stream one delta, then wait until {@link #resume()} before finishing normally. */
    public static final String PAUSE = "pause";
    /** Stream one delta, then fail with INTERNAL. */
    public static final String FAIL_MID_STREAM = "fail-mid-stream";
    /** Stream {@link #DELTAS_BEFORE_FAILING} deltas, then fail with INTERNAL, as an engine crashing mid-answer. */
    public static final String FAIL_AFTER_DELTAS = "fail-after-deltas";
    public static final int DELTAS_BEFORE_FAILING = 3;
    /** Stream one delta, then fail with UNAVAILABLE, the code that fails over before a first token. */
    public static final String DROP_MID_STREAM = "drop-mid-stream";
    /** Answer normally, but only after {@link #SLOW_FOR}: the unary answer, or a stream's first delta. */
    public static final String SLOW = "slow";
    public static final Duration SLOW_FOR = Duration.ofMillis(200);
    /** Fail at once with RESOURCE_EXHAUSTED. */
    public static final String OVERLOAD = "overload";
    /** Fail at once with INVALID_ARGUMENT naming sampling.max_tokens in a BadRequest detail. */
    public static final String BAD_FIELD = "bad-field";
    /**
     * Answer with two tool calls and no text, finish reason tool_calls: whole from Generate,
     * from GenerateStream in pieces ({@link #TOOL_CALL_PIECES}).
     */
    public static final String CALL_TOOLS = "call-tools";
    public static final List<ToolCall> TOOL_CALLS = List.of(
            ToolCall.newBuilder().setId("call_1").setName("get_weather").setArguments("{\"city\": \"Paris\"}").build(),
            ToolCall.newBuilder().setId("call_2").setName("get_time").setArguments("{}").build());
    /** The stream's pieces of TOOL_CALLS, one per message: each call's first piece, then its argument fragments. */
    public static final List<ToolCallDelta> TOOL_CALL_PIECES = List.of(
            ToolCallDelta.newBuilder().setIndex(0).setId("call_1").setName("get_weather").build(),
            ToolCallDelta.newBuilder().setIndex(0).setArguments("{\"city\": ").build(),
            ToolCallDelta.newBuilder().setIndex(0).setArguments("\"Paris\"}").build(),
            ToolCallDelta.newBuilder().setIndex(1).setId("call_2").setName("get_time").build(),
            ToolCallDelta.newBuilder().setIndex(1).setArguments("{}").build());
    /** Prompt tokens of every call, as Tokenize counts them and Generate reports them. */
    public static final int PROMPT_TOKENS = 5;

    public final AtomicReference<Generation> lastGeneration = new AtomicReference<>();
    public final AtomicReference<String> lastRequestIdHeader = new AtomicReference<>();
    /** W3C trace context of the last Generate or GenerateStream call. */
    public final AtomicReference<String> lastTraceparent = new AtomicReference<>();
    public final AtomicInteger listModelsCalls = new AtomicInteger();
    public final AtomicReference<EmbedRequest> lastEmbed = new AtomicReference<>();
    public final AtomicReference<RerankRequest> lastRerank = new AtomicReference<>();
    public final AtomicReference<TokenizeRequest> lastTokenize = new AtomicReference<>();
    public final AtomicInteger tokenizeCalls = new AtomicInteger();
    // What each Tokenize call counted; the ids it answers point back here, so a Generate sent
    // with those ids (as the gateway sends it) can still be read as text. Shared by every fake,
    // as instances of one model share a tokenizer: Tokenize and Generate may go to different ones.
    private static final List<TokenizeRequest> TOKENIZED = new CopyOnWriteArrayList<>();
    /** Generate and GenerateStream calls. */
    public final AtomicInteger generateCalls = new AtomicInteger();
    /** What GetLoad answers; idle and serving after reset(). */
    public final AtomicReference<GetLoadResponse> load = new AtomicReference<>();
    private final List<Model> models = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch cancelled = new CountDownLatch(1);
    private volatile CountDownLatch resumed = new CountDownLatch(1);

    public FakeInferenceService() {
        reset();
    }

    public void reset() {
        lastGeneration.set(null);
        lastRequestIdHeader.set(null);
        lastTraceparent.set(null);
        listModelsCalls.set(0);
        lastEmbed.set(null);
        lastRerank.set(null);
        lastTokenize.set(null);
        tokenizeCalls.set(0);
        generateCalls.set(0);
        load.set(GetLoadResponse.newBuilder().setServing(true).setMaxWaitingRequests(512).build());
        cancelled = new CountDownLatch(1);
        resumed = new CountDownLatch(1);
        models.clear();
        models.add(Model.newBuilder().setId(CHAT_MODEL).setKind(ModelKind.MODEL_KIND_GENERATE)
                .setContextLength(2048).setMaxChoices(4).setMaxLogprobs(5).build());
        models.add(Model.newBuilder().setId(EMBED_MODEL).setKind(ModelKind.MODEL_KIND_EMBED)
                .setContextLength(512).setDimension(384).setMaxBatchSize(64).build());
        models.add(Model.newBuilder().setId(TOOLS_MODEL).setKind(ModelKind.MODEL_KIND_GENERATE)
                .setContextLength(2048).setMaxChoices(4).setToolParser(TOOL_PARSER).build());
        models.add(Model.newBuilder().setId(RERANK_MODEL).setKind(ModelKind.MODEL_KIND_RERANK)
                .setContextLength(512).setMaxBatchSize(3).build());
    }

    public void addModel(String id) {
        models.add(Model.newBuilder().setId(id).setKind(ModelKind.MODEL_KIND_GENERATE).setContextLength(1024).build());
    }

    public CountDownLatch cancelled() {
        return cancelled;
    }

    /** Lets paused streams finish. */
    public void resume() {
        resumed.countDown();
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
        listModelsCalls.incrementAndGet();
        responses.onNext(ListModelsResponse.newBuilder().addAllModels(models).build());
        responses.onCompleted();
    }

    @Override
    public void getLoad(GetLoadRequest request, StreamObserver<GetLoadResponse> responses) {
        responses.onNext(load.get());
        responses.onCompleted();
    }

    /** Vectors of the model's length, [i/1000 + len/100]; usage counts one token per character. */
    @Override
    public void embed(EmbedRequest request, StreamObserver<EmbedResponse> responses) {
        lastEmbed.set(request);
        int dimension = models.stream().filter(m -> m.getId().equals(request.getModel())).findFirst()
                .map(Model::getDimension).orElse(4);
        EmbedResponse.Builder response = EmbedResponse.newBuilder().setModel(request.getModel()).setDimension(dimension);
        int tokens = 0;
        for (String text : request.getTextsList()) {
            Embedding.Builder vector = Embedding.newBuilder();
            for (int i = 0; i < dimension; i++) {
                vector.addValues(i / 1000f + text.length() / 100f);
            }
            response.addEmbeddings(vector);
            tokens += text.length();
        }
        responses.onNext(response.setUsage(Usage.newBuilder().setPromptTokens(tokens).setTotalTokens(tokens)).build());
        responses.onCompleted();
    }

    /**
     * Scores each document by the share of its words found in the query, best first (ties in
     * input order), top_n of them; usage counts one token per character of query and documents.
     */
    @Override
    public void rerank(RerankRequest request, StreamObserver<RerankResponse> responses) {
        lastRerank.set(request);
        Set<String> asked = Set.of(request.getQuery().toLowerCase().split("\\W+"));
        List<RerankResult> results = new ArrayList<>();
        int tokens = request.getQuery().length();
        for (int i = 0; i < request.getDocumentsCount(); i++) {
            String[] words = request.getDocuments(i).toLowerCase().split("\\W+");
            long found = Arrays.stream(words).filter(asked::contains).count();
            results.add(RerankResult.newBuilder().setIndex(i).setRelevanceScore((float) found / words.length).build());
            tokens += request.getDocuments(i).length();
        }
        results.sort(Comparator.comparing(RerankResult::getRelevanceScore).reversed());
        int kept = request.getTopN() > 0 ? Math.min(request.getTopN(), results.size()) : results.size();
        responses.onNext(RerankResponse.newBuilder().setModel(request.getModel()).addAllResults(results.subList(0, kept))
                .setUsage(Usage.newBuilder().setPromptTokens(tokens).setTotalTokens(tokens)).build());
        responses.onCompleted();
    }

    /** Always PROMPT_TOKENS tokens, the same count Generate reports, so reservations settle exactly. */
    @Override
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> responses) {
        tokenizeCalls.incrementAndGet();
        lastTokenize.set(request);
        int context = models.stream().filter(m -> m.getId().equals(request.getModel())).findFirst()
                .map(Model::getContextLength).orElse(0);
        TokenizeResponse.Builder response = TokenizeResponse.newBuilder().setTokenCount(PROMPT_TOKENS)
                .setContextLength(context);
        if (request.getReturnTokenIds()) {
            response.addTokenIds(remember(request));
            for (int i = 1; i < PROMPT_TOKENS; i++) {
                response.addTokenIds(0);
            }
        }
        responses.onNext(response.build());
        responses.onCompleted();
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        Generation generation = record(request.getGeneration());
        if (failsAtOnce(generation, responses)) {
            return;
        }
        lingerIfSlow(generation);
        GenerateResponse.Builder response = GenerateResponse.newBuilder()
                .setModel(generation.getModel()).setRequestId(generation.getRequestId())
                .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(3).setTotalTokens(8));
        int n = generation.getSampling().hasN() ? generation.getSampling().getN() : 1;
        if (lastContent(generation).equals(CALL_TOOLS)) {
            response.addChoices(Choice.newBuilder().setIndex(0).addAllToolCalls(TOOL_CALLS)
                    .setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS));
            n = 0;
        }
        for (int i = 0; i < n; i++) {
            response.addChoices(Choice.newBuilder().setIndex(i).setText("Hello there")
                    .setFinishReason(i == 0 ? FinishReason.FINISH_REASON_STOP : FinishReason.FINISH_REASON_LENGTH));
        }
        responses.onNext(response.build());
        responses.onCompleted();
    }

    @Override
    public void generateStream(GenerateStreamRequest request, StreamObserver<GenerateStreamResponse> responses) {
        Generation generation = record(request.getGeneration());
        if (failsAtOnce(generation, responses)) {
            return;
        }
        ServerCallStreamObserver<GenerateStreamResponse> call = (ServerCallStreamObserver<GenerateStreamResponse>) responses;
        CountDownLatch latch = cancelled;
        call.setOnCancelHandler(latch::countDown);
        String prompt = lastContent(generation);
        lingerIfSlow(generation);
        if (prompt.equals(CALL_TOOLS)) {
            TOOL_CALL_PIECES.forEach(piece -> responses.onNext(delta(generation, "").addToolCalls(piece).build()));
            responses.onNext(delta(generation, "").setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS)
                    .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(9).setTotalTokens(14)).build());
            responses.onCompleted();
            return;
        }
        responses.onNext(delta(generation, "Hel").build());
        if (prompt.equals(HANG)) {
            return;
        }
        if (prompt.equals(PAUSE)) {
            CountDownLatch resume = resumed;
            // Off the server's thread, as a real engine's steps would be.
            Thread finisher = new Thread(() -> {
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                finish(generation, responses);
            });
            finisher.setDaemon(true);
            finisher.start();
            return;
        }
        if (prompt.equals(FAIL_AFTER_DELTAS)) {
            for (int i = 1; i < DELTAS_BEFORE_FAILING; i++) {
                responses.onNext(delta(generation, "lo").build());
            }
            responses.onError(Status.INTERNAL.withDescription("engine crashed").asRuntimeException());
            return;
        }
        if (prompt.equals(FAIL_MID_STREAM)) {
            responses.onError(Status.INTERNAL.withDescription("engine crashed").asRuntimeException());
            return;
        }
        if (prompt.equals(DROP_MID_STREAM)) {
            responses.onError(Status.UNAVAILABLE.withDescription("instance went away").asRuntimeException());
            return;
        }
        finish(generation, responses);
    }

    private static void finish(Generation generation, StreamObserver<GenerateStreamResponse> responses) {
        responses.onNext(delta(generation, "lo").build());
        responses.onNext(delta(generation, "").setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(2).setTotalTokens(7)).build());
        responses.onCompleted();
    }

    private Generation record(Generation generation) {
        generateCalls.incrementAndGet();
        lastGeneration.set(generation);
        lastRequestIdHeader.set(MetadataCapture.REQUEST_ID.get());
        lastTraceparent.set(MetadataCapture.TRACEPARENT.get());
        return generation;
    }

    private static GenerateStreamResponse.Builder delta(Generation generation, String text) {
        return GenerateStreamResponse.newBuilder().setModel(generation.getModel())
                .setRequestId(generation.getRequestId()).setIndex(0).setText(text);
    }

    /** On the server's own thread, as an engine too busy to answer sooner would hold the caller. */
    private static void lingerIfSlow(Generation generation) {
        if (lastContent(generation).equals(SLOW)) {
            try {
                Thread.sleep(SLOW_FOR.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static boolean failsAtOnce(Generation generation, StreamObserver<?> responses) {
        switch (lastContent(generation)) {
            case OVERLOAD -> responses.onError(
                    Status.RESOURCE_EXHAUSTED.withDescription("too many waiting requests").asRuntimeException());
            case BAD_FIELD -> responses.onError(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                    .setCode(Code.INVALID_ARGUMENT_VALUE)
                    .setMessage("sampling.max_tokens: exceeds the context length")
                    .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(BadRequest.FieldViolation
                            .newBuilder().setField("sampling.max_tokens").setDescription("exceeds the context length"))
                            .build()))
                    .build()));
            default -> {
                return false;
            }
        }
        return true;
    }

    private static synchronized int remember(TokenizeRequest counted) {
        TOKENIZED.add(counted);
        return TOKENIZED.size() - 1;
    }

    /** The Tokenize request whose ids {@code generation} carries, or null when it carries text. */
    public static TokenizeRequest tokenizedAs(Generation generation) {
        return generation.getPromptTokenIdsCount() == 0 ? null : TOKENIZED.get(generation.getPromptTokenIds(0));
    }

    private static String lastContent(Generation generation) {
        TokenizeRequest counted = tokenizedAs(generation);
        if (counted != null) {
            return counted.getMessagesCount() == 0 ? counted.getPrompt()
                    : counted.getMessages(counted.getMessagesCount() - 1).getContent();
        }
        return generation.getMessagesCount() == 0 ? generation.getPrompt()
                : generation.getMessages(generation.getMessagesCount() - 1).getContent();
    }
}
