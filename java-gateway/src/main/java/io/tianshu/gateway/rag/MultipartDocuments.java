package io.tianshu.gateway.rag;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import io.tianshu.rag.v1.Document;
import java.util.List;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.codec.multipart.FilePart;
import org.springframework.http.codec.multipart.FormFieldPart;
import org.springframework.http.codec.multipart.Part;
import org.springframework.util.MultiValueMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reads a multipart upload: every file part is a document, in order. Its id is the matching
 * {@code document_id} field (the n-th for the n-th file) or else the file name; its format is
 * the part's Content-Type or else the file name's extension. An optional {@code metadata}
 * field (a JSON object) is stored with every document.
 */
final class MultipartDocuments {

    /** The documents of one upload and the embedding model it asked for ("" = any). */
    record Upload(List<Document> documents, String embeddingModel) {
    }

    private MultipartDocuments() {
    }

    static Mono<Upload> read(MultiValueMap<String, Part> parts, ObjectMapper json) {
        List<FilePart> files = parts.values().stream().flatMap(List::stream)
                .filter(FilePart.class::isInstance).map(FilePart.class::cast).toList();
        if (files.isEmpty()) {
            throw invalidRequest("The upload has no file part; send each document as a file.", "file");
        }
        List<String> ids = fields(parts, "document_id");
        if (!ids.isEmpty() && ids.size() != files.size()) {
            throw invalidRequest("There are " + ids.size() + " 'document_id' fields for " + files.size()
                    + " files; send one per file, in the same order, or none to use the file names.", "document_id");
        }
        Struct metadata = metadata(fields(parts, "metadata"), json);
        List<String> models = fields(parts, "embedding_model");
        String model = models.isEmpty() ? "" : models.get(0);
        return Flux.range(0, files.size())
                .concatMap(i -> document(files.get(i), ids.isEmpty() ? files.get(i).filename() : ids.get(i),
                        metadata, "file[" + i + "]"))
                .collectList()
                .map(documents -> new Upload(documents, model));
    }

    private static Mono<Document> document(FilePart file, String id, Struct metadata, String param) {
        MediaType declared = file.headers().getContentType();
        String type = DocumentFormats.of(declared == null ? null : declared.toString(), file.filename());
        if (type == null) {
            throw invalidRequest("Cannot tell the format of '" + file.filename() + "': give the part a Content-Type "
                    + "(text/plain, text/markdown, text/html, application/pdf) or the file a known extension.",
                    param);
        }
        return DataBufferUtils.join(file.content()).map(buffer -> {
            try {
                return Document.newBuilder()
                        .setDocumentId(RagMapper.required(id, "document_id"))
                        .setContent(ByteString.copyFrom(buffer.asByteBuffer()))
                        .setContentType(type)
                        .setMetadata(metadata)
                        .build();
            } finally {
                DataBufferUtils.release(buffer);
            }
        });
    }

    private static List<String> fields(MultiValueMap<String, Part> parts, String name) {
        return parts.getOrDefault(name, List.of()).stream()
                .filter(FormFieldPart.class::isInstance).map(part -> ((FormFieldPart) part).value()).toList();
    }

    private static Struct metadata(List<String> values, ObjectMapper json) {
        if (values.isEmpty()) {
            return Struct.getDefaultInstance();
        }
        JsonNode node;
        try {
            node = json.readTree(values.get(0));
        } catch (JsonProcessingException e) {
            throw invalidRequest("'metadata' is not valid JSON: " + e.getOriginalMessage(), "metadata");
        }
        return Structs.fromJson(node, "metadata");
    }
}
