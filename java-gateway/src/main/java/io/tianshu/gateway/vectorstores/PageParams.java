package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

/** OpenAI's list parameters (limit 1-100, default 20; order asc or desc, default desc; after; before). */
final class PageParams {

    static final int MAX_LIMIT = 100;

    private PageParams() {
    }

    static VectorStoreRepository.Page checked(int limit, String order, String after, String before) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw invalidRequest("limit must be between 1 and " + MAX_LIMIT + ".", "limit");
        }
        if (!order.equals("asc") && !order.equals("desc")) {
            throw invalidRequest("order must be \"asc\" or \"desc\".", "order");
        }
        return new VectorStoreRepository.Page(limit, order.equals("asc"), blankToNull(after), blankToNull(before));
    }

    private static String blankToNull(String cursor) {
        return cursor == null || cursor.isBlank() ? null : cursor;
    }
}
