package io.tianshu.gateway.ratelimit;

/**
 * What a call may cost before it runs: its prompt tokens, counted exactly where possible, and
 * the tokens to reserve (prompt plus the most it may generate).
 */
public record Estimate(int promptTokens, long reserveTokens) {

    /**
     * @param maxTokens the caller's max_tokens per choice, or null for "what is left of the context"
     * @param choices n
     */
    public static Estimate generation(int promptTokens, int contextLength, Integer maxTokens, int choices) {
        long perChoice = maxTokens != null ? maxTokens : Math.max(0, contextLength - promptTokens);
        return new Estimate(promptTokens, promptTokens + perChoice * Math.max(1, choices));
    }
}
