-- The result's signature as people check it from outside: CMS SignedData
-- (CAdES-BES, attached), beside the bare signature the mesh checks.
ALTER TABLE results ADD COLUMN cms bytea NOT NULL DEFAULT '\x';
