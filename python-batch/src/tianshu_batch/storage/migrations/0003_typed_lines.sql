-- Lines are typed (jobs contract, issue 33): a line's request and its answer are the inference
-- service's protobuf messages (Generation or EmbedRequest; GenerateResponse or EmbedResponse,
-- by the batch's endpoint), serialized. The gateway translates OpenAI's JSON both ways, so the
-- JSON columns go; lines stored before this version are not readable afterwards (drain the
-- queue before upgrading, see proto/README.md).
ALTER TABLE batch_lines DROP COLUMN body, DROP COLUMN response;
ALTER TABLE batch_lines
    ADD COLUMN model    text NOT NULL DEFAULT '',  -- the served model the line names, for the usage ledger
    ADD COLUMN request  bytea,                     -- NULL for a line refused as invalid
    ADD COLUMN response bytea;                     -- set once the line succeeded
