-- Stored answers of the Responses API (POST /v1/responses with store, the default): what
-- GET /v1/responses/{id} returns and what previous_response_id continues. Each row keeps the
-- items of its own turn; a conversation is the chain of previous_response_id links, always
-- within one tenant.
CREATE TABLE stored_response (
    id                   text PRIMARY KEY,          -- "resp_" + random
    tenant_id            text NOT NULL,
    previous_response_id text,                      -- same tenant's; may have been deleted since
    input_items          jsonb NOT NULL,            -- this turn's input, as input_items lists it
    body                 jsonb NOT NULL,            -- the Response object as it was returned
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stored_response_tenant ON stored_response (tenant_id, created_at DESC);
