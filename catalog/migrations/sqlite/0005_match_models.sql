-- Migration 5: the match model (the Fellegi-Sunter weights learned by EM,
-- dedup.model.MatchModel as JSON) of each full build that estimated one. An
-- incremental build reuses the model of the last full build before it, so the
-- model a build used is the row with the greatest build_id not above its own.
CREATE TABLE IF NOT EXISTS match_models (
    build_id   INTEGER PRIMARY KEY,     -- the build that estimated it (builds.id)
    origin     TEXT NOT NULL,           -- estimated | priors
    model      TEXT NOT NULL,           -- JSON (dedup.model.MatchModel.to_dict)
    created_at TEXT NOT NULL
);
