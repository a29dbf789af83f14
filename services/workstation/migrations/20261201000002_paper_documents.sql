-- A document present on paper at a counter (the State Corporation's, seed 003
-- §9 2)-5); the provider's office) may travel without bytes: its original
-- comes by courier. Such a row has no hash; every other row keeps one.
ALTER TABLE application_documents
    ADD COLUMN on_paper boolean NOT NULL DEFAULT false,
    ALTER COLUMN sha256 DROP NOT NULL,
    ADD CONSTRAINT application_documents_bytes_or_paper CHECK (on_paper OR sha256 IS NOT NULL);
