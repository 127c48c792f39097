package io.tianshu.gateway.files;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** OpenAI's file objects, in its snake_case JSON. */
public final class FileViews {

    private FileViews() {
    }

    /** OpenAI's File object; status is always "processed": a file is checked before it is stored. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FileObject(String id, String object, long bytes, long createdAt, String filename, String purpose,
            String status, Long expiresAt, String statusDetails) {

        public static FileObject of(String id, long bytes, long createdAt, String filename, String purpose) {
            return new FileObject(id, "file", bytes, createdAt, filename, purpose, "processed", null, null);
        }

        static FileObject of(FileStore.StoredFile file) {
            return of(file.id(), file.bytes(), file.createdAt(), file.filename(), file.purpose());
        }
    }

    /** A page of files, paginated as OpenAI's lists are. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record FileList(String object, List<FileObject> data, String firstId, String lastId, boolean hasMore) {
        static FileList of(List<FileObject> data, boolean hasMore) {
            return new FileList("list", data, data.isEmpty() ? null : data.get(0).id(),
                    data.isEmpty() ? null : data.get(data.size() - 1).id(), hasMore);
        }
    }

    record FileDeleted(String id, String object, boolean deleted) {
    }
}
