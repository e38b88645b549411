"""graphite-web's local settings for the differential tests: its own
storage folder (GRAPHITE_STORAGE_DIR), no logging of timings, the local
tag database, UTC."""

SECRET_KEY = "eardrum-differential-tests"
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
TAGDB = "graphite.tags.localdatabase.LocalDatabaseTagDB"
# eardrum's dates are UTC: CSV times compare as they are.
TIME_ZONE = "UTC"
