package io.tianshu.gateway.responses;

import com.fasterxml.jackson.databind.node.ArrayNode;

/**
 * One call of {@code POST /v1/responses} once its input is checked: what every part of the
 * answer (the JSON body, the stream's events, the stored row) is made from.
 *
 * @param id the response's id ("resp_...")
 * @param createdAt seconds since the epoch
 * @param inputItems this turn's input items, normalised
 * @param tenant whose response it is; only this tenant reads, continues or deletes it
 */
record Turn(String id, long createdAt, ResponseRequest request, ArrayNode inputItems, String tenant) {
}
