"""The catalog's schema, as an ordered list of migrations.

`MIGRATIONS[i]` takes the catalog from version i to i+1; the current version is stored in
`PRAGMA user_version`. Append new migrations, never edit old ones: users' catalogs were made by them.

Paths are stored twice: `path` is the exact bytes of the absolute path (os.fsencode), so names
that are not valid UTF-8 still round-trip; `display_path` is text for people and JSON.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # v0 -> v1
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE photos (
        id            INTEGER PRIMARY KEY,
        path          BLOB NOT NULL UNIQUE,
        display_path  TEXT NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        content_hash  TEXT NOT NULL,
        format        TEXT,
        width         INTEGER,
        height        INTEGER,
        taken_at      TEXT,      -- ISO 8601, EXIF DateTimeOriginal (camera local time)
        gps_lat       REAL,
        gps_lon       REAL,
        camera_make   TEXT,
        camera_model  TEXT,
        orientation   INTEGER,
        faces         INTEGER,   -- people count from face detection; NULL until annotated
        time_of_day   TEXT,      -- 'day' | 'twilight' | 'night'; NULL until annotated
        brightness    REAL,      -- mean luma 0..1 of the decoded image (cheap, from stage 1)
        indexed_at    TEXT NOT NULL,
        seen_run      INTEGER NOT NULL DEFAULT 0   -- mark-and-sweep: id of the last run that saw it
    );
    CREATE INDEX photos_hash ON photos(content_hash);
    CREATE INDEX photos_taken ON photos(taken_at);

    CREATE TABLE failures (
        path          BLOB PRIMARY KEY,
        display_path  TEXT NOT NULL,
        reason        TEXT NOT NULL,
        size          INTEGER,
        mtime_ns      INTEGER,
        failed_at     TEXT NOT NULL
    );

    -- Vectors live here (the source of truth, committed with their photo); the FAISS files
    -- beside the catalog are derived caches stamped with meta.vectors_generation.
    CREATE TABLE embeddings (
        photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        space     TEXT NOT NULL,     -- 'joint' | 'visual'
        model_id  TEXT NOT NULL,
        vector    BLOB NOT NULL,     -- float32, L2-normalised
        PRIMARY KEY (photo_id, space)
    );

    -- Tags from every source; `source` is 'classifier' | 'faces' | 'ocr' | 'time' | 'zeroshot'.
    -- Broader terms are stored as their own rows (source kept) so filters need no hierarchy walk.
    CREATE TABLE tags (
        photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag         TEXT NOT NULL,
        confidence  REAL NOT NULL,
        source      TEXT NOT NULL,
        broader     INTEGER NOT NULL DEFAULT 0,   -- 1 when implied by a narrower tag
        PRIMARY KEY (photo_id, tag, source)
    );
    CREATE INDEX tags_tag ON tags(tag);

    -- The user's word on a tag: +1 confirmed, -1 rejected. Wins over every model, survives re-indexing.
    CREATE TABLE tag_feedback (
        photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag       TEXT NOT NULL,
        verdict   INTEGER NOT NULL CHECK (verdict IN (-1, 1)),
        at        TEXT NOT NULL,
        PRIMARY KEY (photo_id, tag)
    );

    CREATE TABLE ocr (
        photo_id  INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        text      TEXT NOT NULL,
        boxes     TEXT NOT NULL       -- JSON: [{"text", "box": [[x,y]*4], "score"}]
    );

    CREATE TABLE captions (
        photo_id      INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        caption       TEXT NOT NULL,
        captioner_id  TEXT NOT NULL
    );

    -- Stage 2 bookkeeping: which annotator (with which model id) has done which photo.
    CREATE TABLE annotations_done (
        photo_id      INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        annotator     TEXT NOT NULL,
        annotator_id  TEXT NOT NULL,
        done_at       TEXT NOT NULL,
        PRIMARY KEY (photo_id, annotator)
    );

    -- Full-text search over what people might type: tags, OCR text, caption, file name.
    -- rowid = photos.id; kept in step by catalog.refresh_fulltext(photo_id).
    CREATE VIRTUAL TABLE photo_text USING fts5(
        tags, ocr, caption, filename,
        tokenize = 'porter unicode61 remove_diacritics 2'  -- porter: "dogs" matches "dog"
    );
    """,
    # v1 -> v2: filters on time of day and people read indexes, not every row (100k photos: a
    # `--time night` hybrid search p50 went from 60 to 36 ms, bench/search.py)
    """
    CREATE INDEX photos_time_of_day ON photos(time_of_day);
    CREATE INDEX photos_faces ON photos(faces);
    CREATE INDEX tags_tag_source ON tags(tag, source, photo_id);
    """,
    # v2 -> v3: stage-2 failures (OCR out of memory, an unreadable file...) are recorded with their
    # reason, shown by `photoseek errors`, and not retried while the photo's content and the
    # annotator's id stay the same (a photo that kills an annotator must not cost every run again).
    # Offline roots/folders: what the last run found missing but did not delete (JSON in meta).
    """
    CREATE TABLE annotation_failures (
        photo_id      INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        annotator     TEXT NOT NULL,
        annotator_id  TEXT NOT NULL,
        content_hash  TEXT NOT NULL,   -- the content that failed: a changed file is tried again
        reason        TEXT NOT NULL,
        failed_at     TEXT NOT NULL,
        PRIMARY KEY (photo_id, annotator)
    );
    """,
    # photo metadata (#30): where taken_at came from ('exif' | 'xmp' | 'gps' | 'file name') and its
    # UTC offset ('exif' | 'xmp' | 'gps clock' | 'position', the last a guess), the IANA time zone at
    # the photo's position, and the id of the metadata reader that read the row (photos read by an
    # older one are read again by the next index, without decoding: ingest.indexer). A camera RAW
    # file of the same shot as a JPEG/HEIF beside it (same folder and name, same capture time) is
    # no photo of its own: it is listed here with the photo it belongs to.
    """
    ALTER TABLE photos ADD COLUMN taken_at_source TEXT;
    ALTER TABLE photos ADD COLUMN utc_offset_source TEXT;
    ALTER TABLE photos ADD COLUMN time_zone TEXT;
    ALTER TABLE photos ADD COLUMN metadata_id TEXT;
    CREATE TABLE raw_companions (
        path          BLOB PRIMARY KEY,
        display_path  TEXT NOT NULL,
        photo_path    BLOB NOT NULL,   -- photos.path of the JPEG/HEIF it belongs to
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        format        TEXT
    );
    CREATE INDEX raw_companions_photo ON raw_companions(photo_path);
    """,
    # colour profiles (issue 28): the photo's colour profile as decoding found it ('' none, else its
    # name), whether its pixels were converted to sRGB, and a note when a profile could not be used
    # (`photoseek errors` shows it; the photo is indexed). NULL color_profile: not looked at yet,
    # i.e. indexed before colour management: photoseek.ingest.color_catchup reads those headers once
    # and re-annotates the photos that needed converting.
    """
    ALTER TABLE photos ADD COLUMN color_profile TEXT;
    ALTER TABLE photos ADD COLUMN color_converted INTEGER;
    ALTER TABLE photos ADD COLUMN color_note TEXT;
    CREATE INDEX photos_color_unchecked ON photos(id) WHERE color_profile IS NULL;
    """,
    # people (issue 26, face recognition): the recognisable faces of each photo with their dlib
    # descriptors and crops, the people they are grouped into, and the user's word on faces, kept by
    # content hash and box so that it survives re-indexing, re-clustering, moves and renames.
    """
    CREATE TABLE people (
        id          INTEGER PRIMARY KEY,
        name        TEXT,                      -- the user's name for them; NULL until named
        hidden      INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        named_at    TEXT
    );
    CREATE UNIQUE INDEX people_name ON people(name COLLATE NOCASE) WHERE name IS NOT NULL;

    CREATE TABLE faces (
        id          INTEGER PRIMARY KEY,
        photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        face_index  INTEGER NOT NULL,          -- 1, 2, ... left to right in the photo (`--face N`)
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,  -- fractions of the photo
        quality     REAL NOT NULL,             -- 0..1: size and how frontal
        descriptor  BLOB NOT NULL,             -- float32 x 128 (dlib), compared by Euclidean distance
        model_id    TEXT NOT NULL,
        person_id   INTEGER REFERENCES people(id) ON DELETE SET NULL,
        assigned    TEXT,                      -- NULL: not clustered yet; 'none': no person yet;
                                               -- 'auto': by clustering; 'user': the user's word on
                                               -- this face; 'anchor': kept with a person the user
                                               -- named, merged or hid (not re-clustered)
        distance    REAL,                      -- 'auto': the face distance that put it with its person
        UNIQUE (photo_id, face_index)
    );
    CREATE INDEX faces_person ON faces(person_id);
    CREATE INDEX faces_assigned ON faces(assigned);

    CREATE TABLE face_crops (
        face_id  INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
        jpeg     BLOB NOT NULL
    );

    -- The user's word on one face: +1 "this is PERSON", -1 "this is not PERSON". Found again after a
    -- re-index by the photo's content hash and the face's box (or, for a photo edited in place, by
    -- its id and the box or a descriptor of the same face image); deleted with the person.
    CREATE TABLE face_verdicts (
        id            INTEGER PRIMARY KEY,
        person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        verdict       INTEGER NOT NULL CHECK (verdict IN (-1, 1)),
        content_hash  TEXT NOT NULL,
        photo_id      INTEGER,                 -- the photo it was said on (no cascade: a hint for edits)
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
        descriptor    BLOB NOT NULL,
        model_id      TEXT NOT NULL,
        explicit      INTEGER NOT NULL DEFAULT 1,  -- 1: said of this face; 0: an anchor of a person
        at            TEXT NOT NULL
    );
    CREATE INDEX face_verdicts_hash ON face_verdicts(content_hash);
    CREATE INDEX face_verdicts_person ON face_verdicts(person_id);
    """,
    # places (issue 25): where each photo was taken, named (photoseek.places) at the level people
    # name places, and how it is known: its GPS, estimated from the same camera's photos taken closest
    # in time, or the user's word (place_feedback: never written by indexing, so it survives every
    # re-index). `places` keeps each named place once, with the names people type for it; trips are
    # the runs of days away from home, recomputed whenever places change.
    """
    CREATE TABLE places (
        id            INTEGER PRIMARY KEY,
        level         TEXT NOT NULL,               -- 'country' | 'region' | 'county' | 'city' | 'district'
        name          TEXT NOT NULL,               -- GeoNames' name (English where there is one)
        country_code  TEXT NOT NULL,               -- ISO 3166-1 alpha-2
        region        TEXT NOT NULL DEFAULT '',    -- counties, cities, districts: the region they are in
        latitude      REAL,
        longitude     REAL,
        population    INTEGER,
        names         TEXT NOT NULL DEFAULT '[]',  -- JSON: other names people type (aliases, translations)
        also          TEXT NOT NULL DEFAULT '[]',  -- JSON: GeoNames' other names (explicit place arguments only)
        UNIQUE (level, name, country_code, region)
    );

    CREATE TABLE photo_places (
        photo_id        INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        source          TEXT NOT NULL,     -- 'gps' | 'estimated' | 'user'
        precision       TEXT NOT NULL,     -- 'city' (in it) | 'near' (outside any town) | 'region' (far from towns)
        city_id         INTEGER REFERENCES places(id),
        district_id     INTEGER REFERENCES places(id),
        metro_id        INTEGER REFERENCES places(id),
        county_id       INTEGER REFERENCES places(id),
        region_id       INTEGER REFERENCES places(id),
        country_id      INTEGER REFERENCES places(id),
        distance_km     REAL,              -- from the city named
        latitude        REAL,              -- the position named (for an estimate: its source photo's)
        longitude       REAL,
        from_photo_id   INTEGER,           -- estimated: the photo of the same camera closest in time
        offset_seconds  INTEGER,           -- estimated: this photo's time minus that photo's
        gazetteer       TEXT NOT NULL      -- the look-up's data and rules; a newer one names it again
    );
    CREATE INDEX photo_places_city ON photo_places(city_id);
    CREATE INDEX photo_places_district ON photo_places(district_id);
    CREATE INDEX photo_places_metro ON photo_places(metro_id);
    CREATE INDEX photo_places_county ON photo_places(county_id);
    CREATE INDEX photo_places_region ON photo_places(region_id);
    CREATE INDEX photo_places_country ON photo_places(country_id);

    CREATE TABLE place_feedback (
        photo_id   INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        place      TEXT,                   -- as the user wrote it; NULL: the photo has no known place
        latitude   REAL,                   -- where that place is
        longitude  REAL,
        at         TEXT NOT NULL
    );

    CREATE TABLE trips (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,         -- 'Portugal', 'Sintra', 'Japan and South Korea'
        start_date  TEXT NOT NULL,         -- ISO dates, inclusive
        end_date    TEXT NOT NULL,
        photos      INTEGER NOT NULL,
        places      TEXT NOT NULL          -- JSON: [{"name", "country", "photos"}], most photos first
    );
    CREATE TABLE trip_photos (
        trip_id   INTEGER NOT NULL REFERENCES trips(id) ON DELETE CASCADE,
        photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        day       INTEGER NOT NULL,        -- 1 on the trip's first day
        PRIMARY KEY (trip_id, photo_id)
    );
    CREATE INDEX trip_photos_photo ON trip_photos(photo_id);
    """,
    # taught words (#27, photoseek.learn): a word the user gave to a few photos (their tag feedback:
    # the examples, and the photos where they rejected it) is learned as a model over the stored
    # vectors; its tags are rows of `tags` with source 'learned'. This table keeps what was learned
    # (rebuilt from the feedback whenever it or the vectors change) and whether the user forgot it.
    """
    CREATE TABLE learned_words (
        word        TEXT PRIMARY KEY,
        forgotten   INTEGER NOT NULL DEFAULT 0,   -- 1: the user asked to forget it (their own tags stay)
        version     INTEGER NOT NULL DEFAULT 0,   -- moves on every training: caches of the model compare it
        model       BLOB,                         -- float32 weights over the word features; NULL: not learned
        details     TEXT NOT NULL DEFAULT '{}',   -- JSON: feature key, calibration, counts, estimates
        updated_at  TEXT NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
