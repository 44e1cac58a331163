-- Cost by token kind, and the prices that produced it. A cost is decided
-- when its event is stored and changes only on an explicit recompute.
ALTER TABLE events ADD COLUMN request_model TEXT;
ALTER TABLE events ADD COLUMN price TEXT;
ALTER TABLE events ADD COLUMN uncached_input_cost_pd INTEGER;
ALTER TABLE events ADD COLUMN cache_read_cost_pd INTEGER;
ALTER TABLE events ADD COLUMN cache_creation_cost_pd INTEGER;
ALTER TABLE events ADD COLUMN output_cost_pd INTEGER;
ALTER TABLE events ADD COLUMN reasoning_cost_pd INTEGER;

ALTER TABLE sessions ADD COLUMN uncached_input_cost_pd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_read_cost_pd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_creation_cost_pd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN output_cost_pd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN reasoning_cost_pd INTEGER NOT NULL DEFAULT 0;

-- Per-project prices that win over the price table: a model's prices, or a
-- custom model. `price` holds per-token prices in the price table's fields.
CREATE TABLE price_overrides (
    project_id  INTEGER NOT NULL,
    model       TEXT NOT NULL,
    price       TEXT NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (project_id, model)
) WITHOUT ROWID;
