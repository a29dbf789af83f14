-- ЖТ МДБ (ГБД ФЛ): person records by IIN, family links, care arrangements,
-- adoption candidacies, and the catalogue of generated cases. The pool's
-- search_path is the registry's schema, so names are unqualified.

CREATE TABLE persons (
    iin                  text PRIMARY KEY CHECK (iin ~ '^[0-9]{12}$'),
    surname              text NOT NULL,
    given_name           text NOT NULL,
    patronymic           text,
    birth_date           date NOT NULL,
    sex                  text NOT NULL CHECK (sex IN ('male', 'female')),
    citizenship          text NOT NULL,
    region               text NOT NULL,
    district_or_city     text NOT NULL,
    street               text NOT NULL,
    document_kind        text NOT NULL CHECK (document_kind IN ('id_card', 'birth_certificate')),
    document_number      text NOT NULL,
    document_issuer      text NOT NULL,
    document_issued_on   date NOT NULL,
    document_expires_on  date,
    deceased_on          date,
    declared_missing_on  date,
    UNIQUE (document_kind, document_number)
);

-- One row per parent and child, read from either end.
CREATE TABLE family_links (
    parent_iin      text NOT NULL REFERENCES persons (iin),
    child_iin       text NOT NULL REFERENCES persons (iin),
    parent_role     text NOT NULL CHECK (parent_role IN ('mother', 'father')),
    origin          text NOT NULL CHECK (origin IN ('birth', 'adoption')),
    established_on  date,
    status          text NOT NULL CHECK (status IN ('normal', 'deprived', 'restricted')),
    status_since    date,
    PRIMARY KEY (parent_iin, child_iin),
    CHECK ((status = 'normal') = (status_since IS NULL)),
    CHECK ((origin = 'adoption') = (established_on IS NOT NULL))
);
CREATE INDEX family_links_by_child ON family_links (child_iin);

-- Guardianship, trusteeship and foster care of a child by a carer.
CREATE TABLE care_arrangements (
    kind            text NOT NULL CHECK (kind IN ('guardianship', 'trusteeship', 'foster_care')),
    carer_iin       text NOT NULL REFERENCES persons (iin),
    child_iin       text NOT NULL REFERENCES persons (iin),
    established_on  date NOT NULL,
    PRIMARY KEY (carer_iin, child_iin, kind)
);
CREATE INDEX care_arrangements_by_child ON care_arrangements (child_iin);

-- Persons who applied to be registered as wishing to adopt (seed 004
-- service 9).
CREATE TABLE adoption_candidates (
    iin           text PRIMARY KEY REFERENCES persons (iin),
    applied_on    date NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    concluded_on  date,
    CHECK ((status = 'pending') = (concluded_on IS NULL))
);

-- The catalogue of the synthetic population's cases, so a tester can ask
-- "an orphan with a guardian" without scanning everything:
--   SELECT iin, related_iin FROM cases WHERE kind = 'ward_of_guardian' LIMIT 1;
CREATE TABLE cases (
    kind         text NOT NULL,
    iin          text NOT NULL REFERENCES persons (iin),
    -- The other person of the case (the carer of a ward, a ward of a carer,
    -- the adoptive parent of an adopted child), when there is one.
    related_iin  text REFERENCES persons (iin),
    since        date,
    PRIMARY KEY (kind, iin)
);
